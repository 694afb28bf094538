package syncer

import (
	"fmt"
	"strings"
	"testing"
)

func TestWithToldKeepsEachCodeOnceNewestLast(t *testing.T) {
	for _, tt := range []struct{ told, code, want string }{
		{"", "", ""},
		{"", "a", "a"},
		{"a", "b", "a,b"},
		{"a,b", "a", "b,a"},
		{"a,b", "", "a,b"},
	} {
		if got := withTold(tt.told, tt.code); got != tt.want {
			t.Errorf("withTold(%q, %q) = %q, want %q", tt.told, tt.code, got, tt.want)
		}
	}
	told := ""
	for i := range maxTold + 3 {
		told = withTold(told, fmt.Sprint("c", i))
	}
	codes := toldCodes(told)
	if len(codes) != maxTold || codes[0] != "c3" || codes[maxTold-1] != fmt.Sprint("c", maxTold+2) {
		t.Errorf("after %d codes, told = %q; want the last %d", maxTold+3, told, maxTold)
	}
	if strings.Contains(told, ",,") {
		t.Errorf("told = %q has an empty code", told)
	}
}
