# Sluice's build, test and benchmark entry points. `make test` is what CI runs (.ci/run).
GO      ?= go
PKGS    ?= ./...
BIN     := bin/sluice

.PHONY: build test test-unit bench lint fmt clean

build:
	$(GO) build -o $(BIN) ./cmd/sluice

# lint: gofmt, go vet and staticcheck. staticcheck is a `tool` of go.mod (pinned there, fetched by the go
# command on first use; tools are not linked into the sluice binary).
lint:
	@out="$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

# test-unit runs everything against the in-process kfake cluster only (no broker, no emulators).
test-unit:
	$(GO) test -race -count=1 $(PKGS)

# test: the whole suite, real broker included (see scripts/test.sh).
test: lint
	SLUICE_TEST_PKGS="$(PKGS)" bash scripts/test.sh

# bench: the micro-benchmarks, then the end-to-end harness (pipe vs a bare franz-go loop; the real broker
# row needs SLUICE_KAFKA_PLAINTEXT, see README). Figures are ratios against a baseline of the same run.
# BenchmarkConnect adds Kafka Connect's FileStreamSink (java; jars fetched once by scripts/connect/ctl.sh).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./pattern/... ./transform/... ./internal/...
	$(GO) test -run '^$$' -bench . -benchtime 100000x -timeout 30m ./bench

clean:
	rm -rf bin
