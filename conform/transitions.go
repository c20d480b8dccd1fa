package conform

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raftcheck/raftcheck/checker"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/model/checking"
	"github.com/raftcheck/raftcheck/spec"
	"github.com/raftcheck/raftcheck/traces"
	"github.com/raftcheck/raftcheck/traces/replay"
)

// Restorer is a System that can be put directly into any state of the
// model: Restore makes every server's view, stable storage, the messages in
// flight and the partition those given (s's history is not the system's
// concern). Transition conformance needs it: it compares every transition
// out of every reachable state at the cost of one restore and one step,
// instead of replaying a path to each state.
type Restorer interface {
	System
	Restore(s *spec.State, durable []spec.Durable) error
}

// TransitionOptions configures an exhaustive transition conformance run.
type TransitionOptions struct {
	Config model.Config
	// System builds one system per worker; each must be a Restorer.
	System      Factory
	Abstraction Abstraction
	// Workers, Symmetry, MaxStates, TimeLimit and Interrupt are the
	// explorer's (checker.Options); with symmetry the transitions out of
	// one state per class of renamings are compared.
	Workers   int
	Symmetry  bool
	MaxStates int64
	TimeLimit time.Duration
	Interrupt <-chan struct{}
	Progress  func(checker.Progress)
}

// TransitionResult is the outcome of a transition conformance run.
type TransitionResult struct {
	// Explored is the explorer's result: Distinct states, Generated
	// transitions (each compared), Complete.
	Explored *checker.Result[model.State, model.Action]
	// Divergence is the shortest path to a diverging transition, as a
	// trace whose last step diverges, and Replay its replay through the
	// path; nil when none diverges.
	Divergence *traces.Trace
	Replay     *Result
	// RestoreOnly is set when the transition diverges after a Restore but
	// not when replayed along the path: the system's Restore leaves out
	// some of its state (Divergence is then the path, undiverged).
	RestoreOnly bool
	// DurableCompared is set when the system reports its stable storage
	// (a DurableSystem), which was then compared after every transition.
	DurableCompared bool
	// Accepted is set when the divergence is an action the protocol
	// forbids in the last state of Divergence (model.Forbidden) that the
	// system took instead of refusing it, or took a refusal of with a
	// changed state; Forbidden is the action, and Confirmed says that the
	// system, driven along the path afresh, did the same.
	Accepted  bool
	Forbidden spec.Action
	Confirmed bool
}

// conformsProperty and refusesProperty are the names of the transition
// property and the invariant the explorer checks.
const (
	conformsProperty = "conforms"
	refusesProperty  = "refuses-forbidden"
)

// Transitions explores every state of the model reachable within cfg's
// bounds (breadth-first, on every worker, deterministic) and, for every
// transition out of each, restores a system to the source state, applies
// the action and compares the result with the model's successor under the
// abstraction (and stable storage, for a DurableSystem). The first
// divergence in breadth-first order is reported with a shortest path to
// it, replayed through the path to confirm it.
func Transitions(opts TransitionOptions) (*TransitionResult, error) {
	if opts.Config.MaxInflight > 0 {
		return nil, errors.New("conform: transition conformance needs the whole state in the spec vocabulary; pipelining's window is not in it (use --depth or --walks with --max-inflight)")
	}
	m, err := model.New(opts.Config)
	if err != nil {
		return nil, fmt.Errorf("conform: %w", err)
	}
	c := &transitionChecker{m: m, opts: opts}
	defer c.closeAll()
	res, err := checker.Check[model.State, model.Action](checking.Adapter{Model: m}, c.properties,
		checker.Options{Workers: max(opts.Workers, 1), Symmetry: opts.Symmetry, MaxStates: opts.MaxStates,
			TimeLimit: opts.TimeLimit, Interrupt: opts.Interrupt, Progress: opts.Progress})
	if err != nil {
		return nil, fmt.Errorf("conform: %w", err)
	}
	if c.failure != nil {
		return nil, c.failure
	}
	out := &TransitionResult{Explored: res, DurableCompared: c.durable.Load()}
	if v := res.Violation; v != nil {
		out.Divergence = replay.FromPath(m, &v.Path, nil, traces.Producer{Tool: "explore conform", Strategy: "bfs"})
		if v.Property == refusesProperty {
			return c.accepted(out, v)
		}
		r, err := Replay(out.Divergence, opts.System, opts.Abstraction)
		if err != nil {
			return nil, fmt.Errorf("conform: replaying the divergence: %w", err)
		}
		out.Replay = r
		if r.Divergence == nil {
			out.RestoreOnly = true
			return out, nil
		}
		out.Divergence = divergenceTrace(out.Divergence, r)
	}
	return out, nil
}

// transitionChecker builds, per worker, the property that compares each
// transition on that worker's system.
type transitionChecker struct {
	m       *model.Model
	opts    TransitionOptions
	mu      sync.Mutex
	systems []System
	failure error       // a failure of a system itself, not a divergence
	failed  atomic.Bool // failure is set: the workers stop comparing
	durable atomic.Bool // a system is a DurableSystem
}

// properties is the comparison of every transition plus the model's
// reachability goals, so that a run whose configuration never elects a
// leader or commits a value is reported vacuous (Explored.Verdict).
func (c *transitionChecker) properties() checker.Properties[model.State, model.Action] {
	w := &transitionWorker{c: c}
	return checker.Properties[model.State, model.Action]{
		Invariants:  []checker.Invariant[model.State]{{Name: refusesProperty, Check: w.refuses}},
		Transitions: []checker.Transition[model.State, model.Action]{{Name: conformsProperty, Check: w.check}},
		Goals:       checking.Properties(c.m, []string{})().Goals,
	}
}

