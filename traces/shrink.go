package traces

import (
	"fmt"
	"runtime"

	"github.com/raftcheck/raftcheck/checker"
	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/model/checking"
	"github.com/raftcheck/raftcheck/spec"
)

// Interesting decides whether a candidate trace still shows what is being
// shrunk (the same violation, the same divergence). Candidates carry only
// actions and captions. It returns the trace that shows it, which may be
// shorter than the candidate: a step the model cannot take any more (the
// delivery of a message whose sending step was removed) is skipped rather
// than failing the candidate, so one removal can take its consequences
// along.
type Interesting func(t *Trace) (*Trace, bool, error)

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
	test := func(steps []Step) ([]Step, bool, error) {
		stats.Candidates++
		kept, ok, err := still(with(steps))
		if !ok || err != nil {
			return nil, false, err
		}
		return kept.Steps, true, nil
	}
	steps, ok, err := test(t.Steps)
	if err != nil {
		return nil, stats, err
	}
	if !ok {
		return nil, stats, fmt.Errorf("the trace does not show the finding to begin with")
	}
	n := 2
	for len(steps) >= 2 {
		chunk := (len(steps) + n - 1) / n
		reduced := false
		for start := 0; start < len(steps); start += chunk {
			end := min(start+chunk, len(steps))
			kept, ok, err := test(append(append([]Step{}, steps[:start]...), steps[end:]...))
			if err != nil {
				return nil, stats, err
			}
			if ok {
				steps = kept
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

// ViolatesOnModel is the Interesting test for a model counterexample:
// replayed on the model of its configuration, skipping the steps that are
// not enabled, the candidate breaks property; the steps after the first
// violation are dropped.
func ViolatesOnModel(property string) Interesting {
	return func(t *Trace) (*Trace, bool, error) {
		kept, v, err := lenientReplay(t)
		if err != nil {
			return nil, false, err
		}
		return kept, v != nil && v.Breaks(property), nil
	}
}

// lenientReplay replays t's actions on the model, skipping those that are
// not enabled, and returns the trace of the steps taken up to the first
// property broken, and that violation (nil if none breaks).
func lenientReplay(t *Trace) (*Trace, *Violation, error) {
	m, err := model.New(t.Config)
	if err != nil {
		return nil, nil, fmt.Errorf("trace configuration: %w", err)
	}
	kept := *t
	kept.Steps = nil
	s := m.Init()
	var before, after spec.State
	m.View(&s, &after)
	for _, st := range t.Steps {
		next, err := m.Step(s, st.Action)
		if err != nil {
			// The message may have changed with an earlier removal (a
			// different term or log): take the one in flight between the
			// same servers, of the same type, if there is one.
			if st.Action, err = similar(st.Action, &after); err != nil {
				continue
			}
			if next, err = m.Step(s, st.Action); err != nil {
				continue
			}
		}
		s = next
		kept.Steps = append(kept.Steps, st)
		before = after.Clone()
		m.View(&s, &after)
		if v := firstBroken(&before, &st.Action, &after); v != nil {
			v.Step = len(kept.Steps)
			return &kept, v, nil
		}
	}
	return &kept, nil, nil
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
	return func(t *Trace) (*Trace, bool, error) {
		kept, err := enabledSteps(t)
		if err != nil {
			return nil, false, err
		}
		r, err := ReplayImpl(kept, ImplOptions{Faults: faults, Memory: true})
		if err != nil {
			return nil, false, err
		}
		if r.ModelFailure != "" || r.Divergence == nil || r.Divergence.Kind != kind {
			return nil, false, nil
		}
		kept.Steps = kept.Steps[:r.Divergence.Step]
		return kept, true, nil
	}
}

// enabledSteps returns t without the steps the model cannot take.
func enabledSteps(t *Trace) (*Trace, error) {
	m, err := model.New(t.Config)
	if err != nil {
		return nil, fmt.Errorf("trace configuration: %w", err)
	}
	kept := *t
	kept.Steps = nil
	s := m.Init()
	for _, st := range t.Steps {
		if next, err := m.Step(s, st.Action); err == nil {
			s = next
			kept.Steps = append(kept.Steps, st)
		}
	}
	return &kept, nil
}

// similar returns a with its message replaced by the first message in
// flight in s of the same type between the same servers.
func similar(a spec.Action, s *spec.State) (spec.Action, error) {
	if a.Message == nil {
		return a, fmt.Errorf("no message")
	}
	for _, f := range s.Network {
		m := f.Message
		if m.Type == a.Message.Type && m.From == a.Message.From && m.To == a.Message.To {
			a.Message = &m
			return a, nil
		}
	}
	return a, fmt.Errorf("no similar message in flight")
}

// ShortestViolation looks for a counterexample of property with at most
// maxSteps steps at cfg's bounds by breadth-first search, exploring at most
// budget distinct states. It returns the shortest one, completed and
// titled, or nil when there is none within the steps or the budget ran out
// first. After Shrink, it makes a trace as short as breadth-first search
// makes it whenever that is within reach.
func ShortestViolation(cfg model.Config, property string, maxSteps int, budget int64) (*Trace, error) {
	if maxSteps < 1 {
		return nil, nil
	}
	m, err := model.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("trace configuration: %w", err)
	}
	res, err := checker.Check[model.State, model.Action](checking.Adapter{Model: m}, checking.Properties(m, []string{property}),
		checker.Options{Workers: runtime.NumCPU(), Symmetry: true, MaxDepth: maxSteps + 1, MaxStates: budget})
	if err != nil {
		return nil, fmt.Errorf("searching for a shorter counterexample: %w", err)
	}
	if res.Violation == nil {
		return nil, nil
	}
	t := FromPath(m, &res.Violation.Path, res.Violation, Producer{Tool: "explore shrink", Strategy: "bfs"})
	// The search watched this property only: on its path another may break
	// first, and then the path is a counterexample of that one instead.
	if err := Complete(t); err != nil {
		return nil, err
	}
	if !t.Violation.Breaks(property) {
		return nil, nil
	}
	return t, nil
}
