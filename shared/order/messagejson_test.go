package order

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// encodingJSON is e's body as encoding/json writes it, the way
// marshalEvent wrote every body before appendEvent.
func encodingJSON(t testing.TB, e Event) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		t.Fatal(err)
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	b = bytes.ReplaceAll(b, []byte("\uFFFE"), []byte(`\ufffe`))
	return string(bytes.ReplaceAll(b, []byte("\uFFFF"), []byte(`\uffff`)))
}

// filled is an event with every field of it and of what it holds set
// (slices of two), strings to s and times to at: a field added to Event
// or to a type it holds is in it, so the test below sees appendEvent miss
// it.
func filled(s string, at time.Time) Event {
	var e Event
	fill(reflect.ValueOf(&e).Elem(), s, at)
	return e
}

func fill(v reflect.Value, s string, at time.Time) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Int, reflect.Int64:
		v.SetInt(-7)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), s, at)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fill(v.Index(i), s, at)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(at))
			return
		}
		for i := range v.NumField() {
			fill(v.Field(i), s, at)
		}
	default:
		panic("fill: a field of kind " + v.Kind().String())
	}
}

func TestAppendEventIsEncodingJSON(t *testing.T) {
	at := time.Date(2026, 11, 22, 9, 59, 0, 123456789, time.UTC)
	paris := time.Date(2026, 11, 22, 10, 59, 0, 0, time.FixedZone("CET", 3600))
	plain := filled("SO-1001 <b>&</b> Zoë ✓", at)
	tests := []struct {
		name string
		e    Event
		own  bool // appendEvent writes it itself
	}{
		{"every field set", plain, true},
		{"every field zero", Event{}, true},
		{"a zone east of UTC", filled("x", paris), true},
		{"empty slices and an empty address", Event{Lines: []Line{}, Parcels: []Parcel{}, Refunds: []Refund{{}},
			ShippingAddress: &Address{}}, true},
		{"a parcel of no id", Event{Parcels: []Parcel{{Tracking: Tracking{URL: "u"}}}}, true},
		{"U+FFFD, U+FFFE and U+FFFF", filled("a\uFFFDb\uFFFEc\uFFFF", at), true},
		{"a quote", filled(`say "hi"`, at), false},
		{"a backslash", filled(`a\b`, at), false},
		{"a control character", filled("a\nb\x00", at), false},
		{"U+2028", filled("a\u2028b", at), false},
		{"invalid UTF-8", filled("a\xffb", at), false},
		{"a zone of seconds", filled("x", time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("LMT", 561))), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := marshalEvent(nil, tc.e)
			if err != nil {
				t.Fatal(err)
			}
			if want := encodingJSON(t, tc.e); string(got) != want {
				t.Errorf("body\n got %s\nwant %s", got, want)
			}
			if _, own := appendEvent(nil, tc.e); own != tc.own {
				t.Errorf("appendEvent wrote it itself: %v, want %v", own, tc.own)
			}
		})
	}
	t.Run("a year encoding/json refuses", func(t *testing.T) {
		_, err := marshalEvent(nil, Event{OccurredAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
		_, want := json.Marshal(Event{OccurredAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err == nil || want == nil {
			t.Fatalf("error %v; encoding/json's %v", err, want)
		}
	})
}

func FuzzAppendEvent(f *testing.F) {
	f.Add("acme", "SO-1", "Zoë <x>", 3, int64(1764000000), int64(5), 3600)
	f.Add("a\"b", "\u2028", "\xff", -1, int64(-62135596801), int64(0), 59)
	f.Fuzz(func(t *testing.T, a, b, c string, q int, sec, nsec int64, off int) {
		at := time.Unix(sec, nsec).In(time.FixedZone("z", off))
		e := filled(a, at)
		e.SourceEventID, e.Order.StoreOrderName = b, c
		e.Lines[1] = Line{SKU: c, Quantity: q, Title: b}
		e.Refunds[0].At = time.Time{}
		e.Parcels[1].ID, e.Parcels[1].Lines = "", nil
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		wantErr := enc.Encode(e)
		got, err := marshalEvent(nil, e)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("error %v; encoding/json's %v", err, wantErr)
		}
		if err == nil {
			if w := encodingJSON(t, e); string(got) != w {
				t.Fatalf("body\n got %s\nwant %s", got, w)
			}
		}
	})
}
