# mailtokens — the two commands a newcomer needs are `make demo` and `make test`.

GO      ?= go
BIN     := bin
# The race detector runs in every `make test`: CI calls exactly this target.
RACE    ?= -race
TESTFLAGS ?=
STATICCHECK_VERSION := v0.8.2

.PHONY: all build test lint bench fuzz demo clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

test:
	$(GO) vet ./...
	$(GO) test $(RACE) -count=1 $(TESTFLAGS) ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

# The whole loop on this machine: sandbox provider and mail servers,
# evadmin, evmail and batchmail. Data in demo-data/ (wiped at each start).
DEMO_FLAGS ?=
demo: build
	$(BIN)/evadmin demo $(DEMO_FLAGS)

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
