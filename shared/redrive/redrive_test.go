package redrive

import "testing"

func TestFailing(t *testing.T) {
	f := NewFailing()
	f.Remember("m1", 2)
	tests := []struct {
		name    string
		id      string
		attempt int
		want    bool
	}{
		{"the same receive", "m1", 2, false},
		{"a later receive", "m1", 3, true},
		{"another message", "m2", 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := f.FailedBefore(tt.id, tt.attempt); got != tt.want {
				t.Errorf("FailedBefore(%q, %d) = %v, want %v", tt.id, tt.attempt, got, tt.want)
			}
		})
	}
	f.Forget("m1")
	if f.FailedBefore("m1", 3) {
		t.Errorf("FailedBefore after Forget = true, want false")
	}
	for i := range maxFailing + 1 {
		f.Remember(string(rune('a'+i%26))+string(rune(i)), 1)
	}
	if n := len(f.ids); n > maxFailing {
		t.Errorf("memory holds %d ids, want at most %d", n, maxFailing)
	}
}
