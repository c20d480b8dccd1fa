package shrink

import (
	"testing"

	"github.com/raftcheck/raftcheck/checker"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/model/checking"
	"github.com/raftcheck/raftcheck/traces"
	"github.com/raftcheck/raftcheck/traces/replay"
)

// TestShrinkRandomWalk: counterexamples of random walks are long; shrinking
// brings them down to, or close to, the length breadth-first search finds
// (pinned here for seed 1), and the result replays on the model with the
// violation recorded.
func TestShrinkRandomWalk(t *testing.T) {
	// Lengths after delta debugging, then after the breadth-first search
	// for a shorter violation of the same property (explore shrink's second
	// phase).
	pinned := map[string][2]int{"vote-without-log-check": {12, 12}, "stay-leader-on-higher-term": {7, 6}, "truncate-on-stale-append": {22, 17}}
	for name, lengths := range pinned {
		want := lengths[0]
		bug, ok := model.LookupBug(name)
		if !ok {
			t.Fatal(name)
		}
		cfg := bug.Bounds
		cfg.Bug = name
		m := model.MustNew(cfg)
		res, err := checker.Check[model.State, model.Action](checking.Adapter{Model: m}, checking.Properties(m, nil),
			checker.Options{Strategy: checker.Random, Workers: 1, Walks: 1000, MaxDepth: 100, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if res.Violation == nil {
			t.Fatalf("%s: random walks found nothing", name)
		}
		long := replay.FromPath(m, &res.Violation.Path, res.Violation, traces.Producer{Tool: "test"})
		small, stats, err := Shrink(long, ViolatesOnModel(res.Violation.Property))
		if err != nil {
			t.Fatal(err)
		}
		b, err := replay.Complete(small)
		if err != nil {
			t.Fatal(err)
		}
		if len(small.Steps) != want || stats.To != len(small.Steps) || small.Violation == nil || !b.Breaks(res.Violation.Property) {
			t.Fatalf("%s: %d steps shrunk to %d, pinned %d (BFS: %d), violation %+v", name, len(long.Steps), len(small.Steps), want, bug.MaxLength, small.Violation)
		}
		r, err := replay.Model(small)
		if err != nil || !r.OK() {
			t.Fatalf("%s: the shrunk trace does not replay: %v %v", name, err, r.Failures)
		}
		final := small
		shorter, err := ShortestViolation(small.Config, res.Violation.Property, len(small.Steps)-1, 2_000_000)
		if err != nil {
			t.Fatal(err)
		}
		if shorter != nil {
			final = shorter
		}
		if len(final.Steps) != lengths[1] {
			t.Fatalf("%s: breadth-first search gives %d steps, pinned %d", name, len(final.Steps), lengths[1])
		}
		if r, err := replay.Model(final); err != nil || !r.OK() {
			t.Fatalf("%s: the searched trace does not replay: %v %v", name, err, r.Failures)
		}
		t.Logf("%s: %d steps -> %d (%d candidates) -> %d", name, stats.From, stats.To, stats.Candidates, len(final.Steps))
	}
}
