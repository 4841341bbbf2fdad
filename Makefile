# srvctl — see README.md. `make demo` and `make test` work on a fresh Debian
# machine: they install what they need (as root) and then run.

GO          ?= go
BIN         := bin/srvctl
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT      ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS     := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# BIND for the DNS tests; Samba (an AD domain controller the tests provision
# and start on loopback), Kerberos and LDAP tools for the AD tests; systemd
# for systemd-analyze verify of the shipped units.
DEB_PACKAGES := bind9 bind9-dnsutils samba samba-ad-dc samba-ad-provision krb5-user winbind ldap-utils systemd
PREFIX      ?= /usr/local
DESTDIR     ?=
UNITDIR     ?= $(PREFIX)/lib/systemd/system
CONFDIR     ?= /etc/srvctl
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build test demo bench soak lint deps install uninstall clean

all: build

build: ## the srvctl binary in bin/
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/srvctl

# deps installs what the tests need when something is missing: named,
# nsupdate and dig; samba, samba-tool, kinit and ldapsearch;
# systemd-analyze. The tests start their own named and Samba DC on loopback;
# they never use a system one, so the services the packages bring are
# stopped and disabled (a system samba would hold the LDAP and Kerberos
# ports).
deps:
	@missing=; \
	for b in named nsupdate dig samba samba-tool kinit ldapsearch systemd-analyze; do \
		command -v $$b >/dev/null 2>&1 || [ -x /usr/sbin/$$b ] || missing="$$missing $$b"; \
	done; \
	if [ -z "$$missing" ]; then \
		: ; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "missing:$$missing; installing $(DEB_PACKAGES)"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DEB_PACKAGES) && \
		for s in samba-ad-dc smbd nmbd winbind; do \
			systemctl disable --now $$s >/dev/null 2>&1 || service $$s stop >/dev/null 2>&1 || true; \
		done; \
	else \
		echo "missing:$$missing: run 'sudo apt-get install -y $(DEB_PACKAGES)' (or run make as root)" >&2; \
		exit 1; \
	fi

test: deps ## every test, against a real named, with the race detector
	$(GO) test -race -count=1 ./...

demo: deps build ## a throwaway named with three zones: plan, apply, plan again
	$(GO) run ./internal/demo --srvctl ./$(BIN)

bench: deps build ## apply/plan on 1,000 and 5,000 zones vs nsupdate (see README)
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./internal/bench/

soak: deps build ## srvctl run on 5,000 zones, a tick every 3 s for 3 minutes: goroutines, fds, memory
	$(GO) test -run '^$$' -bench Soak -benchtime 1x -timeout 30m ./internal/bench/

# install puts the binary, the systemd units (for $(PREFIX)/bin/srvctl and
# $(CONFDIR)) and an example config (never over an existing one) in place.
# DESTDIR stages it for a package. It builds bin/srvctl only when missing,
# so `make build && sudo make install` works where root has no Go.
install:
	@[ -x $(BIN) ] || $(MAKE) build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/srvctl
	install -d -m 0755 $(DESTDIR)$(UNITDIR)
	for u in srvctl.service srvctl-apply.service srvctl-apply.timer; do \
		sed -e 's|/usr/local/bin/srvctl|$(PREFIX)/bin/srvctl|g' -e 's|/etc/srvctl/|$(CONFDIR)/|g' \
			deploy/systemd/$$u > $(DESTDIR)$(UNITDIR)/$$u && chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	[ -d $(DESTDIR)$(CONFDIR) ] || install -d -m 0755 $(DESTDIR)$(CONFDIR)
	install -m 0644 deploy/srvctl.example.yaml $(DESTDIR)$(CONFDIR)/srvctl.example.yaml
	@if [ ! -e $(DESTDIR)$(CONFDIR)/srvctl.yaml ]; then \
		install -m 0644 deploy/srvctl.example.yaml $(DESTDIR)$(CONFDIR)/srvctl.yaml; \
		echo "installed an example config: edit $(CONFDIR)/srvctl.yaml, then srvctl validate"; \
	fi
	@if [ -z "$(DESTDIR)" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
	@echo "the units load the key $(CONFDIR)/srvctl-corp.key, as the example config names it;"
	@echo "for your own keys: srvctl render systemd --dir /etc/systemd/system (after editing the config)"
	@echo "then enable one of: systemctl enable --now srvctl.service   (controller)"
	@echo "                    systemctl enable --now srvctl-apply.timer (one-shot, hourly)"

# uninstall removes the binary and the units; the config and keys under
# $(CONFDIR) and the probe history in /var/lib/srvctl are left for the
# administrator (the example is removed).
uninstall:
	-@if [ -z "$(DESTDIR)" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then \
		systemctl disable --now srvctl.service srvctl-apply.timer srvctl-apply.service 2>/dev/null; fi
	rm -f $(DESTDIR)$(PREFIX)/bin/srvctl
	rm -f $(DESTDIR)$(UNITDIR)/srvctl.service $(DESTDIR)$(UNITDIR)/srvctl-apply.service $(DESTDIR)$(UNITDIR)/srvctl-apply.timer
	rm -f $(DESTDIR)$(CONFDIR)/srvctl.example.yaml
	@if [ -z "$(DESTDIR)" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
	@echo "left in place: $(CONFDIR) (your config and keys) and /var/lib/srvctl (the probe history)"

lint: ## gofmt, go vet, staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

clean:
	rm -rf bin
