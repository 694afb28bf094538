package webhook

import (
	"strings"
	"time"
)

func firstText(vs ...text) string {
	for _, v := range vs {
		if s := strings.TrimSpace(string(v)); s != "" {
			return s
		}
	}
	return ""
}

func joinName(first, last text) text {
	return text(strings.TrimSpace(strings.TrimSpace(string(first)) + " " + strings.TrimSpace(string(last))))
}

func firstTime(ts ...stamp) time.Time {
	for _, t := range ts {
		if !t.time().IsZero() {
			return t.time().UTC()
		}
	}
	return time.Time{}
}
