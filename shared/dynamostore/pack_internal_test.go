package dynamostore

import (
	"bytes"
	"compress/flate"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/order"
)

// TestPackedIsTheRest: every field of order.State is either listed (an
// attribute of its own) or packed into state_z, never both: a field added
// to the state and to neither would be lost by SaveOrder.
func TestPackedIsTheRest(t *testing.T) {
	packedNames := jsonNames(reflect.TypeFor[packed]())
	for _, name := range jsonNames(reflect.TypeFor[order.State]()) {
		if name == "-" {
			continue // the store's own (LinkExpiry), an attribute of stateItem
		}
		listed, isPacked := slices.Contains(merchantapi.ListedAttributes, name), slices.Contains(packedNames, name)
		if listed == isPacked {
			t.Errorf("order.State's %s: listed %t, packed %t; want exactly one", name, listed, isPacked)
		}
	}
}

func jsonNames(typ reflect.Type) []string {
	var out []string
	for f := range typ.Fields() {
		out = append(out, strings.Split(f.Tag.Get("json"), ",")[0])
	}
	return out
}

// TestUnpackRefuses: a state_z of an unknown packing, or one inflating
// past maxPackedBytes, is an error, not a state.
func TestUnpackRefuses(t *testing.T) {
	deflated := func(b []byte) []byte {
		z := bytes.NewBuffer([]byte{packV1})
		zw, _ := flate.NewWriterDict(z, flate.BestSpeed, []byte(packDictV1))
		zw.Write(b)
		zw.Close()
		return z.Bytes()
	}
	ok := deflated([]byte(`{"calls":["k"]}`))
	tests := []struct {
		name   string
		z      []byte
		wantOK bool
	}{
		{"packed", ok, true},
		{"an unknown packing", append([]byte{packV1 + 1}, ok[1:]...), false},
		{"too big", deflated(append(append([]byte(`{"calls":["`), bytes.Repeat([]byte("k"), maxPackedBytes)...), `"]}`...)), false},
		{"truncated", ok[:len(ok)/2], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := stateItem{StateZ: tt.z}.state()
			if got := err == nil; got != tt.wantOK {
				t.Errorf("state() = %v, %v; want ok %t", st.Calls, err, tt.wantOK)
			}
			if tt.wantOK && !slices.Equal(st.Calls, []string{"k"}) {
				t.Errorf("state().Calls = %v, want [k]", st.Calls)
			}
		})
	}
}

// BenchmarkPackState is the packing of an ordinary order's state on its
// save, and its unpacking on a load.
func BenchmarkPackState(b *testing.B) {
	st := order.State{Connection: "acme", Ref: order.Ref{StoreOrderID: "5981234567890", StoreOrderName: "#1042", MarketplaceOrderID: "51234567"},
		Lines:    []order.Line{{SKU: "IPH12-64-BLK", Quantity: 1}},
		Calls:    []string{"acme#51234567#accept#0123456789abcdef01234567", "acme#51234567#ship#0123456789abcdef01234567"},
		Timeline: []order.TimelineEntry{{At: time.Date(2026, 11, 27, 14, 3, 21, 0, time.UTC), Kind: order.TimelineReceived}}}
	b.Run("pack", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := newStateItem(st); err != nil {
				b.Fatal(err)
			}
		}
	})
	it, err := newStateItem(st)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("unpack", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := it.state(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
