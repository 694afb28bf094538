// Package order holds ordersync's domain: orders as both sides see them, the
// common lifecycle they move through, and the internal event that carries a
// change from a webhook to the sync. It imports nothing from AWS.
package order

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Platform names an outside system ordersync talks to.
type Platform string

// Platforms ordersync knows. A connection naming any other platform fails
// with platform_unsupported.
const (
	Shopify     Platform = "shopify"
	WooCommerce Platform = "woocommerce"
	BigCommerce Platform = "bigcommerce"
	Standard    Platform = "standard" // a generic Standard Webhooks source (a 3PL, a custom store)
	BackMarket  Platform = "backmarket"
	Mirakl      Platform = "mirakl"
	Amazon      Platform = "amazon"
)

// Status is a step of the common order lifecycle every platform's own states
// map onto. The zero value is StatusUnknown.
type Status string

// The lifecycle, in its normal order. Cancelled and Refused end it early.
const (
	StatusUnknown            Status = ""
	StatusPendingPayment     Status = "pending_payment"
	StatusAwaitingAcceptance Status = "awaiting_acceptance"
	StatusAccepted           Status = "accepted" // awaiting fulfilment
	// StatusPartiallyCancelled: some lines were cancelled (or their
	// quantity cut) before shipping, and the rest still await fulfilment.
	StatusPartiallyCancelled Status = "partially_cancelled"
	StatusPartiallyShipped   Status = "partially_shipped"
	StatusShipped            Status = "shipped"
	StatusDelivered          Status = "delivered"
	StatusCancelled          Status = "cancelled"
	StatusRefused            Status = "refused"
	StatusRefunded           Status = "refunded"
)

// Open reports whether an order in status s still waits to be fulfilled
// (awaiting acceptance, or accepted): one ordersync may import.
func (s Status) Open() bool { return s == StatusAwaitingAcceptance || s == StatusAccepted }

// Address is a shipping address.
type Address struct {
	Name       string `json:"name,omitempty"`
	Company    string `json:"company,omitempty"`
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	Region     string `json:"region,omitempty"`
	Country    string `json:"country,omitempty"` // ISO 3166-1 alpha-2
	Phone      string `json:"phone,omitempty"`
}

// Line is one order line: a SKU and a quantity. MarketplaceLineID is the
// marketplace's own line identifier when known (Back Market and Mirakl act
// per line).
type Line struct {
	SKU               string `json:"sku"`
	Quantity          int    `json:"quantity"`
	StoreLineID       string `json:"store_line_id,omitempty"`
	MarketplaceLineID string `json:"marketplace_line_id,omitempty"`
	Title             string `json:"title,omitempty"`
}

// Tracking is what a marketplace needs to mark a parcel shipped.
type Tracking struct {
	Number  string `json:"number,omitempty"`
	Carrier string `json:"carrier,omitempty"`
	URL     string `json:"url,omitempty"`
}

// Parcel is one shipment: the lines (by SKU) it carries and its tracking.
type Parcel struct {
	ID       string   `json:"id,omitempty"` // the store's fulfillment/shipment id
	Tracking Tracking `json:"tracking"`
	Lines    []Line   `json:"lines,omitempty"`
}

// RefundKind says what a refund undid.
type RefundKind string

// Refund kinds.
const (
	// RefundCancel: lines (or part of their quantity) cancelled before they
	// shipped: the marketplace should cancel them too.
	RefundCancel RefundKind = "cancel"
	// RefundRefund: money given back after shipment; the goods stay with
	// the buyer.
	RefundRefund RefundKind = "refund"
	// RefundReturn: goods sent back after shipment (restocked) and refunded.
	RefundReturn RefundKind = "return"
)

