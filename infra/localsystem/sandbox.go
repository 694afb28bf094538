package localsystem

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/shopify/shopifytest"
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

// persistSandboxes makes the sandbox marketplace accounts load their
// state from dir and save it there on every change.
func (s *System) persistSandboxes(dir string) error {
	s.ImportSandbox = backmarkettest.New(backmarkettest.Options{Token: s.Secrets[SandboxTokenRef]})
	for _, m := range []struct {
		fake *backmarkettest.Server
		file string
	}{{s.Sandbox, "backmarket.json"}, {s.ImportSandbox, "backmarket-import.json"}} {
		m.fake.SetSaveErrorLog(func(err error) { s.log.Error("sandbox marketplace: saving its orders", "file", m.file, "err", err) })
		if err := m.fake.Persist(filepath.Join(dir, sandboxDir, m.file)); err != nil {
			return fmt.Errorf("sandbox marketplace: %w", err)
		}
	}
	return nil
}

// ImportAccountPath is where the import demo's marketplace account is
// served, under the sandbox marketplace's address: a second merchant
// account, so that the import demo imports only the orders made for it.
const ImportAccountPath = "/import"

// sandboxMarketplaces serves the demo connection's sandbox marketplace
// account at the root and the import demo's under ImportAccountPath.
func (s *System) sandboxMarketplaces() http.Handler {
	m := http.NewServeMux()
	m.Handle(ImportAccountPath+"/", http.StripPrefix(ImportAccountPath, s.ImportSandbox))
	m.Handle("/", s.Sandbox)
	return m
}

// StoreTokenRef names the sandbox store's Admin API access token.
const StoreTokenRef = "demo-shopify-token"

// SandboxSKUs are the products of the sandbox store's catalogue: the
// demo's SKUs, which a new sandbox marketplace order may name.
var SandboxSKUs = []string{"PIXEL7-128", "IPH12-64-BLK", "GALAXY-S21", "IPAD-AIR-4", "CASE-CLEAR"}

// startSandboxStore serves the sandbox store, the Shopify fake, on addr,
// its state kept in dir like the sandbox marketplace's, its catalogue
// holding SandboxSKUs.
func (s *System) startSandboxStore(addr, dir string) error {
	s.SandboxStore = shopifytest.New(s.Secrets[StoreTokenRef])
	s.SandboxStore.SetSaveErrorLog(func(err error) { s.log.Error("sandbox store: saving its orders", "err", err) })
	if err := s.SandboxStore.Persist(filepath.Join(dir, sandboxDir, "shopify.json")); err != nil {
		return fmt.Errorf("sandbox store: %w", err)
	}
	for _, sku := range SandboxSKUs {
		s.SandboxStore.EnsureVariant(sku, "Refurbished "+sku)
	}
	var err error
	if s.StoreURL, err = s.serve(addr, s.SandboxStore); err != nil {
		return fmt.Errorf("sandbox store: %w", err)
	}
	return nil
}

// DemoImportConnection is the import demo: the sandbox store selling on
// the sandbox marketplace's second account with ImportOrders on, so the
// hourly refresh creates each new marketplace order in the store. The
// demo connection keeps import off: its orders come from the store's
// webhooks (the README's curl), and importing them too would make second
// store orders for them.
const DemoImportConnection = "demo-import"

// importConnection is the import demo's connection.
func (s *System) importConnection() order.Connection {
	return order.Connection{
		ID: DemoImportConnection, MerchantName: "Demo Shop (imports)", MerchantEmail: DemoMerchantMail, ImportOrders: true,
		Store:       order.Endpoint{Platform: order.Shopify, BaseURL: s.StoreURL, Account: "demo-shop.myshopify.com", CredentialRef: StoreTokenRef},
		Marketplace: order.Endpoint{Platform: order.BackMarket, BaseURL: s.SandboxURL + ImportAccountPath, CredentialRef: SandboxTokenRef},
	}
}

// ReadmeOrder is the sandbox order of the README's first curl, and
// ReadmeEventID the Shopify event id that curl sends, fixed so that
// pasting it again is the same event (answered 202; the sync finds its
// calls made).
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
// same: pasted again, after a restart too, it is the same event (202,
// nothing made twice).
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
