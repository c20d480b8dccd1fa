package implcluster

import (
	"errors"
	"testing"

	"github.com/raftcheck/raftcheck/checker"
	"github.com/raftcheck/raftcheck/conform"
	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/spec"
)

// smallTransitions is a configuration whose every transition is compared
// in about a second: three servers, two terms, one value, two messages in
// flight, one crash, one drop, one partition.
var smallTransitions = model.Config{Servers: 3, MaxTerm: 2, MaxValues: 1, MaxMsgs: 2, MaxCopies: 1, MaxRestarts: 1, MaxDrops: 1, MaxPartitions: 1}

// TestTransitions: the implementation is restored to every reachable state
// of a small configuration and takes every transition out of it, with
// stable storage compared too; it conforms exactly, and the counts are
// pinned.
func TestTransitions(t *testing.T) {
	if raceEnabled {
		t.Skip("state-space test: make test runs it without -race")
	}
	conformsOnSmall(t, memory)
}

// conformsOnSmall checks that sys takes every transition of
// smallTransitions exactly as the model does, and pins the counts.
func conformsOnSmall(t *testing.T, sys conform.Factory) {
	t.Helper()
	res, err := conform.Transitions(conform.TransitionOptions{Config: smallTransitions, System: sys, Abstraction: conform.Exact, Workers: 2, Symmetry: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Divergence != nil {
		t.Fatalf("diverged (restore only %v): %v", res.RestoreOnly, res.Replay.Divergence)
	}
	if res.Explored.Verdict() != checker.VerdictOK || res.Explored.Distinct != 26427 || res.Explored.Generated != 79428 {
		t.Fatalf("complete %v, %d states, %d transitions", res.Explored.Complete, res.Explored.Distinct, res.Explored.Generated)
	}
}

// TestTransitionsSnapshots: every transition of the small configuration
// with one snapshot per run, restored with the snapshot in the core and in
// storage, conforms exactly — compactions, InstallSnapshot sent and
// installed, restarts from a snapshot; the counts are pinned.
func TestTransitionsSnapshots(t *testing.T) {
	if raceEnabled {
		t.Skip("state-space test: make test runs it without -race")
	}
	cfg := smallTransitions
	cfg.MaxSnapshots = 1
	res, err := conform.Transitions(conform.TransitionOptions{Config: cfg, System: memory, Abstraction: conform.Exact, Workers: 2, Symmetry: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Divergence != nil {
		t.Fatalf("diverged (restore only %v): %v", res.RestoreOnly, res.Replay.Divergence)
	}
	reached := map[string]bool{}
	for _, g := range res.Explored.Goals {
		reached[g.Name] = g.Reached
	}
	if res.Explored.Verdict() != checker.VerdictOK || res.Explored.Distinct != 55723 || res.Explored.Generated != 189671 ||
		!reached["snapshot-taken"] || !reached["snapshot-installed"] {
		t.Fatalf("complete %v, %d states, %d transitions, goals %v", res.Explored.Complete, res.Explored.Distinct, res.Explored.Generated, reached)
	}
}

// faultBounds are the configurations where transition conformance finds
// the mirrored bugs that smallTransitions does not reach: a stale
// commit index needs two values, a commit beyond the new entries three
// terms and a bounded batch, the snapshot bugs a snapshot.
var faultBounds = map[string]model.Config{
	"commit-from-leadercommit": {Servers: 3, MaxTerm: 2, MaxValues: 2, MaxMsgs: 2, MaxCopies: 1, MaxDrops: 1},
	"commit-to-last-index":     {Servers: 3, MaxTerm: 3, MaxValues: 2, MaxMsgs: 3, MaxCopies: 1, Features: spec.Features{MaxBatch: 1}},
	// A snapshot installed over a log holding its last index: with
	// another term there and an entry after it (three values), or with
	// the same term.
	"snapshot-keeps-conflicting-suffix": {Servers: 3, MaxTerm: 2, MaxValues: 3, MaxMsgs: 3, MaxCopies: 1, MaxDrops: 1, MaxSnapshots: 1},
	"snapshot-discards-matching-suffix": {Servers: 3, MaxTerm: 2, MaxValues: 2, MaxMsgs: 3, MaxCopies: 1, MaxDrops: 1, MaxSnapshots: 1},
}

// TestTransitionsCatchFaults: every mirrored seeded bug of the core is
// found by transition conformance, as a divergence that also shows when
// its shortest path is replayed (not only after a restore).
func TestTransitionsCatchFaults(t *testing.T) {
	if raceEnabled {
		t.Skip("state-space test: make test runs it without -race")
	}
	if !raft.FaultsCompiled {
		t.Skipf("needs the fault switches: go test -tags %s", raft.BuildTag)
	}
	for _, bug := range FaultNames {
		faults, err := FaultsFor([]string{bug})
		if err != nil {
			t.Fatal(err)
		}
		cfg, ok := faultBounds[bug]
		if !ok {
			cfg = smallTransitions
		}
		res, err := conform.Transitions(conform.TransitionOptions{Config: cfg, System: Factory(Options{Faults: faults, Memory: true}), Abstraction: conform.Exact, Workers: 2, Symmetry: true})
		if err != nil {
			t.Fatalf("%s: %v", bug, err)
		}
		if res.Divergence == nil || res.RestoreOnly || res.Replay.Divergence == nil || res.Replay.Divergence.Step != len(res.Divergence.Steps) {
			t.Errorf("%s: no divergence confirmed by replay in %d transitions (restore only %v)", bug, res.Explored.Generated, res.RestoreOnly)
			continue
		}
		t.Logf("%s: diverges at step %d", bug, len(res.Divergence.Steps))
	}
}

// TestTransitionsClockAndBatching: with the timers driven by ticks of the
// cores' clocks (Timeout and Heartbeat as the runtime takes them) and
// proposal batching on, the implementation still takes every transition
// of the small configuration exactly as the model does, so the timer and
// batching code is under conformance too; the counts are those of
// TestTransitions.
func TestTransitionsClockAndBatching(t *testing.T) {
	if raceEnabled {
		t.Skip("state-space test: make test runs it without -race")
	}
	conformsOnSmall(t, Factory(Options{Memory: true, Clock: true, ProposalBatch: 3}))
}

// lenient is the implementation with a gap in its refusals: it reports a
// Heartbeat on a follower or candidate as taken (changing nothing).
type lenient struct{ *system }

func (l lenient) Apply(a spec.Action) error {
	err := l.system.Apply(a)
	if a.Kind == spec.Heartbeat && errors.Is(err, conform.ErrNotEnabled) {
		return nil
	}
	return err
}

// TestTransitionsCatchAcceptedForbidden: every-transition conformance also
// offers each state's forbidden actions (model.Forbidden) and finds an
// implementation that does not refuse one, confirmed along the path, at
// the initial state.
func TestTransitionsCatchAcceptedForbidden(t *testing.T) {
	sys := func(s conform.Setup) (conform.System, error) {
		inner, err := memory(s)
		if err != nil {
			return nil, err
		}
		return lenient{inner.(*system)}, nil
	}
	res, err := conform.Transitions(conform.TransitionOptions{Config: smallTransitions, System: sys, Abstraction: conform.Exact, Workers: 2, Symmetry: true})
	if err != nil {
		t.Fatal(err)
	}
	want := spec.Action{Kind: spec.Heartbeat, Server: 1}
	if !res.Accepted || !res.Confirmed || res.Forbidden.String() != want.String() || len(res.Divergence.Steps) != 0 {
		t.Fatalf("accepted %v confirmed %v forbidden %v after %d steps: %v", res.Accepted, res.Confirmed, res.Forbidden, len(res.Divergence.Steps), res.Explored.Violation)
	}
}
