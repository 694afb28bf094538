package merchantapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/httpapi"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// fixTopic is the topic of the re-sync a fix queues: the order's
// Resolved.How once it syncs.
const fixTopic = "merchant/fix"

// fixBody is a fix request: tracking for a parcel, a shipping address, or
// both.
type fixBody struct {
	Tracking *struct {
		ParcelID *string `json:"parcel_id"`
		Number   string  `json:"number"`
		Carrier  string  `json:"carrier"`
		URL      string  `json:"url"`
	} `json:"tracking"`
	ShippingAddress *order.Address `json:"shipping_address"`
}

// fixOrder answers POST /connections/{connection}/orders/{marketplaceOrderId}/fix:
// the merchant fills in what the store did not send (a shipment's
// tracking, an order's shipping address). The values are checked as the
// store's are, kept on the order as its override (order.State.Override),
// and a re-sync is queued that uses them. A refused fix stores and queues
// nothing. When the queue refuses, the override stays (it is valid; the
// next re-sync or refresh uses it) and the answer is 503.
func (h *Handler) fixOrder(ctx context.Context, c *call) events.APIGatewayV2HTTPResponse {
	id := c.req.PathParameters["marketplaceOrderId"]
	if !order.ValidID(id) {
		return c.fail(errInvalidPathOrderID)
	}
	body, p := requestBody(c.req)
	if p != nil {
		return c.fail(*p)
	}
	in, p := parseFix(body)
	if p != nil {
		return c.fail(*p)
	}
	now := h.cfg.Now().UTC()
	var saved order.State
	for i := 0; ; i++ {
		if i == maxWrites {
			return c.unavailable(fmt.Errorf("fix order %s: too many concurrent writers", id))
		}
		st, err := h.store.LoadOrder(ctx, c.conn.ID, id)
		switch {
		case errors.Is(err, order.ErrNotFound):
			return c.fail(errOrderNotFound)
		case err != nil:
			return c.unavailable(err)
		}
		next, p := withFix(st, in, now)
		if p != nil {
			return c.fail(*p)
		}
		saved, err = h.store.SaveOrder(ctx, next)
		if errors.Is(err, order.ErrConflict) {
			continue // written meanwhile (by the sync, say): fix the newer state
		}
		if err != nil {
			return c.unavailable(err)
		}
		break
	}
	e := resyncEvent(c.conn, id, saved)
	e.Topic = fixTopic
	if err := h.queue.Enqueue(ctx, e); err != nil {
		// The override holds; the caller repeats the request (or the
		// next refresh of a failed order uses it).
		return c.unavailable(err)
	}
	return reply(http.StatusAccepted, orderViewOf(c.conn.ID, saved))
}

// maxWrites bounds the versioned writes of one fix that lose a race.
const maxWrites = 5

// parseFix reads a fix body: exactly a JSON object with "tracking",
// "shipping_address" or both (a null one is absent), in UTF-8, and checks
// each part as the sync checks the store's (rules.CheckTracking,
// rules.CheckAddress). Whether the parcel named exists is withFix's to
// say.
func parseFix(body []byte) (fixBody, *httpapi.Problem) {
	var in fixBody
	if !utf8.Valid(body) {
		return in, &errMalformedFix
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return in, &errMalformedFix
	}
	if _, err := dec.Token(); err != io.EOF {
		return in, &errMalformedFix
	}
	if in.Tracking == nil && in.ShippingAddress == nil {
		return in, &errFixEmpty
	}
	if t := in.Tracking; t != nil {
		if t.ParcelID != nil && !order.ValidID(*t.ParcelID) {
			return in, fixProblem(errFixParcel, "tracking.parcel_id")
		}
		err := rules.CheckTracking(order.Tracking{Number: t.Number, Carrier: t.Carrier, URL: t.URL})
		if e, ok := syncerr.As(err); ok {
			if e.Code == syncerr.ShippingDataMissing {
				// The number is named first, as the rules name it.
				field := "tracking.carrier"
				if strings.Contains(e.Details["missing"], "tracking number") {
					field = "tracking.number"
				}
				return in, fixProblem(errFixMissing, field)
			}
			switch e.Details["field"] {
			case "tracking URL":
				return in, fixProblem(errFixURL, "tracking.url")
			case "carrier":
				return in, fixProblem(errFixText, "tracking.carrier")
			default:
				return in, fixProblem(errFixText, "tracking.number")
			}
		}
	}
	if a := in.ShippingAddress; a != nil {
		if e, ok := syncerr.As(rules.CheckAddress(a)); ok {
			return in, fixProblem(errFixAddress, addressField(e.Details["field"]))
		}
	}
	return in, nil
}

// addressField names, as the body does, the first part of an address that
// rules.CheckAddress found missing (its "field" detail).
func addressField(words string) string {
	for _, f := range []struct{ words, field string }{
		{"street address", "line1"}, {"city", "city"}, {"postal code", "postal_code"}, {"country", "country"},
	} {
		if strings.Contains(words, f.words) {
			return "shipping_address." + f.field
		}
	}
	return "shipping_address"
}

// fixProblem returns p naming field.
func fixProblem(p httpapi.Problem, field string) *httpapi.Problem {
	p.Field = field
	return &p
}

// withFix returns st with in as its override, set at now: the parts in
// carries replace the override's, the others stay. The tracking goes to
// the parcel named, or to the order's only parcel (or, with none, to one
// of all its lines); an order with several parcels must name one. Each
// part records the store's data it stands for (see rules.WithOverride).
func withFix(st order.State, in fixBody, now time.Time) (order.State, *httpapi.Problem) {
	o := order.Override{}
	if st.Override != nil {
		o = *st.Override
	}
	if t := in.Tracking; t != nil {
		fix := order.TrackingOverride{Tracking: order.Tracking{Number: strings.TrimSpace(t.Number),
			Carrier: strings.TrimSpace(t.Carrier), URL: strings.TrimSpace(t.URL)}, At: now}
		switch {
		case t.ParcelID != nil:
			i := indexParcel(st.Parcels, *t.ParcelID)
			if i < 0 {
				return st, fixProblem(errFixParcel, "tracking.parcel_id")
			}
			fix.ParcelID, fix.Replaced = st.Parcels[i].ID, st.Parcels[i].Tracking
		case len(st.Parcels) == 1:
			fix.ParcelID, fix.Replaced = st.Parcels[0].ID, st.Parcels[0].Tracking
		case len(st.Parcels) > 1:
			return st, fixProblem(errFixParcelAmbiguous, "tracking.parcel_id")
		}
		o.Tracking = &fix
	}
	if a := in.ShippingAddress; a != nil {
		fix := order.AddressOverride{Address: *a, At: now}
		if st.ShippingAddress != nil {
			was := *st.ShippingAddress
			fix.Replaced = &was
		}
		o.ShippingAddress = &fix
	}
	st.Override = &o
	return st, nil
}

func indexParcel(parcels []order.Parcel, id string) int {
	for i, p := range parcels {
		if p.ID == id {
			return i
		}
	}
	return -1
}

// The refusals of a fix. Each names the body's field at fault.
var (
	errMalformedFix       = httpapi.Problem{Status: http.StatusBadRequest, Code: "malformed_body", Case: "fix"}
	errFixEmpty           = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_fix", Case: "empty"}
	errFixMissing         = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_fix", Case: "missing"}
	errFixText            = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_fix", Case: "text"}
	errFixURL             = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_fix", Case: "url"}
	errFixParcel          = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_fix", Case: "parcel"}
	errFixParcelAmbiguous = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_fix", Case: "parcel_ambiguous"}
	errFixAddress         = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_fix", Case: "address"}
)
