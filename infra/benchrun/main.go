// Command benchrun is `make bench`: it measures ordersync's cost and speed
// beside the floor each is compared with, in one run on this machine, and
// prints one table (and writes it as JSON with -json). Ratios are measured
// side by side; absolute numbers depend on the machine.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
)

// sections are the parts of the table, in the order printed.
var sections = []Section{
	{Name: "webhook", Run: webhookSection},
	{Name: "sync", Run: syncSection},
	{Name: "batch", Run: batchSection},
	{Name: "latency", Run: latencySection},
	{Name: "cost", Run: costSection},
	{Name: "refresh", Run: refreshSection},
	binaries,
}

func main() {
	out := flag.String("json", "", "also write the table as JSON to this file")
	quick := flag.Bool("quick", false, "fewer iterations (noisier numbers)")
	only := flag.String("only", "", "comma-separated section names to run (default all)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	dir, err := os.MkdirTemp("", "ordersync-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	env := Env{Quick: *quick, Dir: dir, Log: os.Stderr}

	var rows []Row
	failed := false
	for _, s := range sections {
		if *only != "" && !strings.Contains(","+*only+",", ","+s.Name+",") {
			continue
		}
		fmt.Fprintf(os.Stderr, "benchrun: %s…\n", s.Name)
		r, err := s.Run(ctx, env)
		if err != nil {
			fmt.Fprintf(os.Stderr, "benchrun: %s: %v\n", s.Name, err)
			failed = true
			continue
		}
		rows = append(rows, r...)
	}
	if err := writeTable(os.Stdout, rows); err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		os.Exit(1)
	}
	if *out != "" {
		if err := writeJSON(*out, rows); err != nil {
			fmt.Fprintln(os.Stderr, "benchrun:", err)
			os.Exit(1)
		}
	}
	if failed {
		os.Exit(1)
	}
}
