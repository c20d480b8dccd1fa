package implcluster

import (
	"sync"
	"testing"

	"github.com/raftcheck/raftcheck/conform"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/spec"
)

// snapshotCounts counts, over every system a factory built, the snapshot
// steps the implementation took: Compact actions, InstallSnapshot
// messages delivered, and restarts of a server holding a snapshot. A
// snapshot conformance run that took none of them compared nothing of the
// implementation's snapshot code.
type snapshotCounts struct {
	mu                         sync.Mutex
	compacts, installs, resume int
}

// counting wraps f so that every system it builds counts into c.
func (c *snapshotCounts) counting(f conform.Factory) conform.Factory {
	return func(s conform.Setup) (conform.System, error) {
		sys, err := f(s)
		if err != nil {
			return nil, err
		}
		return &countingSystem{sys.(*system), c}, nil
	}
}

type countingSystem struct {
	*system
	c *snapshotCounts
}

func (s *countingSystem) Apply(a spec.Action) error {
	snapped := a.Kind == spec.Restart && s.State().Servers[a.Server-1].SnapshotIndex > 0
	if err := s.system.Apply(a); err != nil {
		return err
	}
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	switch {
	case a.Kind == spec.Compact:
		s.c.compacts++
	case a.Kind == spec.Deliver && a.Message.Type == spec.InstallSnapshot:
		s.c.installs++
	case snapped:
		s.c.resume++
	}
	return nil
}

// TestConformSnapshots: with snapshots on (one Compact per run), every
// path up to a depth that reaches installed snapshots replays on the implementation identically — views with the
// snapshot's entries and index, InstallSnapshot messages, stable storage
// and servers restarting from their snapshots — and so do random walks
// at three and five servers on the real write-ahead log. The counts are
// pinned, and the implementation's snapshot steps counted.
func TestConformSnapshots(t *testing.T) {
	// The first snapshot is installed at step 10 (elect, propose,
	// replicate to one follower, commit, compact, heartbeat, deliver),
	// with four messages in flight; one value keeps it short. Under -race
	// the run without restarts.
	cfg := model.Config{Servers: 3, MaxTerm: 2, MaxValues: 1, MaxMsgs: 4, MaxCopies: 1, MaxRestarts: 1, MaxSnapshots: 1}
	paths, steps := 100425, 923457
	if raceEnabled {
		cfg.MaxRestarts, paths, steps = 0, 33465, 307455
	}
	var n snapshotCounts
	res, err := conform.Run(conform.Options{Config: cfg, Depth: 10, System: n.counting(memory)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Divergence != nil {
		t.Fatalf("diverged: %v", res.Replay.Divergence.Lines())
	}
	if res.Paths != paths || res.Steps != steps || len(res.Vacuous(cfg)) != 0 || n.compacts == 0 || n.installs == 0 || (n.resume == 0) != raceEnabled {
		t.Fatalf("%d paths, %d steps (pinned %d, %d), vacuous %v, %d compactions, %d snapshots delivered, %d restarts from a snapshot",
			res.Paths, res.Steps, paths, steps, res.Vacuous(cfg), n.compacts, n.installs, n.resume)
	}
	t.Logf("depth 10: %d compactions, %d snapshots delivered, %d restarts from a snapshot", n.compacts, n.installs, n.resume)
	for _, cfg := range []model.Config{
		{Servers: 3, MaxTerm: 3, MaxValues: 3, MaxMsgs: 6, MaxCopies: 2, MaxRestarts: 2, MaxPartitions: 1, MaxDrops: 2, MaxDups: 1, MaxSnapshots: 2},
		{Servers: 5, MaxTerm: 3, MaxValues: 3, MaxMsgs: 8, MaxCopies: 2, MaxRestarts: 2, MaxPartitions: 1, MaxDrops: 2, MaxDups: 1, MaxSnapshots: 2},
	} {
		var n snapshotCounts
		res, err := conform.Run(conform.Options{Config: cfg, Walks: 100, Length: 100, Seed: 5, System: n.counting(Factory(Options{}))})
		if err != nil {
			t.Fatal(err)
		}
		if res.Divergence != nil {
			t.Fatalf("%d servers: diverged: %v", cfg.Servers, res.Replay.Divergence.Lines())
		}
		if res.Paths != 100 || len(res.Vacuous(cfg)) != 0 || n.compacts == 0 || n.installs == 0 {
			t.Fatalf("%d servers: %d paths, vacuous %v, %d compactions, %d snapshots delivered, %d restarts from a snapshot",
				cfg.Servers, res.Paths, res.Vacuous(cfg), n.compacts, n.installs, n.resume)
		}
		t.Logf("%d servers: %d steps, %d compactions, %d snapshots delivered", cfg.Servers, res.Steps, n.compacts, n.installs)
	}
	// With the conflict hint a follower's conflicting term may reach into
	// its snapshot: it hints the index before the term's first entry, as
	// the model's follower, which keeps the entries, does
	// (raft.SnapshotMeta.TermStart). Without that these walks diverge
	// (at step 86 of one of them: hint 1 instead of 0).
	cfg = model.Config{Servers: 5, MaxTerm: 4, MaxValues: 4, MaxMsgs: 10, MaxCopies: 2, MaxRestarts: 2, MaxPartitions: 1, MaxDrops: 2, MaxDups: 1, MaxSnapshots: 2,
		Features: spec.Features{ConflictHint: true, MaxInflight: 2}}
	walks := 2000
	if raceEnabled {
		walks = 200
	}
	res, err = conform.Run(conform.Options{Config: cfg, Walks: walks, Length: 150, Seed: 1, System: memory})
	if err != nil {
		t.Fatal(err)
	}
	if res.Divergence != nil {
		t.Fatalf("conflict hint: diverged: %v", res.Replay.Divergence.Lines())
	}
	if res.Paths != walks || len(res.Vacuous(cfg)) != 0 {
		t.Fatalf("conflict hint: %d paths, vacuous %v", res.Paths, res.Vacuous(cfg))
	}
}
