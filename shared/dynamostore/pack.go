package dynamostore

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/order"
)

// stateItem is an order's state as its item holds it: as attributes, only
// what DynamoDB itself reads; the rest of the state packed into one binary
// attribute, state_z.
//
// Every write of the state puts the whole item, and a put costs a write
// unit a started KiB (issue 14). As attributes, an ordinary order (one
// line, one parcel, its address, two calls, six timeline entries) is 1.4
// KiB, 2 units a write; packed, 0.8 KiB, 1 unit. TestOrderItemSize
// measures it, and the budget of a bigger order (five lines: 2 units,
// from 3); TestTimelineItemSize what a full timeline adds.
//
// The attributes left plain are the state's listed ones
// (merchantapi.ListedAttributes), which the requests read: version
// (SaveOrder's condition and the backfill's), the listing's. SaveOrder adds the keys, the
// indexes' keys, type and expires_at (the TTL). gsi3 projects the whole
// item, state_z with it: Unsettled unpacks what it reads, as LoadOrder
// and LoadOrders do.
type stateItem struct {
	order.State
	StateZ []byte `json:"state_z,omitempty"`
	// TimelineZ is the timeline alone, gzipped, as items were written
	// before state_z (with the rest of their state as attributes): read,
	// never written.
	TimelineZ []byte `json:"timeline_z,omitempty"`
	// LinkExpiry is State.LinkExpiry (retention.go), which the state's
	// own encoding leaves out.
	LinkExpiry string `json:"link_expiry,omitempty"`
}

// packed is what state_z holds: every field of order.State but the listed
// ones, under the state's own names, so that it decodes over the listed
// attributes into the whole state (TestPackedIsTheRest).
type packed struct {
	Lines              []order.Line          `json:"lines,omitempty"`
	ShippingAddress    *order.Address        `json:"shipping_address,omitempty"`
	Parcels            []order.Parcel        `json:"parcels,omitempty"`
	CancelReason       string                `json:"cancel_reason,omitempty"`
	Test               bool                  `json:"test,omitempty"`
	Refunds            []order.Refund        `json:"refunds,omitempty"`
	MarketplaceState   string                `json:"marketplace_state,omitempty"`
	Resolved           *order.Resolution     `json:"resolved,omitempty"`
	ManualChange       *order.ManualChange   `json:"manual_change,omitempty"`
	RefreshTries       int                   `json:"refresh_tries,omitempty"`
	Calls              []string              `json:"calls,omitempty"`
	RefusedEdit        string                `json:"refused_edit,omitempty"`
	Explained          []string              `json:"explained,omitempty"`
	MarketplaceRefunds []string              `json:"marketplace_refunds,omitempty"`
	Override           *order.Override       `json:"override,omitempty"`
	Timeline           []order.TimelineEntry `json:"timeline,omitempty"`
	TimelineDropped    int                   `json:"timeline_dropped,omitempty"`
}

func packedOf(st order.State) packed {
	return packed{Lines: st.Lines, ShippingAddress: st.ShippingAddress, Parcels: st.Parcels, CancelReason: st.CancelReason,
		Test: st.Test, Refunds: st.Refunds, MarketplaceState: st.MarketplaceState, Resolved: st.Resolved,
		ManualChange: st.ManualChange, RefreshTries: st.RefreshTries, Calls: st.Calls, RefusedEdit: st.RefusedEdit,
		Explained: st.Explained, MarketplaceRefunds: st.MarketplaceRefunds, Override: st.Override,
		Timeline: st.Timeline, TimelineDropped: st.TimelineDropped}
}

// packV1 is state_z's first byte: the JSON of packed follows, DEFLATE
// compressed with packDictV1 as its preset dictionary. A change of the
// dictionary is a new version, and the old one stays readable.
const packV1 = 1

// packDictV1 primes the compression: a state's names and the values most
// states share (the sync's timeline entries, a Colissimo parcel). A packed
// state is a few hundred bytes, too short for DEFLATE to find much to
// repeat in itself; with the dictionary, an ordinary order packs to about
// 330 bytes instead of 600 (gzip's). The most common text comes last,
// nearest to the data. It must never change: items packed with it need
// it to be read.
const packDictV1 = `{"cancel_reason":"","test":true,"refunds":[{"id":"","kind":"refund","at":"","lines":[]}],` +
	`"resolved":{"code":"","at":"","how":"webhook"},"manual_change":{"from":"","to":"","state":"","at":""},` +
	`"refresh_tries":1,"refused_edit":"","explained":[],"marketplace_refunds":[],` +
	`"override":{"tracking":{"parcel_id":"","tracking":{},"replaced":{},"at":""},"shipping_address":{"address":{},"replaced":{},"at":""}},` +
	`"timeline_dropped":1}` +
	`{"kind":"retried","code":"marketplace_unavailable","detail":"try 1 of 3 failed; next try in "},` +
	`{"kind":"failed","code":"","event_id":"","detail":"failed after 1 try","facts":{"sku":""}},` +
	`{"kind":"resolved","topic":"refresh/retry","code":""},{"kind":"refresh","source":"ordersync","step":"manual-change"},` +
	`"source":"woocommerce","source":"bigcommerce","source":"mirakl","source":"amazon","source":"standard","source":"resync",` +
	`"topic":"merchant/resync","topic":"orders/updated","topic":"orders/create","step":"cancel","detail":"nothing to change"},` +
	`{"lines":[{"sku":"","quantity":1,"store_line_id":"","marketplace_line_id":"","title":""}],` +
	`"shipping_address":{"name":"","company":"","line1":"","line2":"","city":"","postal_code":"","region":"","country":"FR","phone":"+33 "},` +
	`"parcels":[{"id":"","tracking":{"number":"","carrier":"Colissimo","url":"https://www.laposte.fr/outils/suivre-vos-envois?code="},` +
	`"lines":[{"sku":"","quantity":1,"store_line_id":"","marketplace_line_id":"","title":""}]}],"marketplace_state":"",` +
	`"calls":["#accept#","#ship#"],"timeline":[{"at":"","kind":"received","source":"backmarket","topic":"refresh/import","event_id":""},` +
	`{"at":"","kind":"received","source":"shopify","topic":"orders/fulfilled","event_id":""},` +
	`{"at":"","kind":"call","source":"backmarket","step":"accept","detail":"ok"},` +
	`{"at":"","kind":"call","source":"backmarket","step":"ship","detail":"ok"},{"at":"","kind":"synced"}]}`

