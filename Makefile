# ordersync: `make run` brings the whole system up locally, `make test` tests it.
# Prerequisites: Go, Node 20+ (npm) and Java 17+ (for DynamoDB Local).

FUNCTIONS := webhook sync refresh refreshdispatch api jobs console
# Lambda builds: linux/arm64 for provided.al2023, no cgo, no RPC shim, stripped.
LAMBDA_BUILD := CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -tags lambda.norpc -trimpath -ldflags='-s -w'
NODE_MODULES := infra/local/node_modules/.package-lock.json

.PHONY: all deps test run build bench bench-go soak fmt vet clean \
	build-WebhookFunction build-SyncFunction build-RefreshFunction build-RefreshDispatchFunction build-ApiFunction build-JobFunction \
	build-ConsoleFunction deps-browser

all: test

# The local emulators (DynamoDB Local, local-aws-sqs, aws-ses-v2-local),
# pinned by infra/local/package-lock.json.
deps: $(NODE_MODULES)
	go mod download

$(NODE_MODULES): infra/local/package.json infra/local/package-lock.json infra/local/patch-local-aws-sqs.js
	npm ci --prefix infra/local --no-audit --no-fund
	@touch $@

# The merchant console's browser tests (infra/localsystem/console_test.go)
# drive Debian's headless Chromium through chromedriver. Installed when
# missing; where it cannot be (no root, no apt), those tests skip and say so.
deps-browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif command -v apt-get >/dev/null && { [ "$$(id -u)" = 0 ] && s=env || { sudo -n true 2>/dev/null && s=sudo; }; }; then \
		{ $$s apt-get update -qq && $$s DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } || \
		echo "deps-browser: installing chromium and chromium-driver failed; the console's browser tests will skip (on CI they fail)"; \
	else echo "deps-browser: chromium and chromium-driver are missing and cannot be installed here (no apt-get, no root); the console's browser tests will skip"; fi

# Unit, integration and end-to-end tests. Integration tests start the
# emulators on free loopback ports themselves and stop them afterwards.
test: deps deps-browser
	@test -z "$$(gofmt -l functions shared infra)" || { echo "gofmt needed:"; gofmt -l functions shared infra; exit 1; }
	go vet ./...
	go test -count=1 ./...

# The whole system on this machine: emulators, the template's table and
# queues, the HTTP API (webhooks, merchant API) on 127.0.0.1:3000, the SQS
# poller, the schedule, a sandbox marketplace, and a demo. Ctrl-C stops everything.
run: deps
	@go build -o bin/localrun ./infra/localrun
	@exec bin/localrun $(ARGS)

# Lambda bootstrap binaries under bin/<function>/bootstrap.
build: $(FUNCTIONS:%=bin/%/bootstrap)

bin/%/bootstrap: FORCE
	$(LAMBDA_BUILD) -o $@ ./functions/$*

FORCE:

# The operator's CLI (infra/ordersync) for this machine: bin/ordersync.
# `bin/ordersync -local dlq list` works on `make run`'s stack.
.PHONY: cli
cli:
	go build -o bin/ordersync ./infra/ordersync

# Targets `sam build` calls (BuildMethod: makefile), one per function.
build-WebhookFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/webhook
build-SyncFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/sync
build-RefreshFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/refresh
build-RefreshDispatchFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/refreshdispatch
build-ApiFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/api
build-JobFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/jobs
build-ConsoleFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/console

# The soak: N store events through the real webhook handler, sync and
# connector under chaos, on the in-memory store and queue; it checks the
# promises per order and exits non-zero if one broke. A short one (2,000
# events) runs in `make test`. `make soak N=100000 SEED=42`.
N ?= 20000
soak:
	go run ./infra/soakrun -n $(N) $(if $(SEED),-seed $(SEED)) $(if $(EMULATORS),-emulators)

# Benchmarks: cost and speed beside their floors, measured side by side in
# one run, printed as one table and written to bin/bench.json
# (infra/benchrun); never asserted in tests. `make bench QUICK=1` is shorter.
# `make bench-go` runs the Go benchmarks of every package.
bench: deps
	@mkdir -p bin
	go run ./infra/benchrun -json bin/bench.json $(if $(QUICK),-quick)

bench-go: deps
	go test -count=1 -run '^$$' -bench . -benchmem ./...

fmt:
	gofmt -w functions shared infra

clean:
	rm -rf bin .aws-sam
