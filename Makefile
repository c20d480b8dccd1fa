# raftcheck: a model checker for Raft and a Raft implementation it is replayed against.
GO ?= go
STATICCHECK = $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: test test-deps vet staticcheck fmt explore cluster cluster-stop coverage torture bench-etcd bench-recording

# The test command CI runs (.ci/run) and the README gives. On a machine with
# only Go, make and git it first installs what the tests need (test-deps).
# The suites run with the core's fault switches compiled in (-tags
# raftfaults: impl/README.md), so that the seeded bugs replay; vet and
# staticcheck check both builds, and the production build (no fault
# switches) is built and its impl/ and raftkv tests run.
test: test-deps fmt vet staticcheck
	$(GO) vet -tags raftfaults ./...
	$(STATICCHECK) -tags raftfaults ./...
	$(GO) test -race -tags raftfaults ./...
	# State-space tests skip themselves under -race; run them without it
	# (with the long TLC cross-check row).
	RAFTCHECK_LONG=1 $(GO) test -tags raftfaults ./model/... ./cmd/... ./traces/... ./conform/...
	# The production build: without the tag no fault can be switched on.
	$(GO) build ./...
	$(GO) test ./impl/... ./cmd/raftkv
	$(GO) test -run 'TestFaultsNeedTheBuildTag' ./cmd/explore

# A C compiler for -race and Chromium for the viewer's browser tests:
# installed with apt-get when missing (as root), or one line saying what to
# install.
test-deps:
	@scripts/test-deps.sh

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	$(STATICCHECK) ./...

# The main job on its embedded default configuration.
explore:
	$(GO) run ./cmd/explore check

# A three-server raftkv cluster on loopback, in the background (scripts/cluster.sh).
cluster:
	GO=$(GO) scripts/cluster.sh

cluster-stop:
	scripts/cluster.sh stop

# The statements of impl/raft that model-based conformance executes (the
# conformance, replay and rapid differential tests of make test).
coverage:
	$(GO) test -tags raftfaults -coverpkg=./impl/raft -coverprofile=coverage.out ./conform/implcluster ./traces
	$(GO) tool cover -func=coverage.out | tail -1

# The fault-injection harness on a 3-server raftkv cluster, every fault
# kind, 20 s (cmd/raftkv-torture; README "Checking a real run").
torture:
	$(GO) run ./cmd/raftkv-torture --servers 3 --duration 20s --out .torture

# raftkv's core side by side with etcd raft (go.etcd.io/raft/v3, same WAL,
# same transport design, same kv.Server), rounds interleaved; a module of
# its own (bench/), so neither CI nor `go test ./...` runs it (README
# "Performance").
bench-etcd:
	cd bench && $(GO) run . -rounds 6 -duration 5s -systems raftkv,etcd

# raftkv with recording (--trace) off and on, rounds interleaved.
bench-recording:
	cd bench && $(GO) run . -rounds 6 -duration 5s -clients 16 -systems raftkv,raftkv-trace
