package webhook

import (
	"strings"
	"time"
)

// FirstText returns the first of vs that is not blank, trimmed, or "".
func FirstText(vs ...Text) string {
	for _, v := range vs {
		if s := strings.TrimSpace(string(v)); s != "" {
			return s
		}
	}
	return ""
}

// JoinName joins a first and a last name with one space, trimming both
// (a missing part leaves no stray space).
func JoinName(first, last Text) Text {
	return Text(strings.TrimSpace(strings.TrimSpace(string(first)) + " " + strings.TrimSpace(string(last))))
}

// FirstTime returns the first of ts that is not the zero time, in UTC, or
// the zero time.
func FirstTime(ts ...Stamp) time.Time {
	for _, t := range ts {
		if !t.Time().IsZero() {
			return t.Time().UTC()
		}
	}
	return time.Time{}
}
