package main

import (
	"context"
	"io"
	"testing"
)

// TestCheapSectionsRunQuick runs the sections that need no emulator in
// -quick mode, so `make bench` cannot rot unseen: each must run, and give
// rows with measured values. It asserts nothing about speed.
func TestCheapSectionsRunQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the sections (a few seconds)")
	}
	want := map[string]int{"webhook": 3, "sync": 4, "batch": 4, "refresh": 3}
	seen := map[string]bool{}
	for _, s := range sections {
		n, ok := want[s.Name]
		if !ok {
			continue
		}
		seen[s.Name] = true
		t.Run(s.Name, func(t *testing.T) {
			rows, err := s.Run(context.Background(), Env{Quick: true, Dir: t.TempDir(), Log: io.Discard})
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != n {
				t.Fatalf("%d rows; want %d: %+v", len(rows), n, rows)
			}
			for _, r := range rows {
				if r.Section != s.Name || r.Name == "" || r.Unit == "" {
					t.Errorf("row %+v: want section %q, a name and a unit", r, s.Name)
				}
				if r.Value <= 0 && r.Unit != "%" {
					t.Errorf("row %q: value %v; want a measurement above 0", r.Name, r.Value)
				}
				if r.Beside != "" && r.Base <= 0 {
					t.Errorf("row %q: compared with %q of base %v", r.Name, r.Beside, r.Base)
				}
			}
		})
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("section %q is not in main.go's sections", name)
		}
	}
}

// TestSyncSharesAddUp checks the CPU split of the sync section: the three
// shares cover the profile.
func TestSyncSharesAddUp(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the sync section")
	}
	rows, err := syncSection(context.Background(), Env{Quick: true, Dir: t.TempDir(), Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, r := range rows {
		if r.Unit == "%" {
			sum += r.Value
		}
	}
	if sum < 99.9 || sum > 100.1 {
		t.Errorf("CPU shares add up to %.2f%%; want 100%%", sum)
	}
}
