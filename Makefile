# onemap — two commands: `make run` and `make test`. Both install what is missing first.
SWIFT ?= swift
HOST ?= 127.0.0.1
PORT ?= 8080
BIN := .build/release/onemap

.PHONY: run test build install uninstall bootstrap data bench bench-store bench-import bench-routing bench-tiles bench-region bench-print bench-serve bench-live clean

bootstrap:
	@scripts/bootstrap

build: bootstrap
	$(SWIFT) build -c release --product onemap

# No --db: the embedded default store (var/onemap.sqlite, or $$ONEMAP_DB), filled with the
# demonstration data on first start.
run: build
	$(BIN) serve --host $(HOST) --port $(PORT)

# Installs the program and what it ships (FHS): $(PREFIX)/bin/onemap and
# $(PREFIX)/share/onemap/{Styles,Web,GeoData}. It then runs from any folder; its default store
# is ~/.local/share/onemap/onemap.sqlite unless --db or ONEMAP_DB says otherwise.
PREFIX ?= /usr/local
SHARE := $(DESTDIR)$(PREFIX)/share/onemap
install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(SHARE)
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/onemap
	rm -rf $(SHARE)/Styles $(SHARE)/Web $(SHARE)/GeoData
	cp -R Styles Web GeoData $(SHARE)/
	@echo "installed $(DESTDIR)$(PREFIX)/bin/onemap and $(SHARE)"

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/bin/onemap $(SHARE)

# The Swift tests, then Schemathesis against a throw-away server (alone: it keeps a core busy).
test: bootstrap
	$(SWIFT) test
	scripts/api-conformance --serve .build/debug/onemap

# Regenerates GeoData/ from the deterministic generator (the output is committed).
data:
	python3 scripts/generate_demo_data.py

bench: bench-store bench-import bench-routing bench-tiles bench-region bench-print bench-serve bench-live

bench-store: build
	Benchmarks/store.sh

bench-import: build
	Benchmarks/import.sh

bench-routing: build
	Benchmarks/routing.sh

clean:
	rm -rf .build var

bench-tiles: build
	Benchmarks/tiles.sh

bench-region: build
	Benchmarks/region.sh

bench-serve: build
	Benchmarks/serve.sh

bench-print: build
	Benchmarks/print.sh

bench-live: build
	Benchmarks/live.sh