func (c *transitionChecker) closeAll() {
	for _, s := range c.systems {
		s.Close()
	}
}

func (c *transitionChecker) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failure == nil {
		c.failure = err
		c.failed.Store(true)
	}
}

// transitionWorker is one worker's system and scratch space. The checker
// checks the transitions out of one state one after the other, so the
// source state's view and stable storage are kept between them (from is
// the state they are of, valid when fromSet).
type transitionWorker struct {
	c            *transitionChecker
	sys          Restorer
	before, want spec.State
	durable      []spec.Durable
	from         model.State
	fromSet      bool
	// refused holds the forbidden actions already refused, by the
	// server's own state: a core's answer to its own action depends on
	// nothing else, so each is checked once per worker.
	refusedBy map[refusal]bool
}

// refusal is a forbidden action and the state of the server it is for.
type refusal struct {
	server model.ServerState
	kind   spec.ActionKind
	value  spec.Value
}

// check compares one transition: restore at before, apply a, compare with
// after. It reports a divergence as the property's violation.
func (w *transitionWorker) check(before *model.State, a model.Action, after *model.State) error {
	if w.c.failed.Load() {
		return nil
	}
	if w.sys == nil && !w.open() {
		return nil
	}
	m := w.c.m
	w.source(before)
	m.View(after, &w.want)
	if err := w.sys.Restore(&w.before, w.durable); err != nil {
		w.c.fail(fmt.Errorf("conform: restoring the system: %w", err))
		return nil
	}
	abs := w.c.opts.Abstraction
	act := abs.systemAction(m.SpecAction(before, a), w.before.Network)
	if err := w.sys.Apply(act); err != nil {
		if errors.Is(err, ErrNotEnabled) {
			return fmt.Errorf("missing action: %v: %v", act, err)
		}
		w.c.fail(fmt.Errorf("conform: the system failed on %v: %w", act, err))
		return nil
	}
	got := w.sys.State()
	d := abs.compare(&w.want, &got)
	if ds, ok := w.sys.(DurableSystem); ok {
		durable, err := ds.Durable()
		if err != nil {
			w.c.fail(fmt.Errorf("conform: reading the system's stable storage: %w", err))
			return nil
		}
		if diffs := durableDiffs(m.DurableView(after), durable); len(diffs) > 0 {
			if d == nil {
				d = &Divergence{}
			}
			d.Durable = diffs
		}
	}
	if d != nil {
		return fmt.Errorf("%s", strings.Join(d.Lines(), "; "))
	}
	return nil
}

// source makes s the state the worker restores its system to.
func (w *transitionWorker) source(s *model.State) {
	if !w.fromSet || w.from != *s {
		w.c.m.View(s, &w.before) // reusing the buffers: Restore copies what it keeps
		w.durable = w.c.m.DurableView(s)
		w.from, w.fromSet = *s, true
	}
}

// refuses checks that the system refuses every action the protocol
// forbids in s and stays in s. A violation is a *notRefused.
func (w *transitionWorker) refuses(s *model.State) error {
	if w.c.failed.Load() {
		return nil
	}
	if w.sys == nil && !w.open() {
		return nil
	}
	if w.refusedBy == nil {
		w.refusedBy = map[refusal]bool{}
	}
	for _, act := range w.c.m.Forbidden(s) {
		key := refusal{s.ServerState(act.Server), act.Kind, act.Value}
		if w.refusedBy[key] {
			continue
		}
		w.source(s)
		if err := w.sys.Restore(&w.before, w.durable); err != nil {
			w.c.fail(fmt.Errorf("conform: restoring the system: %w", err))
			return nil
		}
		if err := w.refused(act); err != nil {
			return &notRefused{act: act, err: err}
		}
		w.refusedBy[key] = true
	}
	return nil
}

// refused applies act, which the protocol forbids, and reports how the
// system failed to refuse it and stay where it was.
func (w *transitionWorker) refused(act spec.Action) error {
	err := w.sys.Apply(act)
	switch {
	case err == nil:
		return errors.New("taken, though the protocol forbids it here")
	case !errors.Is(err, ErrNotEnabled):
		w.c.fail(fmt.Errorf("conform: the system failed on %v: %w", act, err))
		return nil
	}
	got := w.sys.State()
	if d := w.c.opts.Abstraction.compare(&w.before, &got); d != nil {
		return fmt.Errorf("refused, but the state changed: %s", strings.Join(d.Lines(), "; "))
	}
	return nil
}

// open builds the worker's system.
func (w *transitionWorker) open() bool {
	cfg := w.c.opts.Config
	s, err := w.c.opts.System(SetupOf(cfg))
	if err != nil {
		w.c.fail(fmt.Errorf("conform: starting the system: %w", err))
		return false
	}
	w.c.mu.Lock()
	w.c.systems = append(w.c.systems, s)
	w.c.mu.Unlock()
	r, ok := s.(Restorer)
	if !ok {
		w.c.fail(errors.New("conform: transition conformance needs a system that can be restored to a state (conform.Restorer); use --depth or --walks"))
		return false
	}
	w.sys = r
	if _, ok := s.(DurableSystem); ok {
		w.c.durable.Store(true)
	}
	return true
}