// maxPackedBytes bounds what state_z (or an older item's timeline_z)
// inflates to, and so what SaveOrder packs: far above order.MaxTimeline
// entries of order.MaxTimelineDetail bytes, and above any state that fits
// an item (400 KB) as attributes.
const maxPackedBytes = 1 << 20

// orderItem is st's item, pk, sk and extra added: packed (newStateItem),
// and a zero sync.first_failed_at (an order that never failed) left out,
// not stored as the year 1: absent, it reads as zero.
func orderItem(st order.State, pk, sk string, extra map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	si, err := newStateItem(st)
	if err != nil {
		return nil, err
	}
	it, err := item(si, pk, sk, extra)
	if err != nil {
		return nil, err
	}
	if sync, ok := it["sync"].(*types.AttributeValueMemberM); ok && st.Sync.FirstFailedAt.IsZero() {
		delete(sync.Value, "first_failed_at")
	}
	return it, nil
}

// packWriters are the compressors state_z is written with, kept for the
// next save: a new one allocates about 800 KB and takes most of a save's
// packing time (BenchmarkPackState).
var packWriters = sync.Pool{New: func() any {
	zw, _ := flate.NewWriterDict(nil, flate.BestCompression, []byte(packDictV1)) // a valid level: never fails
	return zw
}}

// newStateItem packs st: its listed attributes stay as they are.
func newStateItem(st order.State) (stateItem, error) {
	it := stateItem{State: merchantapi.Listed(st), LinkExpiry: st.LinkExpiry}
	b, err := json.Marshal(packedOf(st))
	if err != nil {
		return it, fmt.Errorf("dynamostore: encode order %s: %w", st.Ref.MarketplaceOrderID, err)
	}
	if string(b) == "{}" {
		return it, nil // nothing to pack
	}
	if len(b) > maxPackedBytes {
		return it, fmt.Errorf("dynamostore: pack order %s: %d bytes, over %d", st.Ref.MarketplaceOrderID, len(b), maxPackedBytes)
	}
	z := bytes.NewBuffer([]byte{packV1})
	zw := packWriters.Get().(*flate.Writer)
	defer packWriters.Put(zw)
	zw.Reset(z) // keeps the writer's level and dictionary
	if _, err := zw.Write(b); err != nil {
		return it, fmt.Errorf("dynamostore: pack order %s: %w", st.Ref.MarketplaceOrderID, err)
	}
	if err := zw.Close(); err != nil {
		return it, fmt.Errorf("dynamostore: pack order %s: %w", st.Ref.MarketplaceOrderID, err)
	}
	it.StateZ = z.Bytes()
	return it, nil
}

// state unpacks the item. An item written before state_z holds the rest
// of its state as attributes, and its timeline as timeline_z or as
// attributes: it is read as it is, and its next save packs it.
func (it stateItem) state() (order.State, error) {
	st := it.State
	st.LinkExpiry = it.LinkExpiry
	if len(it.TimelineZ) > 0 {
		zr, err := gzip.NewReader(bytes.NewReader(it.TimelineZ))
		if err == nil {
			err = decodeBounded(zr, &st.Timeline)
		}
		if err != nil {
			return st, fmt.Errorf("dynamostore: unpack timeline of %s: %w", st.Ref.MarketplaceOrderID, err)
		}
	}
	if len(it.StateZ) > 0 {
		if err := unpackState(it.StateZ, &st); err != nil {
			return st, fmt.Errorf("dynamostore: unpack order %s: %w", st.Ref.MarketplaceOrderID, err)
		}
	}
	return st, nil
}

// unpackState decodes state_z over st.
func unpackState(z []byte, st *order.State) error {
	if z[0] != packV1 {
		return fmt.Errorf("unknown packing %d", z[0])
	}
	return decodeBounded(flate.NewReaderDict(bytes.NewReader(z[1:]), []byte(packDictV1)), st)
}

// decodeBounded decodes the JSON r inflates to into v, refusing more than
// maxPackedBytes.
func decodeBounded(r io.Reader, v any) error {
	b, err := io.ReadAll(io.LimitReader(r, maxPackedBytes+1))
	if err != nil {
		return err
	}
	if len(b) > maxPackedBytes {
		return fmt.Errorf("over %d bytes", maxPackedBytes)
	}
	return json.Unmarshal(b, v)
}
