// Command soakrun runs the soak (infra/soak) and exits non-zero when a
// promise broke: `make soak`, or `go run ./infra/soakrun -n 100000`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/ordersync/ordersync/infra/soak"
)

func main() {
	n := flag.Int("n", 20000, "store events to send")
	seed := flag.Int64("seed", time.Now().UnixNano()%1e6, "seed for the orders and the faults")
	conns := flag.Int("connections", 4, "merchant connections")
	calm := flag.Bool("calm", false, "inject no faults")
	verbose := flag.Bool("v", false, "show the system's warnings")
	deadline := flag.Duration("deadline", 30*time.Minute, "stop after this long")
	emulators := flag.Bool("emulators", false, "run on DynamoDB Local and local-aws-sqs from template.yaml (needs make deps; use a smaller -n)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg := soak.Config{Events: *n, Seed: *seed, Connections: *conns, Calm: *calm, Deadline: *deadline, Emulators: *emulators}
	if *verbose {
		cfg.Log = os.Stderr
	}
	rep, err := soak.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	fmt.Print(rep.String())
	if !rep.OK() {
		os.Exit(1)
	}
}
