package traces

import (
	"fmt"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/spec"
)

// Interesting decides whether a candidate trace still shows what is being
// shrunk (the same violation, the same divergence). Candidates carry only
// actions and captions.
type Interesting func(t *Trace) (bool, error)

// ShrinkStats counts the work of a shrink.
type ShrinkStats struct {
	Candidates int // candidate traces checked
	From, To   int // steps before and after
}

// Shrink minimises t by delta debugging over its steps (Zeller's ddmin):
// it removes ever smaller chunks of steps, keeping a candidate whenever it
// is still interesting, until no single step can be removed. Every
// candidate is re-checked from scratch, so the result is a valid trace that
// is still interesting and 1-minimal: removing any one step loses the
// finding.
func Shrink(t *Trace, still Interesting) (*Trace, ShrinkStats, error) {
	stats := ShrinkStats{From: len(t.Steps)}
	with := func(steps []Step) *Trace {
		c := *t
		c.Steps = make([]Step, len(steps))
		for i, s := range steps {
			c.Steps[i] = Step{Action: s.Action, Caption: s.Caption}
		}
		c.Violation = nil
		return &c
	}
	test := func(steps []Step) (bool, error) {
		stats.Candidates++
		return still(with(steps))
	}
	ok, err := test(t.Steps)
	if err != nil {
		return nil, stats, err
	}
	if !ok {
		return nil, stats, fmt.Errorf("the trace does not show the finding to begin with")
	}
	steps := t.Steps
	n := 2
	for len(steps) >= 2 {
		chunk := (len(steps) + n - 1) / n
		reduced := false
		for start := 0; start < len(steps); start += chunk {
			end := min(start+chunk, len(steps))
			cand := append(append([]Step{}, steps[:start]...), steps[end:]...)
			ok, err := test(cand)
			if err != nil {
				return nil, stats, err
			}
			if ok {
				steps = cand
				n = max(n-1, 2)
				reduced = true
				break
			}
		}
		if !reduced {
			if n >= len(steps) {
				break
			}
			n = min(2*n, len(steps))
		}
	}
	stats.To = len(steps)
	return with(steps), stats, nil
}

// ViolatesOnModel is the Interesting test for a model counterexample: the
// candidate's steps are all enabled on the model of its configuration and
// property breaks at one of them.
func ViolatesOnModel(property string) Interesting {
	return func(t *Trace) (bool, error) {
		v, err := firstViolation(t)
		if err != nil {
			return false, err
		}
		return v != nil && v.Breaks(property), nil
	}
}

// firstViolation replays t's actions on the model and returns the first
// property broken, or nil when none breaks or a step is not enabled.
func firstViolation(t *Trace) (*Violation, error) {
	m, err := model.New(t.Config)
	if err != nil {
		return nil, fmt.Errorf("trace configuration: %w", err)
	}
	s := m.Init()
	var before, after spec.State
	m.View(&s, &after)
	for i, st := range t.Steps {
		next, err := m.Step(s, st.Action)
		if err != nil {
			return nil, nil
		}
		s = next
		before = after.Clone()
		m.View(&s, &after)
		if v := firstBroken(&before, &st.Action, &after); v != nil {
			v.Step = i + 1
			return v, nil
		}
	}
	return nil, nil
}

// Complete re-records a trace's model states and its violation by
// replaying it on the model: the steps after the first violation are cut
// off, the violation is recorded with its step, and every step gets the
// model's state after it.
func Complete(t *Trace) error {
	m, err := model.New(t.Config)
	if err != nil {
		return fmt.Errorf("trace configuration: %w", err)
	}
	s := m.Init()
	var before, after spec.State
	m.View(&s, &after)
	t.Violation = nil
	for i := range t.Steps {
		st := &t.Steps[i]
		next, err := m.Step(s, st.Action)
		if err != nil {
			return fmt.Errorf("step %d: %w", i+1, err)
		}
		s = next
		before = after.Clone()
		m.View(&s, &after)
		rec := after.Clone()
		st.State = &rec
		if v := firstBroken(&before, &st.Action, &after); v != nil {
			v.Step = i + 1
			t.Violation = v
			t.Steps = t.Steps[:i+1]
			return nil
		}
	}
	return nil
}

// DivergesOnImpl is the Interesting test for a divergence: the candidate
// replays on the model and diverges on the implementation (with the given
// fault switches) with the same kind of divergence.
func DivergesOnImpl(kind string, faults raft.Faults) Interesting {
	return func(t *Trace) (bool, error) {
		r, err := ReplayImpl(t, ImplOptions{Faults: faults})
		if err != nil {
			return false, err
		}
		return r.ModelFailure == "" && r.Divergence != nil && r.Divergence.Kind == kind, nil
	}
}
