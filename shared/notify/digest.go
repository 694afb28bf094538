package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncer"
)

// DigestEntry is one failure held for a digest: what its line says.
type DigestEntry struct {
	OrderName          string `json:"order_name"`
	MarketplaceOrderID string `json:"marketplace_order_id"`
	Marketplace        string `json:"marketplace"`
	Code               string `json:"code"`
	Title              string `json:"title"`
	// Action is the call that fixes it, "METHOD URL", or "".
	Action string `json:"action,omitempty"`
}

// Digests counts each connection's emails per hour and keeps the failures
// past the threshold for the hour's digest (shared/dynamostore implements
// it). Hours are UTC and truncated to the hour.
type Digests interface {
	// Count adds one to the connection's count of the hour and returns
	// the new count, atomically: of concurrent callers, each gets its
	// own number. It is not idempotent.
	Count(ctx context.Context, connection string, hour time.Time) (int, error)
	// Hold keeps e as the n-th failure of the connection's hour (n from
	// Count). Holding the same n again overwrites it.
	Hold(ctx context.Context, connection string, hour time.Time, n int, e DigestEntry) error
	// Due lists the digests of the hours from since to before (excluded)
	// that hold failures and are neither sent nor claimed, of every
	// connection, oldest first. It may miss the last moment's writes.
	Due(ctx context.Context, since, before time.Time) ([]DueDigest, error)
	// Claim takes the hour's digest for lease: false when it is sent, or
	// claimed by another within its lease.
	Claim(ctx context.Context, connection string, hour time.Time, lease time.Duration) (bool, error)
	// Held lists the hour's held failures in the order they were counted.
	Held(ctx context.Context, connection string, hour time.Time) ([]DigestEntry, error)
	// MarkSent records that the hour's digest was sent; Due and Claim
	// never offer it again.
	MarkSent(ctx context.Context, connection string, hour time.Time) error
}

// DueDigest names a digest to send: a connection's hour.
type DueDigest struct {
	Connection string
	Hour       time.Time
}

// Connections finds a connection by id; it returns an error wrapping
// order.ErrNotFound when there is none.
type Connections interface {
	Connection(ctx context.Context, id string) (order.Connection, error)
}

// DefaultDigestAfter is how many emails a connection receives in an hour
// before the rest of the hour's failures go to its digest.
const DefaultDigestAfter = 10

// Digest timing.
const (
	// DigestLookback is how far back SendDigests looks for digests not
	// sent yet (a failed sweep is made up by the next ones); the counter
	// items must live longer (shared/dynamostore keeps them 48 hours).
	DigestLookback = 24 * time.Hour
	// digestLease is how long a claimed digest is left to its sender
	// before another sweep takes it over.
	digestLease = 10 * time.Minute
	// digestLines bounds the failures one digest lists; the errors list
	// has them all.
	digestLines = 200
)

// WithDigest makes Notify email the first after failures of a
// connection's hour one by one (DefaultDigestAfter when after is 0) and
// hold the rest in d for the hour's digest, which SendDigests sends.
func (nf *Notifier) WithDigest(d Digests, after int) *Notifier {
	if after <= 0 {
		after = DefaultDigestAfter
	}
	nf.digests, nf.after = d, after
	return nf
}

func (nf *Notifier) entry(n syncer.Notice) DigestEntry {
	return DigestEntry{OrderName: oneLine(orderName(n)), MarketplaceOrderID: oneLine(orEmpty(n.State.Ref.MarketplaceOrderID)),
		Marketplace: oneLine(n.Marketplace), Code: string(n.Explanation.Code), Title: oneLine(n.Explanation.Title),
		Action: oneLine(nf.action(n))}
}

// SendDigests sends the digests due: those of the closed hours of the
// last DigestLookback that hold failures and were not sent, each to its
// connection's merchant, and returns how many it sent. It is run by the
// hourly refresh, after the hour closed, so a digest lists every failure
// of its hour. Each digest is claimed before it is sent and marked sent
// after, so concurrent or repeated sweeps send it once; a sweep that dies
// between SES's acceptance and the mark leaves the claim to expire, and a
// later sweep sends the digest again (the only duplicate possible). It
// carries on past a digest's failure and returns them all, joined.
func (nf *Notifier) SendDigests(ctx context.Context, conns Connections) (sent int, err error) {
	if nf.digests == nil {
		return 0, nil
	}
	hour := nf.now().UTC().Truncate(time.Hour)
	due, err := nf.digests.Due(ctx, hour.Add(-DigestLookback), hour)
	if err != nil {
		return 0, fmt.Errorf("notify: digests due: %w", err)
	}
	var errs []error
	for _, d := range due {
		ok, err := nf.sendDigest(ctx, conns, d)
		if err != nil {
			errs = append(errs, fmt.Errorf("notify: digest of %s at %s: %w", d.Connection, d.Hour.Format(hourLayout), err))
		}
		if ok {
			sent++
		}
	}
	return sent, errors.Join(errs...)
}

const hourLayout = "2006-01-02 15:04"

func (nf *Notifier) sendDigest(ctx context.Context, conns Connections, d DueDigest) (bool, error) {
	c, err := conns.Connection(ctx, d.Connection)
	if errors.Is(err, order.ErrNotFound) {
		// The connection is gone, and its merchant with it.
		return false, nf.digests.MarkSent(ctx, d.Connection, d.Hour)
	}
	if err != nil {
		return false, err
	}
	if c.MerchantEmail == "" {
		return false, errors.New("no merchant email")
	}
	hour := d.Hour
	ok, err := nf.digests.Claim(ctx, c.ID, hour, digestLease)
	if err != nil || !ok {
		return false, err
	}
	held, err := nf.digests.Held(ctx, c.ID, hour)
	if err != nil {
		return false, err
	}
	if len(held) == 0 {
		return false, nf.digests.MarkSent(ctx, c.ID, hour)
	}
	e, err := nf.RenderDigest(c, hour, held)
	if err != nil {
		return false, err
	}
	if err := nf.send(ctx, c.MerchantEmail, e); err != nil {
		return false, err
	}
	return true, nf.digests.MarkSent(ctx, c.ID, hour)
}

// RenderDigest returns the digest of the connection's hour listing held:
// its subject and text part from digest.txt.tmpl, its HTML part from
// digest.html.tmpl.
func (nf *Notifier) RenderDigest(c order.Connection, hour time.Time, held []DigestEntry) (Email, error) {
	merchant := c.MerchantName
	if merchant == "" {
		merchant = "there"
	}
	shown := held[:min(len(held), digestLines)]
	hour = hour.UTC()
	entries := make([]fields, len(shown))
	for i, e := range shown {
		entries[i] = fields{"OrderName": e.OrderName, "MarketplaceOrderID": e.MarketplaceOrderID, "Marketplace": e.Marketplace,
			"Code": e.Code, "Title": e.Title, "Action": e.Action}
	}
	return render(digestText, digestHTML, fields{
		"MerchantName": oneLine(merchant), "Connection": oneLine(c.ID), "Marketplace": oneLine(c.Marketplace.Platform.DisplayName()),
		"Hour": hour.Format(hourLayout), "HourEnd": hour.Add(time.Hour).Format("15:04"),
		"After": nf.after, "Count": len(held), "Entries": entries, "More": len(held) - len(shown),
		"ErrorsURL": nf.errorsURL(c.ID),
	})
}
