package localsystem

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
)

// The sandboxes keep their state in the data folder, under sandbox/, for
// the same reason DynamoDB Local does: the table records the calls the
// sync made to each marketplace order (its effects, never made twice), so
// a sandbox that forgot its orders on restart would hold them in states
// the table says they left. Saving the sandboxes' own state is right for
// every order a user may have touched (the README's, the demo's, any made
// over /_sandbox/), where seeding both sides again could only cover the
// orders the demo knows.
const sandboxDir = "sandbox"

// persistSandboxes makes the sandboxes load their state from dir and save
// it there on every change.
func (s *System) persistSandboxes(dir string) error {
	s.Sandbox.SetSaveErrorLog(func(err error) { s.log.Error("sandbox marketplace: saving its orders", "err", err) })
	if err := s.Sandbox.Persist(filepath.Join(dir, sandboxDir, "backmarket.json")); err != nil {
		return fmt.Errorf("sandbox marketplace: %w", err)
	}
	return nil
}

// ReadmeOrder is the sandbox order of the README's first curl, and
// ReadmeEventID the Shopify event id that curl sends, fixed so that
// pasting it again is the same event (a duplicate, answered 200).
var ReadmeOrder = DemoOrder{MarketplaceID: 9001, StoreID: 450789901, Name: "#9001", SKUs: []string{"PIXEL7-128"}}

// ReadmeEventID is the X-Shopify-Event-Id of the README's first curl.
const ReadmeEventID = "readme-9001-fulfilled"

// SeedReadmeOrder puts the README's order in the sandbox awaiting
// acceptance, unless the sandbox has it already: a restarted `make run`
// keeps what the first curl did to it.
func (s *System) SeedReadmeOrder() {
	s.Sandbox.SeedIfAbsent(backmarkettest.AwaitingAcceptance(ReadmeOrder.MarketplaceID, ReadmeOrder.SKUs...))
}

// ReadmeTracking is the parcel of the README's first curl.
var ReadmeTracking = Tracking{Number: "1Z999AA10123456784", Carrier: "UPS"}

// ReadmeCurl returns the README's first curl: a signed Shopify
// orders/fulfilled webhook for ReadmeOrder with event id ReadmeEventID,
// its body in dir/demo-order-9001.json. The body is written once and kept,
// like the secrets that sign it, so the curl printed on every start is the
// same: pasted again, after a restart too, it is a duplicate (200).
func (s *System) ReadmeCurl(dir string) (string, error) {
	path, err := filepath.Abs(filepath.Join(dir, "demo-order-9001.json"))
	if err != nil {
		return "", err
	}
	body, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		body = FulfilledOrder(ReadmeOrder, ReadmeTracking, time.Now())
		err = os.WriteFile(path, body, 0o644)
	}
	if err != nil {
		return "", fmt.Errorf("localsystem: the README's webhook body: %w", err)
	}
	return s.CurlShopify("orders/fulfilled", ReadmeEventID, path, body), nil
}