// Refund is one refund, return or line cancellation made at the store. ID
// is the store's own (Shopify's refund id), or a name for a running total
// the store keeps per order (BigCommerce's quantity_refunded), whose
// newer picture replaces the older. Lines name what it covers (SKU,
// StoreLineID, Quantity); none means the order as a whole.
type Refund struct {
	ID    string     `json:"id"`
	Kind  RefundKind `json:"kind"`
	At    time.Time  `json:"at,omitzero"`
	Lines []Line     `json:"lines,omitempty"`
}

// Ref names one order on both sides. Either ID may be empty when not yet
// known; the sync resolves the missing one from stored links.
type Ref struct {
	StoreOrderID       string `json:"store_order_id,omitempty"`
	StoreOrderName     string `json:"store_order_name,omitempty"` // e.g. Shopify's "#1001"
	MarketplaceOrderID string `json:"marketplace_order_id,omitempty"`
	// ClaimedMarketplaceOrderID is a marketplace order id the store order
	// names only through data its buyer can write (Shopify note
	// attributes, WooCommerce order meta). It is never a link: the sync
	// holds such an order for the merchant unless ordersync linked the two
	// itself (an import, or the merchant's own link).
	ClaimedMarketplaceOrderID string `json:"claimed_marketplace_order_id,omitempty"`
}

// TopicMerchantLink is the topic of the event the merchant API queues when
// the merchant links a store order to a marketplace order: its sync ends
// an order_link_unverified hold.
const TopicMerchantLink = "merchant/link"

// Name is the order as the merchant knows it: the store's order name
// ("#1001"), else the store's id, else the marketplace's; "" when the ref
// names none.
func (r Ref) Name() string {
	switch {
	case r.StoreOrderName != "":
		return r.StoreOrderName
	case r.StoreOrderID != "":
		return r.StoreOrderID
	}
	return r.MarketplaceOrderID
}

// Event is the one internal event that travels on the sync queue: a
// normalised change reported by a storefront (or found by the refresh).
// Downstream code never needs the raw platform payload.
type Event struct {
	Connection    string    `json:"connection"`
	Source        Platform  `json:"source"`
	SourceEventID string    `json:"source_event_id"`
	Topic         string    `json:"topic,omitempty"` // the platform's own event name, for the timeline
	OccurredAt    time.Time `json:"occurred_at"`
	Order         Ref       `json:"order"`
	Status        Status    `json:"status,omitempty"`
	// SourceStatus is the platform's own status words, kept for messages.
	SourceStatus    string   `json:"source_status,omitempty"`
	Lines           []Line   `json:"lines,omitempty"`
	ShippingAddress *Address `json:"shipping_address,omitempty"`
	Parcels         []Parcel `json:"parcels,omitempty"`
	CancelReason    string   `json:"cancel_reason,omitempty"`
	// Refunds are the store's refunds, returns and line cancellations the
	// event reports (see Refund); a refund already known is matched by ID.
	Refunds []Refund `json:"refunds,omitempty"`
	// Test marks an order the platform flags as a test order.
	Test bool `json:"test,omitempty"`
	// Fetch says the event only names the order (BigCommerce's webhooks
	// are thin): the sync reads the order from the store before applying.
	Fetch bool `json:"fetch,omitempty"`
	// Intent is what the event asks of the sync: by default, bring the
	// marketplace order to the store's state; IntentImport, create the
	// marketplace order in the store.
	Intent Intent `json:"intent,omitempty"`
}

// Intent is what an event asks of the sync.
type Intent string

// Intents.
const (
	// IntentUpdate (the zero value) applies a store change to the
	// marketplace.
	IntentUpdate Intent = ""
	// IntentImport imports a new marketplace order (Order.MarketplaceOrderID)
	// into the store, then accepts it on the marketplace.
	IntentImport Intent = "import"
)

