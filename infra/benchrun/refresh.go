package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ordersync/ordersync/infra/localaws"
	"github.com/ordersync/ordersync/infra/refreshsim"
)

// refreshSection is infra/refreshsim's run (its BenchmarkRefresh10kConnections):
// the real dispatcher and refresh of every connection over metered
// memstores, on a virtual clock, at template.yaml's RefreshConcurrency.
func refreshSection(ctx context.Context, env Env) ([]Row, error) {
	conns := 10_000
	if env.Quick {
		conns = 1_000
	}
	root, err := localaws.ModuleRoot()
	if err != nil {
		return nil, err
	}
	tpl, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		return nil, err
	}
	workers, ok := refreshsim.TemplateConcurrency(tpl)
	if !ok {
		return nil, fmt.Errorf("refresh: template.yaml has no RefreshConcurrency default")
	}
	res, err := refreshsim.Run(ctx, refreshsim.Config{Connections: conns, Concurrencies: []int{workers}})
	if err != nil {
		return nil, err
	}
	if res.Failed != 0 {
		return nil, fmt.Errorf("refresh: %d jobs failed: %v", res.Failed, res.FirstError())
	}
	wall := res.Schedules[0].Wall
	note := fmt.Sprintf("%d connections × the default order mix, %d workers (template.yaml); virtual clock", conns, workers)
	return []Row{
		{Section: "refresh", Name: "AWS calls per connection", Value: float64(res.Total().AWS()) / float64(len(res.Jobs)), Unit: "calls", Note: note},
		{Section: "refresh", Name: "wall time of the hourly run", Value: wall.Seconds(), Unit: "s (virtual)", Note: note},
		Row{Section: "refresh", Name: "old single invocation's time", Value: res.Sequential.Seconds(), Unit: "s (virtual)",
			Note: "the old design: one invocation refreshing every connection in turn"}.Compared("fan-out's wall time", wall.Seconds()),
	}, nil
}
