// Package rules holds ordersync's sync rules, the platform-free part: the
// common order lifecycle, which marketplace calls bring an order to the
// state the store wants (or exactly why none can), how store events fold
// into the stored order state without regressing it, and the checks an
// order must pass first (address, edits, SKUs, tracking). Each platform's
// own states are mapped onto the lifecycle by its vendor package
// (backmarket.OrderState, shopify.Status, …), which reports a state it does
// not know with UnknownState. It is pure logic over the domain types: it
// imports nothing from AWS and makes no calls.
//
// Every refusal is a *syncerr.Error whose code and details fill the
// merchant-facing words of the catalogue.
package rules
