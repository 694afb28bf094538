package dynamostore

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"

	"github.com/ordersync/ordersync/shared/order"
)

// stateItem is an order's state as its item holds it: the state's
// attributes, but the timeline gzipped into one binary attribute.
//
// Every write of the state puts the whole item, and a put costs a write
// unit a KiB: as attributes, an entry takes about 105 bytes, so a full
// timeline (order.MaxTimeline entries) would add 5 KiB to every write of
// the order; gzipped, about 1 KiB (TestTimelineItemSize measures it). No
// query, filter or index reads the timeline, so nothing is lost by
// packing it.
type stateItem struct {
	order.State
	TimelineZ []byte `json:"timeline_z,omitempty"`
	// LinkExpiry is State.LinkExpiry (retention.go), which the state's
	// own encoding leaves out.
	LinkExpiry string `json:"link_expiry,omitempty"`
}

// newStateItem packs st's timeline.
func newStateItem(st order.State) (stateItem, error) {
	it := stateItem{State: st, LinkExpiry: st.LinkExpiry}
	if len(st.Timeline) == 0 {
		return it, nil
	}
	b, err := json.Marshal(st.Timeline)
	if err != nil {
		return it, fmt.Errorf("dynamostore: encode timeline: %w", err)
	}
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression) // a valid level: never fails
	if _, err := zw.Write(b); err != nil {
		return it, fmt.Errorf("dynamostore: pack timeline: %w", err)
	}
	if err := zw.Close(); err != nil {
		return it, fmt.Errorf("dynamostore: pack timeline: %w", err)
	}
	it.Timeline, it.TimelineZ = nil, z.Bytes()
	return it, nil
}

// maxTimelineBytes bounds what a packed timeline inflates to: far above
// order.MaxTimeline entries of order.MaxTimelineDetail bytes.
const maxTimelineBytes = 1 << 20

// state unpacks the item's timeline. A timeline stored as attributes (no
// timeline_z) is read as it is.
func (it stateItem) state() (order.State, error) {
	st := it.State
	st.LinkExpiry = it.LinkExpiry
	if len(it.TimelineZ) == 0 {
		return st, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(it.TimelineZ))
	if err != nil {
		return st, fmt.Errorf("dynamostore: unpack timeline of %s: %w", st.Ref.MarketplaceOrderID, err)
	}
	b, err := io.ReadAll(io.LimitReader(zr, maxTimelineBytes))
	if err != nil {
		return st, fmt.Errorf("dynamostore: unpack timeline of %s: %w", st.Ref.MarketplaceOrderID, err)
	}
	if err := json.Unmarshal(b, &st.Timeline); err != nil {
		return st, fmt.Errorf("dynamostore: decode timeline of %s: %w", st.Ref.MarketplaceOrderID, err)
	}
	return st, nil
}
