# raftcheck: a model checker for Raft and a Raft implementation it is replayed against.
GO ?= go
STATICCHECK = $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: test vet staticcheck fmt explore cluster cluster-stop

# The test command CI runs (.ci/run) and the README gives.
test: fmt vet staticcheck
	$(GO) test -race ./...
	# State-space tests skip themselves under -race; run them without it
	# (with the long TLC cross-check row).
	RAFTCHECK_LONG=1 $(GO) test ./model/... ./cmd/... ./traces/...

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
