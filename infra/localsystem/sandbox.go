package localsystem

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/ordersync/ordersync/shared/amazon/amazontest"
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
	var c amazonCredential
	if err := json.Unmarshal([]byte(s.Secrets[AmazonCredentialRef]), &c); err != nil {
		return fmt.Errorf("sandbox marketplace: secret %s: %w", AmazonCredentialRef, err)
	}
	// Without rate limits: the local schedule fires on demand (the tests
	// fire it dozens of times a minute), where getOrders allows one call a
	// minute; a 429 is shown with a fault instead (POST /_sandbox/faults).
	s.AmazonSandbox = amazontest.New(amazontest.Options{ClientID: c.ClientID, ClientSecret: c.ClientSecret,
		RefreshToken: c.RefreshToken, NoRateLimits: true})
	s.AmazonSandbox.SetSaveErrorLog(func(err error) {
		s.log.Error("sandbox marketplace: saving its orders", "file", "amazon.json", "err", err)
	})
	if err := s.AmazonSandbox.Persist(filepath.Join(dir, sandboxDir, "amazon.json")); err != nil {
		return fmt.Errorf("sandbox marketplace: %w", err)
	}
	return nil
}

// ImportAccountPath is where the import demo's marketplace account is
// served, under the sandbox marketplace's address: a second merchant
// account, so that the import demo imports only the orders made for it.
const ImportAccountPath = "/import"

// AmazonAccountPath is where the Amazon sandbox (the SP-API fake, its
// Login with Amazon token endpoint included) is served, under the sandbox
// marketplace's address: one more port to free for `make run` would buy
// nothing, as the fake's routes are all under its own prefixes.
const AmazonAccountPath = "/amazon"

// sandboxMarketplaces serves the demo connection's sandbox marketplace
// account at the root, the import demo's under ImportAccountPath and the
// Amazon sandbox under AmazonAccountPath.
func (s *System) sandboxMarketplaces() http.Handler {
	m := http.NewServeMux()
	m.Handle(ImportAccountPath+"/", http.StripPrefix(ImportAccountPath, s.ImportSandbox))
	m.Handle(AmazonAccountPath+"/", http.StripPrefix(AmazonAccountPath, s.AmazonSandbox))
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
		// The store's fulfilment of an imported order comes by webhook
		// (/webhooks/shopify/demo-import), signed as the demo's.
		WebhookSecretRefs: []string{WebhookSecretRef},
		Store:             order.Endpoint{Platform: order.Shopify, BaseURL: s.StoreURL, Account: "demo-shop.myshopify.com", CredentialRef: StoreTokenRef},
		Marketplace:       order.Endpoint{Platform: order.BackMarket, BaseURL: s.SandboxURL + ImportAccountPath, CredentialRef: SandboxTokenRef},
	}
}

// DemoAmazonConnection is the Amazon demo: the sandbox store selling on the
// Amazon sandbox (amazon.fr) with ImportOrders on, as every Amazon
// connection is (its orders are made on Amazon, never in the store): the
// refresh creates each new Unshipped order in the store, and the store's
// fulfilment, sent to /webhooks/shopify/demo-amazon, confirms the shipment
// on Amazon.
const DemoAmazonConnection = "demo-amazon"

// AmazonCredentialRef names the Amazon demo's credential, the JSON
// connectors reads for an app of the connection's own: the sandbox app's
// LWA client id and secret, the seller's refresh token and the sandbox's
// token endpoint. A deployed connection's credential is the bare refresh
// token, its app's credentials in connectors.AmazonAppRef.
const AmazonCredentialRef = "demo-amazon-credential"

// amazonCredential is the JSON of AmazonCredentialRef, as connectors
// reads it.
type amazonCredential struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	RefreshToken string `json:"refresh_token"`
	TokenURL     string `json:"token_url,omitempty"`
}

// newAmazonCredential is a new sandbox app and seller authorisation, in
// the shapes Amazon's have. Its token endpoint is set once the sandbox is
// served (pointAmazonCredential).
func newAmazonCredential() string {
	b, _ := json.Marshal(amazonCredential{ClientID: "amzn1.application-oa2-client." + randomHex(16),
		ClientSecret: "amzn1.oa2-cs.v1." + randomHex(32), RefreshToken: "Atzr|" + randomHex(32)})
	return string(b)
}

// pointAmazonCredential sets the Amazon demo's token endpoint to the
// sandbox's, saving the secrets file when it changed: a data folder
// started on other ports (or made before the Amazon sandbox) keeps its
// app and refresh token, with the endpoint of this run.
func (s *System) pointAmazonCredential(secretsFile string) error {
	var c amazonCredential
	if err := json.Unmarshal([]byte(s.Secrets[AmazonCredentialRef]), &c); err != nil {
		return fmt.Errorf("localsystem: secret %s: %w", AmazonCredentialRef, err)
	}
	tokenURL := s.SandboxURL + AmazonAccountPath + "/auth/o2/token"
	if c.TokenURL == tokenURL {
		return nil
	}
	c.TokenURL = tokenURL
	b, _ := json.Marshal(c)
	s.Secrets[AmazonCredentialRef] = string(b)
	return saveSecrets(secretsFile, s.Secrets)
}

// amazonConnection is the Amazon demo's connection. Its webhook secret
// and API key are the demo connection's, so that the README's curls
// (and the tests) sign and call for it alike.
func (s *System) amazonConnection() order.Connection {
	return order.Connection{
		ID: DemoAmazonConnection, MerchantName: "Demo Shop (Amazon)", MerchantEmail: DemoMerchantMail, ImportOrders: true,
		Store: order.Endpoint{Platform: order.Shopify, BaseURL: s.StoreURL, Account: "demo-shop.myshopify.com", CredentialRef: StoreTokenRef},
		Marketplace: order.Endpoint{Platform: order.Amazon, BaseURL: s.SandboxURL + AmazonAccountPath,
			Account: amazontest.MarketplaceFR, CredentialRef: AmazonCredentialRef},
		WebhookSecretRefs: []string{WebhookSecretRef},
		APIKeyRefs:        []string{DemoAPIKeyRef},
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
