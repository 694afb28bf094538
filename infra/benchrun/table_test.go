package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCompared(t *testing.T) {
	for _, tc := range []struct {
		name      string
		row       Row
		base      float64
		wantRatio float64
		wantMet   bool
	}{
		{"within its goal", Row{Value: 3, Goal: 1.5}, 2, 1.5, true},
		{"over its goal", Row{Value: 4, Goal: 1.5}, 2, 2, false},
		{"no goal", Row{Value: 4}, 2, 2, true},
		{"a zero base leaves no ratio, and a goal is not met", Row{Value: 4, Goal: 1.5}, 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.row.Compared("floor", tc.base)
			if r.Beside != "floor" || r.Base != tc.base || r.Ratio != tc.wantRatio {
				t.Errorf("Compared = %+v; want beside floor, base %v, ratio %v", r, tc.base, tc.wantRatio)
			}
			if got := r.Met(); got != tc.wantMet {
				t.Errorf("Met() = %v; want %v", got, tc.wantMet)
			}
		})
	}
}

func TestWriteTable(t *testing.T) {
	rows := []Row{
		Row{Section: "webhook", Name: "handler 1 KB", Value: 30, Unit: "µs/op", Goal: 1.5}.Compared("floor", 10),
		Row{Section: "webhook", Name: "handler 5 KB", Value: 12.5, Unit: "µs/op", Goal: 1.5}.Compared("floor", 10),
		{Section: "sync", Name: "events/s", Value: 1234.5678, Unit: "events/s"},
	}
	var b strings.Builder
	if err := writeTable(&b, rows); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("table has %d lines; want a header and 3 rows:\n%s", len(lines), b.String())
	}
	for i, want := range [][]string{
		{"section", "measure", "value", "unit", "beside", "base", "ratio", "goal"},
		{"webhook", "handler 1 KB", "30", "µs/op", "floor", "10", "3.00×", "≤ 1.50× MISSED"},
		{"webhook", "handler 5 KB", "12.5", "µs/op", "floor", "10", "1.25×", "≤ 1.50×"},
		{"sync", "events/s", "1234.568", "events/s"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d = %q; want it to hold %q", i, lines[i], w)
			}
		}
	}
	if strings.Contains(lines[2], "MISSED") {
		t.Errorf("line 2 = %q: a met goal marked MISSED", lines[2])
	}
	// Aligned: every column starts at the same offset on every line.
	col := strings.Index(lines[0], "value")
	for i, l := range lines[1:] {
		if got := strings.Index(l, []string{"30", "12.5", "1234.568"}[i]); got != col {
			t.Errorf("line %d: value at column %d; want %d (aligned under the header)", i+1, got, col)
		}
	}
}

func TestNum(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{{0, "0"}, {1, "1"}, {1.5, "1.5"}, {0.0001, "0"}, {-0.0001, "0"}, {2.1234, "2.123"}, {100, "100"}} {
		if got := num(tc.in); got != tc.want {
			t.Errorf("num(%v) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestWriteJSONRoundTrips(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bench.json")
	rows := []Row{
		Row{Section: "webhook", Name: "handler 1 KB", Value: 30, Unit: "µs/op", Goal: 1.5, Note: "n"}.Compared("floor", 10),
		{Section: "sync", Name: "events/s", Value: 1234.5, Unit: "events/s"},
	}
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeJSON(path, rows); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Rows []Row }
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("bench.json is not JSON: %v\n%s", err, b)
	}
	if len(got.Rows) != len(rows) {
		t.Fatalf("bench.json has %d rows; want %d", len(got.Rows), len(rows))
	}
	for i := range rows {
		if got.Rows[i] != rows[i] {
			t.Errorf("row %d = %+v; want %+v", i, got.Rows[i], rows[i])
		}
	}
	// The row without a comparison leaves its optional fields out.
	if strings.Count(string(b), `"beside"`) != 1 {
		t.Errorf("bench.json names beside %d times; want once (omitempty):\n%s", strings.Count(string(b), `"beside"`), b)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("the temporary file is left behind: %v", err)
	}
}
