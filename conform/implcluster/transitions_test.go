package implcluster

import (
	"errors"
	"sync"
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
	// The membership bugs need membership changes and a joiner: a change
	// proposed before the leader's first commit (refused by the model), a
	// RequestVote to the joiner, a second change in flight, a heartbeat
	// that leaves out the member just added.
	"reconfig-before-term-commit": smallMembership,
	"count-nonmember-votes":       smallMembership,
	"concurrent-reconfigs":        {Servers: 3, Joiners: 1, MaxReconfigs: 2, MaxTerm: 1, MaxValues: 1, MaxMsgs: 2, MaxCopies: 1},
	"config-on-commit":            smallMembership,
}

// notForbidden are the mirrored bugs whose fault switch only accepts what
// the model refuses, a membership change whose guard does not hold:
// model.Forbidden does not list refused membership changes, so
// transition conformance never offers them to the implementation (the
// model never takes them either, so path conformance cannot see them).
// Their counterexample traces, taken with the model's bug, catch them
// (traces.TestBugTracesOnImpl).
var notForbidden = map[string]string{
	"reconfig-before-term-commit": "a change before the leader's first commit",
	"concurrent-reconfigs":        "a change while another is uncommitted",
}

// smallMembership is smallTransitions with one membership change and a
// joiner, without the crash and the partition: every transition in
// about a second.
var smallMembership = model.Config{Servers: 3, Joiners: 1, MaxReconfigs: 1, MaxTerm: 2, MaxValues: 1, MaxMsgs: 2, MaxCopies: 1, MaxDrops: 1}

