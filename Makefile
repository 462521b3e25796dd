# Beacon: two commands for people — `make dev` and `make test`. Everything they need is
# installed on first use and skipped when present.

SHELL := /bin/bash
.DEFAULT_GOAL := dev

PORT ?= 8787
# Where worker-build and wasm-bindgen-cli are installed; CI points this at a cache that
# outlives the clone.
TOOLS_DIR ?= $(CURDIR)/.tools
WORKER_BUILD_VERSION := 0.8.7
WASM_BINDGEN_VERSION := $(shell sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' Cargo.toml)

export TOOLS_DIR
export WASM_BINDGEN_BIN := $(TOOLS_DIR)/bin/wasm-bindgen
export WASM_OPT_BIN := $(CURDIR)/node_modules/.bin/wasm-opt
export WRANGLER_SEND_METRICS := false
WRANGLER := $(CURDIR)/node_modules/.bin/wrangler
WORKER_BUILD_STAMP := $(TOOLS_DIR)/.worker-build-$(WORKER_BUILD_VERSION)
WASM_BINDGEN_STAMP := $(TOOLS_DIR)/.wasm-bindgen-$(WASM_BINDGEN_VERSION)
# Install stamps name the lockfile's hash, so a fresh checkout (new mtimes) or a worktree
# whose node_modules is shared does not reinstall: only a changed lockfile does.
lock_hash = $(shell sha1sum $(1) 2>/dev/null | cut -c1-12)
NPM_STAMP := node_modules/.beacon-npm-$(call lock_hash,package-lock.json)
FRONTEND_NPM_STAMP := frontend/node_modules/.beacon-npm-$(call lock_hash,frontend/package-lock.json)
FRONTEND_SOURCES := $(shell find frontend/src frontend/public sdk/typescript/src -type f) docs/openapi.json frontend/index.html frontend/vite.config.ts frontend/tsconfig.json
WASM := build/index_bg.wasm
# schemathesis (PyPI) for `make fuzz`, in a venv of its own under TOOLS_DIR.
SCHEMATHESIS_VERSION := 4.32.5
SCHEMATHESIS_DIR := $(TOOLS_DIR)/schemathesis-$(SCHEMATHESIS_VERSION)
export SCHEMATHESIS := $(SCHEMATHESIS_DIR)/bin/st
# The SDKs' tests: `build` (and the build backend) in a venv of their own under TOOLS_DIR, and a
# wheelhouse of the test dependencies, so each run's fresh venv installs without the network.
# The same venv runs the providers' own client libraries (openai, anthropic) against the LLM gateway.
SDK_PY_PINS := build==1.6.1 hatchling==1.33.0 pytest==9.2.0 opentelemetry-api==1.45.2 opentelemetry-sdk==1.45.2 opentelemetry-exporter-otlp-proto-http==1.45.2 openai==3.63.0 anthropic==2.17.0
SDK_PY_TOOLS := $(TOOLS_DIR)/sdk-python-$(shell echo '$(SDK_PY_PINS)' "$$(python3 -V 2>&1)" | sha1sum | cut -c1-10)
SDK_TS_NPM_STAMP := sdk/typescript/node_modules/.beacon-npm-$(call lock_hash,sdk/typescript/package-lock.json)
SDK_RUNS := target/sdk
# The real OpenTelemetry JS exporter for tests/api/otel_exporters.rs (the Python one is in SDK_PY_TOOLS).
OTEL_NPM_STAMP := tests/otel/node_modules/.beacon-npm-$(call lock_hash,tests/otel/package-lock.json)

.PHONY: schemathesis dev test test-sdk test-sdk-python test-sdk-typescript sdk-python-tools bench-sdk test-browser chromium bench soak wrk fuzz build tools wasm-target deps frontend migrate lint fmt clean schema

## make dev: build, apply migrations to the local D1 and serve at http://127.0.0.1:$(PORT), firing
## the cron tick at the start of every minute as Cloudflare would (scripts/dev.sh; Ctrl-C stops
## wrangler, workerd and the ticking together). DEV_TICK_SECONDS= changes the interval.
dev: tools deps .dev.vars frontend build migrate
	PORT=$(PORT) WRANGLER=$(WRANGLER) bash scripts/dev.sh

## make test: every test — native unit tests and the app's (frontend/unit), `make dev`'s cron
## ticking (tests/dev_tick.sh), integration tests against the real Worker, a short schemathesis
## run against the OpenAPI document, then the app in a real browser (Debian's Chromium) against
## the real Worker
test: tools deps .dev.vars frontend build schemathesis sdk-python-tools $(OTEL_NPM_STAMP)
	cd frontend && npm run -s test:unit
	cargo test --lib --test schema
	bash tests/dev_tick.sh
	BEACON_OTEL_PYTHON=$(SDK_PY_TOOLS)/bin/python cargo test --test api -- --test-threads 8 --skip master_keys --skip mail_delivery --skip faults:: --skip quotas::
	cargo test --test api -- --test-threads 1 master_keys mail_delivery faults:: quotas::
	@$(MAKE) --no-print-directory test-sdk
	FUZZ_EXAMPLES=2 FUZZ_MAX_TIME= FUZZ_PHASES=examples,fuzzing cargo run --example fuzz
	@$(MAKE) --no-print-directory test-browser

## make test-sdk: the Python and TypeScript SDKs (sdk/), each built as it would be published
## (`python -m build`, `npm pack`), installed into a fresh venv / folder, and tested against a
## real Worker of its own behind a fault-injecting proxy (sdk/testing/)
test-sdk: test-sdk-python test-sdk-typescript

test-sdk-python: deps frontend build sdk-python-tools
	rm -rf $(SDK_RUNS)/python-dist $(SDK_RUNS)/python-venv
	$(SDK_PY_TOOLS)/bin/python -m build --no-isolation --outdir $(SDK_RUNS)/python-dist sdk/python >/dev/null
	python3 -m venv --without-pip $(SDK_RUNS)/python-venv
	$(SDK_PY_TOOLS)/bin/pip --python $(SDK_RUNS)/python-venv/bin/python install --quiet --disable-pip-version-check \
		--no-index --find-links $(SDK_PY_TOOLS)/wheelhouse "$$(ls $(SDK_RUNS)/python-dist/*.whl)[otel]" pytest
	cd sdk/python && ../../$(SDK_RUNS)/python-venv/bin/python -m pytest -p no:cacheprovider -q

test-sdk-typescript: deps frontend build $(SDK_TS_NPM_STAMP)
	rm -rf $(SDK_RUNS)/ts-consumer $(SDK_RUNS)/beacon-sdk-*.tgz
	mkdir -p $(SDK_RUNS)/ts-consumer
	cd sdk/typescript && npm run -s build && npm pack --silent --pack-destination ../../$(SDK_RUNS) >/dev/null
	cp sdk/typescript/test/consumer.json $(SDK_RUNS)/ts-consumer/package.json
	cp sdk/typescript/test/*.test.mjs $(SDK_RUNS)/ts-consumer/
	cd $(SDK_RUNS)/ts-consumer && npm install --no-audit --no-fund --prefer-offline --loglevel=error ../beacon-sdk-*.tgz
	cd $(SDK_RUNS)/ts-consumer && BEACON_REPO=$(CURDIR) node --test --test-reporter=spec *.test.mjs

## make bench-sdk: what track() costs the caller, in each SDK (sdk/bench/); no server needed
bench-sdk: $(SDK_TS_NPM_STAMP)
	python3 sdk/bench/track.py
	cd sdk/typescript && npm run -s build
	node sdk/bench/track.mjs

## make test-browser: only the browser tests (frontend/e2e/)
test-browser: deps frontend build chromium
	cd frontend && npm test

## make bench: one table — ingest (events/s), analytics and executions latency (p50/p99) over
## 200,000 events and 10,000 executions, D1 round trips per route, wasm size, startup time —
## against a wrangler dev of its own with the inspector detached. Minutes; not part of `make test`.
bench: tools deps .dev.vars frontend build sdk-python-tools
	BENCH_PYTHON=$(SDK_PY_TOOLS)/bin/python cargo run --release --example bench

## make soak: bounded mixed traffic from wrk (telemetry batches, analytics and executions reads,
## runs against the stand-in provider) on 127.0.0.1 against a fresh local Worker; reports
## requests/s, latency percentiles, errors and workerd's memory. SOAK_SECONDS (default 90) and
## SOAK_CONNECTIONS (default 8) change it. Not part of `make test`.
soak: tools deps .dev.vars frontend build wrk
	cargo run --example soak

## make fuzz: schemathesis against the OpenAPI document on a wrangler dev of its own, as the owner
## of a seeded throwaway team: the coverage phase (cases from every schema's edges), then rounds
## of 20 random cases per operation for 5 minutes; several thousand requests, no 5xx and no
## response outside the document allowed. FUZZ_EXAMPLES=, FUZZ_MAX_TIME= (s), FUZZ_PHASES=, FUZZ_SEED=.
fuzz: tools deps .dev.vars frontend build schemathesis
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-20} FUZZ_MAX_TIME=$${FUZZ_MAX_TIME:-300} cargo run --example fuzz

# --- installs (each skipped when already done) ---------------------------------------------

tools: wasm-target $(WORKER_BUILD_STAMP) $(WASM_BINDGEN_STAMP)

wasm-target:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

$(WORKER_BUILD_STAMP):
	cargo install --locked --root $(TOOLS_DIR) worker-build@$(WORKER_BUILD_VERSION)
	touch $@

# Not --locked: its lockfile pins a webpki-roots release the registry no longer serves.
$(WASM_BINDGEN_STAMP):
	cargo install --root $(TOOLS_DIR) wasm-bindgen-cli@$(WASM_BINDGEN_VERSION)
	touch $@

deps: $(NPM_STAMP)

# A venv's scripts name their interpreter by absolute path, so it is made at TOOLS_DIR's real
# path (not through a symlink that may go away), and remade when its `st` no longer runs.
schemathesis:
	@$(SCHEMATHESIS) --version >/dev/null 2>&1 || { rm -rf $(SCHEMATHESIS_DIR); $(MAKE) --no-print-directory $(SCHEMATHESIS); }

$(SCHEMATHESIS):
	python3 -m venv "$$(realpath -m $(SCHEMATHESIS_DIR))"
	$(SCHEMATHESIS_DIR)/bin/pip install --quiet --disable-pip-version-check schemathesis==$(SCHEMATHESIS_VERSION)

# A venv made at TOOLS_DIR's real path (see schemathesis), with a wheelhouse beside it.
sdk-python-tools:
	@test -f $(SDK_PY_TOOLS)/.done && $(SDK_PY_TOOLS)/bin/python -m build --version >/dev/null 2>&1 || { rm -rf $(SDK_PY_TOOLS); $(MAKE) --no-print-directory $(SDK_PY_TOOLS)/.done; }

$(SDK_PY_TOOLS)/.done:
	python3 -m venv "$$(realpath -m $(SDK_PY_TOOLS))"
	$(SDK_PY_TOOLS)/bin/pip install --quiet --disable-pip-version-check $(SDK_PY_PINS)
	$(SDK_PY_TOOLS)/bin/pip download --quiet --disable-pip-version-check --dest $(SDK_PY_TOOLS)/wheelhouse $(SDK_PY_PINS)
	touch $@

$(SDK_TS_NPM_STAMP):
	cd sdk/typescript && npm ci --no-audit --no-fund
	touch $@

$(OTEL_NPM_STAMP):
	cd tests/otel && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# npm ci empties node_modules first, and follows a symlinked one (a worktree sharing another
# checkout's packages): that one is left to its owner.
$(NPM_STAMP):
	@if [ -L node_modules ]; then echo "node_modules is a link; not reinstalling into it"; else npm ci --no-audit --no-fund; fi
	touch $@

# The browser tests drive Debian's Chromium (never a browser a test tool downloads).
chromium:
	@command -v chromium >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

# The soak's load generator, from Debian.
wrk:
	@command -v wrk >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y wrk; }

# Fresh dev-only settings, never committed.
.dev.vars:
	sed "s|REPLACE_WITH_BASE64_OF_32_RANDOM_BYTES|$$(openssl rand -base64 32)|" .dev.vars.example > $@

# --- build -----------------------------------------------------------------------------------

build: $(WASM)

# worker-build's wasm-bindgen step keeps the function-name section (~180 KB raw, ~48 KB gzipped)
# and `strip = true` breaks wasm-bindgen (shared/TOOLCHAIN.md), so it is stripped afterwards. The
# same pass merges functions that differ only in constants (monomorphized copies) and shrinks
# once more: 2.5 KB gzipped that worker-build's own wasm-opt run (Cargo.toml) does not find.
$(WASM): $(shell find src -name '*.rs') Cargo.toml Cargo.lock | tools deps
	$(TOOLS_DIR)/bin/worker-build --release
	$(WASM_OPT_BIN) $@ --strip-debug --strip-producers --merge-similar-functions -Oz \
		--enable-exception-handling --enable-reference-types --enable-bulk-memory \
		--enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals --enable-multivalue -o $@

# The app: its npm packages (frontend/package-lock.json) when missing, then a Vite build into
# frontend/dist (type-checked first) when a source changed.
frontend: frontend/dist/index.html

$(FRONTEND_NPM_STAMP):
	cd frontend && npm ci --no-audit --no-fund
	touch $@

frontend/dist/index.html: $(FRONTEND_SOURCES) frontend/package.json frontend/package-lock.json | $(FRONTEND_NPM_STAMP)
	cd frontend && npm run -s build

migrate: deps
	CI=true $(WRANGLER) d1 migrations apply DB --local

# --- hygiene ---------------------------------------------------------------------------------

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --target wasm32-unknown-unknown -- -D warnings

fmt:
	cargo fmt

# schema.sql: every migration, in order, for reading in one place.
schema:
	awk 'FNR==1 && NR>1 {print ""} {print}' migrations/*.sql > schema.sql

clean:
	rm -rf build target/itest target/e2e target/sdk frontend/dist sdk/typescript/dist
