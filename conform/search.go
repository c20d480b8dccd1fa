package conform

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/spec"
	"github.com/raftcheck/raftcheck/traces"
	"github.com/raftcheck/raftcheck/traces/replay"
)

// Options configures a conformance run.
type Options struct {
	Config model.Config
	// System builds the system under test, compared under Abstraction
	// (the zero value is Exact).
	System      Factory
	Abstraction Abstraction
	// Depth, for an exhaustive run, bounds the paths: every transition out
	// of every model state reachable in fewer than Depth steps is replayed
	// on the system along a shortest path to its source state, so the
	// longest paths have Depth steps.
	Depth int
	// Walks and Length, when Walks > 0, replace the exhaustive run by
	// seeded random walks of Length steps; walk k uses the seed (Seed, k).
	Walks, Length int
	Seed          uint64
	// Progress, if set, is called after every path.
	Progress func(paths, steps int)
	// Interrupt, when closed, ends the run after the current path, as
	// incomplete.
	Interrupt <-chan struct{}
}

// RunResult is the outcome of a conformance run.
type RunResult struct {
	// Paths is the number of paths replayed and Steps the number of steps
	// compared between model and system.
	Paths, Steps int
	// Divergence is the first diverging path, as a trace whose last step
	// diverges, or nil; Replay is that path's replay.
	Divergence *traces.Trace
	Replay     *Result
	// Elected and Committed say whether some path elected a leader and
	// committed a value on the model: a run without them compared nothing
	// of what replication does.
	Elected, Committed bool
	// Interrupted is set when Interrupt ended the run early.
	Interrupted bool
}

// Vacuous lists what makes a run that found no divergence vacuous: no
// leader elected, no value committed (when the configuration has values),
// or fewer than two steps compared per path on average.
func (r *RunResult) Vacuous(cfg model.Config) []string {
	var out []string
	if !r.Elected {
		out = append(out, "no path elected a leader")
	}
	if !r.Committed && cfg.MaxValues > 0 {
		out = append(out, "no path committed a value")
	}
	if r.Steps < 2*r.Paths {
		out = append(out, fmt.Sprintf("%d steps compared on %d paths, fewer than 2 per path", r.Steps, r.Paths))
	}
	return out
}

// observe notes what a replayed path reached.
func (r *RunResult) observe(last *spec.State) {
	r.Elected = r.Elected || len(last.History.LeaderOf) > 0
	r.Committed = r.Committed || len(last.History.Committed) > 0
}

// interrupted reports whether opts.Interrupt is closed.
func (opts *Options) interrupted() bool {
	select {
	case <-opts.Interrupt:
		return true
	default:
		return false
	}
}

// Run replays model paths on the system step by step: with Walks set,
// random walks; otherwise every transition of the model up to Depth. It
// stops at the first divergence.
func Run(opts Options) (*RunResult, error) {
	if opts.System == nil {
		return nil, errors.New("conform: no system to check (Options.System)")
	}
	if opts.Walks > 0 {
		return runWalks(opts)
	}
	return runExhaustive(opts)
}

// runExhaustive explores the model breadth-first (without symmetry: an
// implementation is not symmetric by construction, and renamings are
// exactly what it should also get right) and replays, for every explored
// state below the depth, each enabled action after a shortest path to it.
func runExhaustive(opts Options) (*RunResult, error) {
	m, err := model.New(opts.Config)
	if err != nil {
		return nil, fmt.Errorf("conform: %w", err)
	}
	type node struct {
		s    model.State
		path []spec.Action
	}
	init := m.Init()
	seen := map[string]bool{string(m.Encode(nil, &init)): true}
	level := []node{{s: init}}
	res := &RunResult{}
	for depth := 1; depth <= opts.Depth && len(level) > 0; depth++ {
		var next []node
		for _, n := range level {
			if opts.interrupted() {
				res.Interrupted = true
				return res, nil
			}
			for _, a := range m.Actions(&n.s, nil) {
				var out model.State
				if !m.Next(&n.s, a, &out) {
					continue
				}
				path := append(append([]spec.Action{}, n.path...), m.SpecAction(&n.s, a))
				div, err := runPath(opts, path, res)
				if err != nil || div {
					return res, err
				}
				if k := string(m.Encode(nil, &out)); depth < opts.Depth && !seen[k] {
					seen[k] = true
					next = append(next, node{s: out, path: path})
				}
			}
		}
		level = next
	}
	return res, nil
}

