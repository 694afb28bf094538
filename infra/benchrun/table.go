package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
)

// Row is one measurement of make bench's table. Value is what ordersync
// measured; Base, when set, is what it is compared with (Beside names it),
// measured in the same run on the same machine, and Ratio is Value/Base.
// Goal is the largest ratio the design aims for, 0 when there is none.
type Row struct {
	Section string  `json:"section"`
	Name    string  `json:"name"`
	Value   float64 `json:"value"`
	Unit    string  `json:"unit"`
	Beside  string  `json:"beside,omitempty"`
	Base    float64 `json:"base,omitempty"`
	Ratio   float64 `json:"ratio,omitempty"`
	Goal    float64 `json:"goal,omitempty"`
	Note    string  `json:"note,omitempty"`
}

// Compared returns r with Base and Ratio set to base's value.
func (r Row) Compared(beside string, base float64) Row {
	r.Beside, r.Base = beside, base
	if base != 0 {
		r.Ratio = r.Value / base
	}
	return r
}

// Met reports whether r's ratio is within its goal (true when it has none).
func (r Row) Met() bool { return r.Goal == 0 || (r.Ratio != 0 && r.Ratio <= r.Goal) }

// Env is what every section may use.
type Env struct {
	// Quick asks for a short run (fewer iterations), as `make bench
	// QUICK=1` does; the numbers are noisier.
	Quick bool
	// Dir is a scratch folder for builds and data, removed afterwards.
	Dir string
	// Log receives progress lines (stderr), never the table.
	Log io.Writer
}

// Section measures one part of the table.
type Section struct {
	Name string
	Run  func(ctx context.Context, env Env) ([]Row, error)
}

// writeTable prints rows as one aligned table.
func writeTable(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "section\tmeasure\tvalue\tunit\tbeside\tbase\tratio\tgoal\t")
	for _, r := range rows {
		base, ratio, goal := "", "", ""
		if r.Beside != "" {
			base = num(r.Base)
			ratio = fmt.Sprintf("%.2f×", r.Ratio)
		}
		if r.Goal != 0 {
			goal = fmt.Sprintf("≤ %.2f×", r.Goal)
			if !r.Met() {
				goal += " MISSED"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Section, r.Name, num(r.Value), r.Unit, r.Beside, base, ratio, goal)
	}
	return tw.Flush()
}

func num(v float64) string {
	s := fmt.Sprintf("%.3f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "" || s == "-" || s == "-0" { // a tiny negative rounds to "-0"
		return "0"
	}
	return s
}

// writeJSON writes rows to path, replacing it atomically.
func writeJSON(path string, rows []Row) error {
	b, err := json.MarshalIndent(struct {
		Rows []Row `json:"rows"`
	}{rows}, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
