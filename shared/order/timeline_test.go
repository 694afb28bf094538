package order

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestAddTimelineKeepsTheNewest(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	entries := func(from, n int) []TimelineEntry {
		out := make([]TimelineEntry, n)
		for i := range out {
			out[i] = TimelineEntry{At: at.Add(time.Duration(from+i) * time.Second), Kind: TimelineReceived, EventID: fmt.Sprint(from + i)}
		}
		return out
	}
	tests := []struct {
		name        string
		had, add    int
		wantLen     int
		wantDropped int
		wantFirst   string
	}{
		{"under the bound", 3, 2, 5, 0, "0"},
		{"at the bound", MaxTimeline - 1, 1, MaxTimeline, 0, "0"},
		{"one over", MaxTimeline, 1, MaxTimeline, 1, "1"},
		{"many over at once", 2, MaxTimeline + 3, MaxTimeline, 5, "5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s State
			s.AddTimeline(entries(0, tt.had)...)
			s.AddTimeline(entries(tt.had, tt.add)...)
			if len(s.Timeline) != tt.wantLen || s.TimelineDropped != tt.wantDropped || s.Timeline[0].EventID != tt.wantFirst {
				t.Errorf("got %d entries, %d dropped, first %q; want %d, %d, %q",
					len(s.Timeline), s.TimelineDropped, s.Timeline[0].EventID, tt.wantLen, tt.wantDropped, tt.wantFirst)
			}
			if last := s.Timeline[len(s.Timeline)-1].EventID; last != fmt.Sprint(tt.had+tt.add-1) {
				t.Errorf("newest = %q, want %d", last, tt.had+tt.add-1)
			}
		})
	}
}

func TestAddTimelineClipsTheDetail(t *testing.T) {
	var s State
	long := strings.Repeat("é", MaxTimelineDetail) // 2 bytes a rune
	s.AddTimeline(TimelineEntry{Kind: TimelineCall, Detail: long, At: time.Now()})
	got := s.Timeline[0].Detail
	if len(got) > MaxTimelineDetail || !strings.HasPrefix(long, got) || len(got) < MaxTimelineDetail-1 {
		t.Errorf("detail of %d bytes, want a prefix of at most %d", len(got), MaxTimelineDetail)
	}
	if s.Timeline[0].At.Location() != time.UTC {
		t.Errorf("at in %v, want UTC", s.Timeline[0].At.Location())
	}
}
