// Package shrink minimises traces: delta debugging over the steps of a
// trace that shows a finding (a violation on the model, a divergence of a
// system from the model), then, for a violation, a bounded breadth-first
// search for a shorter one of the same property.
package shrink

import (
	"fmt"
	"runtime"

	"github.com/raftcheck/raftcheck/checker"
	"github.com/raftcheck/raftcheck/conform"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/model/checking"
	"github.com/raftcheck/raftcheck/traces"
	"github.com/raftcheck/raftcheck/traces/replay"
)

// Interesting decides whether a candidate trace still shows what is being
// shrunk (the same violation, the same divergence). Candidates carry only
// actions and captions. It returns the trace that shows it, which may be
// shorter than the candidate: a step the model cannot take any more (the
// delivery of a message whose sending step was removed) is skipped rather
// than failing the candidate, so one removal can take its consequences
// along.
type Interesting func(t *traces.Trace) (*traces.Trace, bool, error)

// Stats counts the work of a shrink.
type Stats struct {
	Candidates int // candidate traces checked
	From, To   int // steps before and after
}

// Shrink minimises t by delta debugging over its steps (Zeller's ddmin):
// it removes ever smaller chunks of steps, keeping a candidate whenever it
// is still interesting, until no single step can be removed. Every
// candidate is re-checked from scratch, so the result is a valid trace that
// is still interesting and 1-minimal: removing any one step loses the
// finding.
func Shrink(t *traces.Trace, still Interesting) (*traces.Trace, Stats, error) {
	stats := Stats{From: len(t.Steps)}
	with := func(steps []traces.Step) *traces.Trace {
		c := *t
		c.Steps = make([]traces.Step, len(steps))
		for i, s := range steps {
			c.Steps[i] = traces.Step{Action: s.Action, Caption: s.Caption}
		}
		c.Violation = nil
		return &c
	}
	test := func(steps []traces.Step) ([]traces.Step, bool, error) {
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
			kept, ok, err := test(append(append([]traces.Step{}, steps[:start]...), steps[end:]...))
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
// not enabled (replay.Lenient), the candidate breaks property; the steps
// after the first violation are dropped.
func ViolatesOnModel(property string) Interesting {
	return func(t *traces.Trace) (*traces.Trace, bool, error) {
		kept, v, err := replay.Lenient(t)
		if err != nil {
			return nil, false, err
		}
		return kept, v.Breaks(property), nil
	}
}

// DivergesOn is the Interesting test for a divergence: the candidate
// replays on the model and diverges on the system f builds, under abs,
// with the same kind of divergence; the steps after it are dropped.
func DivergesOn(f conform.Factory, abs conform.Abstraction, kind conform.Kind) Interesting {
	return func(t *traces.Trace) (*traces.Trace, bool, error) {
		kept, err := replay.Enabled(t)
		if err != nil {
			return nil, false, err
		}
		r, err := conform.Replay(kept, f, abs)
		if err != nil {
			return nil, false, err
		}
		if r.Refused != "" || r.Divergence == nil || r.Divergence.Kind != kind {
			return nil, false, nil
		}
		kept.Steps = kept.Steps[:r.Divergence.Step]
		return kept, true, nil
	}
}

// ShortestViolation looks for a counterexample of property with at most
// maxSteps steps at cfg's bounds by breadth-first search, exploring at most
// budget distinct states. It returns the shortest one, completed and
// titled, or nil when there is none within the steps or the budget ran out
// first. After Shrink, it makes a trace as short as breadth-first search
// makes it whenever that is within reach.
func ShortestViolation(cfg model.Config, property string, maxSteps int, budget int64) (*traces.Trace, error) {
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
	t := replay.FromPath(m, &res.Violation.Path, res.Violation, traces.Producer{Tool: "explore shrink", Strategy: "bfs"})
	// The search watched this property only: on its path another may break
	// first, and then the path is a counterexample of that one instead.
	b, err := replay.Complete(t)
	if err != nil {
		return nil, err
	}
	if !b.Breaks(property) {
		return nil, nil
	}
	return t, nil
}
