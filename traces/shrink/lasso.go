package shrink

import (
	"fmt"

	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/traces"
	"github.com/raftcheck/raftcheck/traces/replay"
)

// ShrinkLasso minimises a lasso (a liveness counterexample): first its
// prefix, then its cycle, each by delta debugging (Shrink), keeping a
// candidate only when it is still a lasso that violates the trace's
// property under its fairness: every step enabled, the loop closing, the
// cycle fair, no safety property broken (replay.CheckLasso). Steps of the
// prefix the model can no longer take are skipped (their consequences go
// with them); the cycle is replayed strictly, since a skipped step there
// would change where it leads.
func ShrinkLasso(t *traces.Trace) (*traces.Trace, Stats, error) {
	if !t.IsLasso() {
		return nil, Stats{}, fmt.Errorf("the trace is not a lasso (no loop)")
	}
	k := t.LoopStart()
	prefix, cycle := t.Steps[:k:k], t.Steps[k:]
	stats := Stats{From: len(t.Steps)}
	withPrefix := func(c *traces.Trace) (*traces.Trace, bool, error) {
		kept, ok, err := lassoHolds(t, c.Steps, cycle, true)
		return &traces.Trace{Steps: kept}, ok, err
	}
	if len(prefix) > 0 {
		p, ps, err := Shrink(stepsOnly(t, prefix), withPrefix)
		if err != nil {
			return nil, stats, fmt.Errorf("shrinking the prefix: %w", err)
		}
		prefix, stats.Candidates = p.Steps, ps.Candidates
	} else if _, ok, err := lassoHolds(t, nil, cycle, false); !ok || err != nil {
		return nil, stats, fmt.Errorf("the trace is not a violating lasso to begin with")
	}
	if len(cycle) > 1 {
		withCycle := func(c *traces.Trace) (*traces.Trace, bool, error) {
			_, ok, err := lassoHolds(t, prefix, c.Steps, false)
			return c, ok, err
		}
		c, cs, err := Shrink(stepsOnly(t, cycle), withCycle)
		if err != nil {
			return nil, stats, fmt.Errorf("shrinking the cycle: %w", err)
		}
		cycle = c.Steps
		stats.Candidates += cs.Candidates
	}
	out := *t
	out.Steps = append(append([]traces.Step{}, prefix...), cycle...)
	loop := len(prefix)
	out.Loop = &loop
	v := *t.Violation
	v.Step = len(out.Steps)
	out.Violation = &v
	stats.To = len(out.Steps)
	if _, ok, err := lassoHolds(t, prefix, cycle, false); !ok || err != nil {
		return nil, stats, fmt.Errorf("internal error: the shrunk lasso does not hold (%v)", err)
	}
	return &out, stats, nil
}

// stepsOnly is t with only steps (actions and captions), for Shrink.
func stepsOnly(t *traces.Trace, steps []traces.Step) *traces.Trace {
	c := *t
	c.Steps, c.Violation, c.Loop = nil, nil, nil
	for _, s := range steps {
		c.Steps = append(c.Steps, traces.Step{Action: s.Action, Caption: s.Caption})
	}
	return &c
}

// lassoHolds replays prefix then cycle on t's model and reports whether
// they form a lasso violating t's claim, with the prefix steps taken
// (lenient skips the prefix steps the model cannot take).
func lassoHolds(t *traces.Trace, prefix, cycle []traces.Step, lenient bool) ([]traces.Step, bool, error) {
	p, err := replay.NewStepper(t.Config)
	if err != nil {
		return nil, false, err
	}
	states := []model.State{p.State()}
	var kept []traces.Step
	for _, st := range prefix {
		o, err := p.Step(st.Action)
		if err != nil && lenient {
			continue
		}
		if err != nil || o.Broken != nil {
			return nil, false, nil
		}
		kept = append(kept, traces.Step{Action: st.Action, Caption: st.Caption})
		states = append(states, p.State())
	}
	for _, st := range cycle {
		o, err := p.Step(st.Action)
		if err != nil || o.Broken != nil {
			return nil, false, nil
		}
		states = append(states, p.State())
	}
	c := *t
	c.Steps = append(append([]traces.Step{}, kept...), cycle...)
	loop := len(kept)
	c.Loop = &loop
	return kept, len(replay.CheckLasso(&c, p.Model(), states)) == 0, nil
}