// ContentHash is a stable digest of what the event says about the order
// (not when or how it was delivered), used for idempotency.
func (e Event) ContentHash() string {
	c := e
	c.SourceEventID, c.Topic, c.OccurredAt = "", "", time.Time{}
	b, _ := json.Marshal(c) // a struct of plain fields always marshals
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// Connection links one merchant's store to one marketplace account.
type Connection struct {
	ID            string   `json:"id"`
	MerchantName  string   `json:"merchant_name"`
	MerchantEmail string   `json:"merchant_email"`
	Store         Endpoint `json:"store"`
	Marketplace   Endpoint `json:"marketplace"`
	// WebhookSecretRefs name the secrets that may sign this connection's
	// webhooks; several are active during a rotation.
	WebhookSecretRefs []string `json:"webhook_secret_refs"`
	// APIKeyRefs name the secrets that authenticate the merchant API
	// (shared/merchantapi) for this connection; several are active during
	// a rotation. A connection with none that resolves refuses that API.
	APIKeyRefs []string `json:"api_key_refs"`
	// ImportOrders asks the refresh to import new marketplace orders into
	// the store (and accept them). Off for merchants whose orders reach
	// the store another way.
	ImportOrders bool `json:"import_orders,omitempty"`
	// Paused is set when the marketplace or the store refused the
	// credentials: syncs wait until the merchant reconnects. PausedCode
	// says which (auth_expired or store_disconnected).
	Paused     bool   `json:"paused,omitempty"`
	PausedCode string `json:"paused_code,omitempty"`

	// Fields of the merchant's self-service (shared/merchantapi's
	// connection routes).

	// PausedAt is when the connection was paused; zero when it is not, or
	// when it was paused before stores recorded it.
	PausedAt time.Time `json:"paused_at,omitzero"`
	// WebhookSecretExpiry says until when a ref of WebhookSecretRefs still
	// signs webhooks: a secret replaced by a rotation stays valid for a
	// grace period. A ref absent from it never expires, so items written
	// before it existed read as before.
	WebhookSecretExpiry map[string]time.Time `json:"webhook_secret_expiry,omitempty"`
}

// PausedByMerchant is the PausedCode of a connection the merchant paused
// (the merchant API's pause route). Only the merchant resumes it.
const PausedByMerchant = "merchant"

// Endpoint says how to reach one side of a connection. CredentialRef names a
// secret; the secret itself never sits in an item, a message or a log.
type Endpoint struct {
	Platform      Platform `json:"platform"`
	BaseURL       string   `json:"base_url"`
	CredentialRef string   `json:"credential_ref,omitempty"`
	// Account is the platform's account identifier (shop domain, Mirakl
	// shop_id, store hash) where the API needs one.
	Account string `json:"account,omitempty"`
	// SplitParcels says the marketplace operator enabled shipping one
	// order in several parcels, each with its own tracking (Mirakl's
	// multiple shipments, ST01). Off, an order ships whole with one
	// tracking number, the others explained (parcels_unsupported).
	SplitParcels bool `json:"split_parcels,omitempty"`
	// CancelReasonCode is the reason code a Mirakl marketplace's operator
	// lists for a seller's cancelation (Mirakl has no default): with it, a
	// line the store cancelled once the order was accepted is cancelled
	// on Mirakl (OR30); without it, it is explained (cancel_unsupported).
	CancelReasonCode string `json:"cancel_reason_code,omitempty"`
	// RefundReasonCode is the reason code a Mirakl marketplace's operator
	// lists for a refund (RE01, type REFUND; Mirakl has no default): with
	// it, a whole line the store refunded or took back once the order
	// shipped is refunded on Mirakl (OR28); without it, it is explained
	// (refund_unsupported).
	RefundReasonCode string `json:"refund_reason_code,omitempty"`
}

// displayNames are the names merchants know platforms by.
var displayNames = map[Platform]string{
	Shopify: "Shopify", WooCommerce: "WooCommerce", BigCommerce: "BigCommerce", Standard: "your warehouse",
	BackMarket: "Back Market", Mirakl: "Mirakl", Amazon: "Amazon",
}

// DisplayName returns the name merchants know the platform by.
func (p Platform) DisplayName() string {
	if n, ok := displayNames[p]; ok {
		return n
	}
	return string(p)
}