// TestTransitionsMembership: every transition with membership changes
// on — AddServer of the joiner, RemoveServer of any member, the leader
// included, each guard refused where the model refuses it — conforms
// exactly, restored with configuration entries in the cores' logs and
// storage, with and without a crash; the counts are pinned, and the
// implementation is counted taking both kinds of change and a removed
// leader stepping down.
func TestTransitionsMembership(t *testing.T) {
	if raceEnabled {
		t.Skip("state-space test: make test runs it without -race")
	}
	withRestart := smallMembership
	withRestart.MaxRestarts = 1
	for _, tc := range []struct {
		cfg                 model.Config
		states, transitions int64
	}{
		{smallMembership, 9424, 20852},
		{withRestart, 52459, 150698},
	} {
		var n memberCounts
		res, err := conform.Transitions(conform.TransitionOptions{Config: tc.cfg, System: n.counting(memory), Abstraction: conform.Exact, Workers: 2, Symmetry: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Divergence != nil {
			t.Fatalf("%v: diverged (restore only %v): %v", tc.cfg, res.RestoreOnly, res.Replay.Divergence)
		}
		if res.Explored.Verdict() != checker.VerdictOK || res.Explored.Distinct != tc.states || res.Explored.Generated != tc.transitions ||
			n.adds == 0 || n.removes == 0 || n.removedLeaders == 0 {
			t.Fatalf("%v: complete %v, %d states, %d transitions (pinned %d, %d); %d AddServer, %d RemoveServer, %d removed leaders stepping down",
				tc.cfg, res.Explored.Complete, res.Explored.Distinct, res.Explored.Generated, tc.states, tc.transitions, n.adds, n.removes, n.removedLeaders)
		}
		t.Logf("%v: %d AddServer, %d RemoveServer, %d removed leaders stepping down", tc.cfg, n.adds, n.removes, n.removedLeaders)
	}
}

// memberCounts counts, over every system a factory built, the membership
// changes the implementation took and the removed leaders that stepped
// down (a step after which a leader outside its configuration is a
// follower).
type memberCounts struct {
	mu                            sync.Mutex
	adds, removes, removedLeaders int
	kinds                         map[spec.ActionKind]int // every membership change taken
}

func (c *memberCounts) counting(f conform.Factory) conform.Factory {
	return func(s conform.Setup) (conform.System, error) {
		sys, err := f(s)
		if err != nil {
			return nil, err
		}
		return &memberCountingSystem{sys.(*system), c}, nil
	}
}

type memberCountingSystem struct {
	*system
	c *memberCounts
}

func (s *memberCountingSystem) Apply(a spec.Action) error {
	before := s.State().Servers
	if err := s.system.Apply(a); err != nil {
		return err
	}
	after := s.State().Servers
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	switch a.Kind {
	case spec.AddServer:
		s.c.adds++
	case spec.RemoveServer:
		s.c.removes++
	}
	switch a.Kind {
	case spec.AddServer, spec.RemoveServer, spec.AddLearner, spec.EnterJoint, spec.LeaveJoint:
		if s.c.kinds == nil {
			s.c.kinds = map[spec.ActionKind]int{}
		}
		s.c.kinds[a.Kind]++
	}
	for i := range before {
		v := &after[i]
		if a.Kind != spec.Restart && before[i].Role == spec.Leader && v.Role == spec.Follower && v.Term == before[i].Term &&
			!spec.ConfigOf(v.Log, spec.AllServers(3)).Has(v.ID) {
			s.c.removedLeaders++
		}
	}
	return nil
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
		if why, blind := notForbidden[bug]; blind {
			// Pinned blind spot: when the model lists these refusals,
			// this fails and the bug moves to the checked ones.
			if res.Divergence != nil {
				t.Errorf("%s: now caught by transition conformance (at step %d): drop it from notForbidden", bug, len(res.Divergence.Steps))
			}
			t.Logf("%s: not caught by transition conformance (%s); TestBugTracesOnImpl catches it", bug, why)
			continue
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

// TestTransitionsJointAndLearners: every transition with joint consensus
// (EnterJoint to any other set of servers, LeaveJoint) and with learners
// (AddLearner, AddServer of a caught-up learner) conforms exactly, the
// cores waiting for a response in one-voter configurations as the model
// does (Options.SoleVoterWaits); the counts are pinned.
func TestTransitionsJointAndLearners(t *testing.T) {
	if raceEnabled {
		t.Skip("state-space test: make test runs it without -race")
	}
	if !raft.FaultsCompiled {
		t.Skipf("needs the model's one-voter behaviour, a fault switch: go test -tags %s", raft.BuildTag)
	}
	sys := Factory(Options{Memory: true, SoleVoterWaits: true})
	for _, tc := range []struct {
		cfg                 model.Config
		states, transitions int64
		taken               []spec.ActionKind // changes the implementation must have taken
	}{
		{model.Config{Servers: 3, MaxReconfigs: 1, Reconfig: "joint", MaxTerm: 2, MaxValues: 1, MaxMsgs: 2, MaxCopies: 1, MaxDrops: 1}, 21410, 46243,
			[]spec.ActionKind{spec.EnterJoint, spec.LeaveJoint}},
		{model.Config{Servers: 3, Joiners: 1, MaxReconfigs: 2, Learners: true, MaxTerm: 2, MaxValues: 1, MaxMsgs: 3, MaxCopies: 1}, 365121, 1072493,
			[]spec.ActionKind{spec.AddLearner, spec.AddServer, spec.RemoveServer}},
	} {
		var n memberCounts
		res, err := conform.Transitions(conform.TransitionOptions{Config: tc.cfg, System: n.counting(sys), Abstraction: conform.Exact, Workers: 2, Symmetry: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Divergence != nil {
			t.Fatalf("%v: diverged (restore only %v): %v", tc.cfg, res.RestoreOnly, res.Replay.Divergence)
		}
		t.Logf("%v: %d states, %d transitions; %+v", tc.cfg, res.Explored.Distinct, res.Explored.Generated, n.kinds)
		for _, k := range tc.taken {
			if n.kinds[k] == 0 {
				t.Errorf("%v: the implementation took no %v", tc.cfg, k)
			}
		}
		if res.Explored.Verdict() != checker.VerdictOK || res.Explored.Distinct != tc.states || res.Explored.Generated != tc.transitions {
			t.Fatalf("%v: complete %v, %d states, %d transitions (pinned %d, %d)", tc.cfg, res.Explored.Complete,
				res.Explored.Distinct, res.Explored.Generated, tc.states, tc.transitions)
		}
	}
}
