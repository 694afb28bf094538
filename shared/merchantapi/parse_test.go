package merchantapi

import (
	"testing"

	"github.com/ordersync/ordersync/shared/order"
)

// FuzzParseResync: whatever the body, parseResync refuses it or returns 1
// to MaxOrders different valid ids, each one the body named.
func FuzzParseResync(f *testing.F) {
	for _, s := range []string{
		`{"orders":["261673"]}`, `{"orders":["a","b","a"]}`, `{"orders":[]}`, `{"orders":["a#b"]}`,
		`{"orders":null}`, `{}`, `[]`, `{"orders":["x"]} 1`, `{"ORDERS":["x"]}`, `{"orders":["\u0000"]}`, "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ids, p := parseResync(body)
		if p != nil {
			if ids != nil || p.Status != 400 || !p.Known() {
				t.Fatalf("refusal %+v with ids %v", *p, ids)
			}
			return
		}
		if len(ids) == 0 || len(ids) > MaxOrders {
			t.Fatalf("%d ids accepted", len(ids))
		}
		seen := map[string]bool{}
		for _, id := range ids {
			if !order.ValidID(id) || seen[id] {
				t.Fatalf("ids %q: invalid or repeated %q", ids, id)
			}
			seen[id] = true
		}
	})
}

func TestBearer(t *testing.T) {
	tests := []struct {
		name, header, want string
		ok                 bool
	}{
		{"bearer", "Bearer abc", "abc", true},
		{"scheme in any case", "bEaReR abc", "abc", true},
		{"spaces around", "  Bearer   abc  ", "abc", true},
		{"no token", "Bearer", "", false},
		{"blank token", "Bearer   ", "", false},
		{"basic", "Basic abc", "", false},
		{"token only", "abc", "", false},
		{"empty", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := bearer(tt.header)
			if got != tt.want || ok != tt.ok {
				t.Errorf("bearer(%q) = %q, %v; want %q, %v", tt.header, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestMatchesAnyKeyOnly(t *testing.T) {
	keys := []string{"old-key", "new-key"}
	for _, tt := range []struct {
		token string
		want  bool
	}{{"old-key", true}, {"new-key", true}, {"new-ke", false}, {"new-keyy", false}, {"", false}} {
		if got := matches(tt.token, keys); got != tt.want {
			t.Errorf("matches(%q) = %v, want %v", tt.token, got, tt.want)
		}
	}
	if matches("", nil) {
		t.Error("with no key, an empty token matched")
	}
}