// runPath replays one path and records a divergence.
func runPath(opts Options, path []spec.Action, res *RunResult) (bool, error) {
	t := traces.New(opts.Config, traces.Producer{Tool: "explore conform"})
	for _, a := range path {
		t.Steps = append(t.Steps, traces.Step{Action: a})
	}
	r, err := Replay(t, opts.System, opts.Abstraction)
	if err != nil {
		return false, fmt.Errorf("conform: %w", err)
	}
	return res.record(opts, t, r)
}

// record adds a replayed path to the result; it reports a divergence.
func (res *RunResult) record(opts Options, t *traces.Trace, r *Result) (bool, error) {
	res.Paths++
	res.Steps += r.Steps
	res.observe(&r.Frames[len(r.Frames)-1].Model)
	if opts.Progress != nil {
		opts.Progress(res.Paths, res.Steps)
	}
	if r.Refused != "" {
		return false, fmt.Errorf("conform: internal error: the model refused its own path: %s", r.Refused)
	}
	if r.Divergence != nil {
		res.Divergence, res.Replay = divergenceTrace(t, r), r
		return true, nil
	}
	return false, nil
}

// runWalks runs seeded random walks on model and system in lockstep; walk
// k uses the seed (Seed, k), so any walk can be rerun alone.
func runWalks(opts Options) (*RunResult, error) {
	res := &RunResult{}
	for k := range opts.Walks {
		if opts.interrupted() {
			res.Interrupted = true
			return res, nil
		}
		t, r, err := walk(opts, k)
		if err != nil {
			return nil, err
		}
		if div, err := res.record(opts, t, r); err != nil || div {
			return res, err
		}
	}
	return res, nil
}

// walk runs walk number k and returns it as a trace with its replay.
func walk(opts Options, k int) (*traces.Trace, *Result, error) {
	rng := rand.New(rand.NewPCG(opts.Seed, uint64(k)))
	l, err := NewLockstep(opts.Config, opts.System, opts.Abstraction)
	if err != nil {
		return nil, nil, fmt.Errorf("conform: %w", err)
	}
	defer l.Close()
	t := traces.New(opts.Config, traces.Producer{Tool: "explore conform", Seed: opts.Seed})
	r := &Result{Frames: []replay.Frame{l.Frame()}}
	for range opts.Length {
		enabled := l.Enabled()
		if len(enabled) == 0 || l.Divergence() != nil {
			break
		}
		a := enabled[rng.IntN(len(enabled))]
		f, _, err := l.Step(a)
		if err != nil {
			return nil, nil, fmt.Errorf("conform: %w", err)
		}
		t.Steps = append(t.Steps, traces.Step{Action: a})
		f.Step = len(t.Steps)
		r.Frames = append(r.Frames, f)
	}
	r.Divergence, r.ImplBroken, r.Steps = l.Divergence(), l.ImplBroken(), l.Steps()
	return t, r, nil
}

// divergenceTrace records a diverging path as a trace: the steps up to
// the divergence with the model's states, the divergence in the caption of
// the last step.
func divergenceTrace(t *traces.Trace, r *Result) *traces.Trace {
	d := r.Divergence
	t.Steps = t.Steps[:d.Step]
	for i := range t.Steps {
		if i+1 < len(r.Frames) {
			s := r.Frames[i+1].Model
			t.Steps[i].State = &s
		}
	}
	if d.Step > 0 {
		t.Steps[d.Step-1].Caption = fmt.Sprintf("the implementation diverges (%s): %v", d.Kind, d.Lines())
	}
	t.Title = fmt.Sprintf("model and implementation diverge at step %d (%s)", d.Step, d.Kind)
	return t
}
