# mailtokens — the two commands a newcomer needs are `make demo` and `make test`.

GO      ?= go
BIN     := bin
# The race detector runs in every `make test`: CI calls exactly this target.
RACE    ?= -race
TESTFLAGS ?=
STATICCHECK_VERSION := v0.8.2

.PHONY: all build test lint bench fuzz demo demo-notice install clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# The store's tests run twice: on SQLite with everything else, then on a
# real PostgreSQL (internal/testenv/pgtest starts one in a temporary
# directory; Debian's postgresql package).
STORE_PKGS := ./internal/database/ ./internal/tokenstore/ ./internal/admin/accounts/ ./internal/notify/ \
	./internal/keepalive/ ./internal/worker/ ./internal/mailin/ ./internal/cli/

test:
	$(GO) vet ./...
	$(GO) test $(RACE) -count=1 $(TESTFLAGS) ./...
	MAILTOKENS_TEST_ENGINE=postgres $(GO) test $(RACE) -count=1 -timeout 30m $(TESTFLAGS) $(STORE_PKGS)

# The programs a site installs never contain the sandbox or test helpers;
# go.mod says exactly what the code imports.
PRODUCTION := ./cmd/evadmin ./cmd/evmail ./cmd/batchmail

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod or go.sum is not tidy: run go mod tidy"; $(GO) mod tidy -diff; exit 1; }
	@bad=$$($(GO) list -deps $(PRODUCTION) | grep -E '/internal/sandbox|/internal/testenv|^testing$$'); \
	  if [ -n "$$bad" ]; then echo "evadmin, evmail or batchmail links test code:"; echo "$$bad"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

# The whole loop on this machine: sandbox provider and mail servers,
# evadmin, evmail and batchmail, all in the demo's own program (evdemo), so
# that the programs a site installs never contain the sandbox. Data in
# demo-data/ (wiped at each start).
DEMO_FLAGS ?=
demo: demo-notice build
	$(BIN)/evdemo $(DEMO_FLAGS)

# The first build compiles SQLite (cgo) for a few minutes without a word.
demo-notice:
	@test -x $(BIN)/evdemo || echo "Building the programs; the first build compiles SQLite and takes a few minutes…"

# Installs for real what `make build` built (run that first, as yourself):
# the mailtokens user, /opt/mailtokens/bin, /etc/mailtokens with example
# task files, /var/lib/mailtokens and the systemd units; see
# deploy/install.sh. DESTDIR=DIR installs into DIR and creates no user,
# changes no owner: it prints those commands instead.
DESTDIR ?=
install:
	DESTDIR="$(DESTDIR)" BIN="$(BIN)" sh deploy/install.sh

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

# Short fuzzing pass over every fuzz target (go test -fuzz takes one target per run).
FUZZTIME ?= 10s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list='^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf $(BIN)
