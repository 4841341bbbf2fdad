# srvctl — see README.md. `make demo` and `make test` work on a fresh Debian
# machine: they install what they need (as root) and then run.

GO          ?= go
BIN         := bin/srvctl
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT      ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS     := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
DEB_PACKAGES := bind9 bind9-dnsutils
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build test demo bench lint deps clean

all: build

build: ## the srvctl binary in bin/
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/srvctl

# deps installs BIND (named, nsupdate, dig, tsig-keygen) when it is missing.
# The tests start their own named on loopback; they never use a system one.
deps:
	@if command -v named >/dev/null 2>&1 || [ -x /usr/sbin/named ]; then \
		: ; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing $(DEB_PACKAGES)"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DEB_PACKAGES); \
	else \
		echo "named is missing: run 'sudo apt-get install -y $(DEB_PACKAGES)' (or run make as root)" >&2; \
		exit 1; \
	fi

test: deps ## every test, against a real named, with the race detector
	$(GO) test -race -count=1 ./...

demo: deps build ## a throwaway named with three zones: plan, apply, plan again
	$(GO) run ./internal/demo --srvctl ./$(BIN)

bench: deps build ## apply/plan on 1,000 and 5,000 zones vs nsupdate (see README)
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./internal/bench/

lint: ## gofmt, go vet, staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

clean:
	rm -rf bin
