package checking

import (
	"fmt"
	"testing"

	"github.com/raftcheck/raftcheck/checker"
	"github.com/raftcheck/raftcheck/model"
)

// liveRun checks the liveness properties of cfg under fair.
func liveRun(t *testing.T, cfg model.Config, names []string, fair string, sym bool, workers int) *checker.Result[model.State, model.Action] {
	t.Helper()
	m := model.MustNew(cfg)
	f, err := ParseFair(fair)
	if err != nil {
		t.Fatal(err)
	}
	res, err := checker.Check[model.State, model.Action](Adapter{Model: m},
		WithLiveness(m, Properties(m, nil), names, f), checker.Options{Workers: workers, Symmetry: sym})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestLivenessExplore(t *testing.T) {
	for _, c := range []struct {
		cfg   model.Config
		names []string
	}{
		{model.Config{Servers: 3, MaxTerm: 5, MaxValues: 1, MaxMsgs: 3, MaxCopies: 1, MaxDrops: 1, MaxRestarts: 1, Timing: model.Timing{Timers: true, Synchrony: true}}, nil},
		{model.Config{Servers: 3, MaxTerm: 5, MaxValues: 1, MaxMsgs: 3, MaxCopies: 1, MaxDrops: 1, MaxRestarts: 1, Bug: "reset-timer-on-refused-vote", Timing: model.Timing{Timers: true, Synchrony: true}}, nil},
		{model.Config{Servers: 3, MaxTerm: 5, MaxValues: 1, MaxMsgs: 3, MaxCopies: 1, MaxDrops: 1, MaxRestarts: 1, Bug: "keep-vote-on-new-term", Timing: model.Timing{Timers: true, Synchrony: true}}, nil},
		{model.Config{Servers: 3, MaxTerm: 5, MaxValues: 2, MaxMsgs: 3, MaxCopies: 1, MaxDrops: 1, MaxRestarts: 1, MaxPartitions: 1, Timing: model.Timing{Timers: true, Synchrony: true}}, nil},
	} {
		sync := c.cfg
		res := liveRun(t, c.cfg, c.names, DefaultFair, true, 1)
		fmt.Printf("sync=%v distinct=%d complete=%v viol=%v\n", sync, res.Distinct, res.Complete, res.Violation != nil)
		for _, l := range res.Liveness {
			fmt.Printf("  %s checked=%v holds=%v states=%d\n", l.Name, l.Checked, l.Holds, l.States)
			if l.Violation != nil {
				fmt.Printf("   len %d loop %d: %v\n", l.Violation.Path.Len(), l.Violation.Loop, l.Violation.Err)
			}
		}
		if res.Violation != nil && res.Violation.Kind != checker.LivenessProperty {
			fmt.Printf("safety: %s %v\n", res.Violation.Property, res.Violation.Err)
		}
	}
}
