package implcluster

import (
	"flag"
	"math/rand/v2"
	"testing"

	"github.com/raftcheck/raftcheck/conform"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/traces"
)

var tickSeed = flag.Uint64("tick.seed", 1, "seed of TestTicksConform's walks")

// TestTicksConform: with the model's timers on (model.Timing.Timers, no
// synchrony) and the cores' timers driven as the model's
// (cluster.Options.Timers), random walks of the model — Ticks, Timeouts
// only on expired timers, the resets on votes, AppendEntries, elections
// and restarts — replay on the implementation step by step with every
// state equal: its Tick and reset rules are the model's.
func TestTicksConform(t *testing.T) {
	t.Logf("seed %d (rerun: go test ./conform/implcluster -run TestTicksConform -tick.seed=%[1]d)", *tickSeed)
	cfg := model.Config{Servers: 3, MaxTerm: 3, MaxValues: 2, MaxMsgs: 3, MaxCopies: 1, MaxRestarts: 1, MaxDrops: 1,
		Timing: model.Timing{Timers: true}}
	if walk, step := tickWalks(t, cfg); walk >= 0 {
		t.Fatalf("walk %d diverges at step %d", walk, step)
	}
	// The control: a model whose timer also restarts on a refused vote
	// (the seeded bug) is caught by the same walks.
	cfg.Bug = "reset-timer-on-refused-vote"
	if walk, _ := tickWalks(t, cfg); walk < 0 {
		t.Fatalf("the walks do not tell the implementation from a model with another reset rule")
	}
}

// tickWalks replays random walks of cfg's model on the implementation
// with the model's timers and returns the first walk that diverges and
// the step, or -1.
func tickWalks(t *testing.T, cfg model.Config) (int, int) {
	t.Helper()
	m := model.MustNew(cfg)
	sys := Factory(Options{Memory: true, Timers: model.ElectionTicks})
	rng := rand.New(rand.NewPCG(*tickSeed, 0))
	ticks, timeouts := 0, 0
	for walk := range 100 {
		tr := traces.New(cfg, traces.Producer{Tool: "TestTicksConform"})
		s := m.Init()
		for range 40 {
			acts := m.Actions(&s, nil)
			if len(acts) == 0 {
				break
			}
			a := acts[rng.IntN(len(acts))]
			spec := m.SpecAction(&s, a)
			if !m.Next(&s, a, &s) {
				t.Fatalf("walk %d: %v not enabled", walk, spec)
			}
			ticks += b2i(spec.Kind.String() == "Tick")
			timeouts += b2i(spec.Kind.String() == "Timeout")
			tr.Steps = append(tr.Steps, traces.Step{Action: spec})
		}
		r, err := conform.Replay(tr, sys, conform.Exact)
		if err != nil {
			t.Fatal(err)
		}
		if r.Divergence != nil {
			t.Logf("%s: walk %d diverges at step %d: %v", cfg.Bug, walk, r.Divergence.Step, r.Divergence.Kind)
			return walk, r.Divergence.Step
		}
	}
	if ticks == 0 || timeouts == 0 {
		t.Fatalf("the walks took %d ticks and %d timeouts: nothing was compared", ticks, timeouts)
	}
	t.Logf("%d ticks and %d timeouts replayed in step", ticks, timeouts)
	return -1, 0
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
