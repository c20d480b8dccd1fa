package conform

import (
	"errors"
	"fmt"

	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/spec"
	"github.com/raftcheck/raftcheck/traces/replay"
)

// ErrModelRefused is returned by Lockstep.Step when the model cannot take
// the action: the input is wrong, not the system.
var ErrModelRefused = errors.New("the model cannot take this step")

// Lockstep runs the model and a System side by side, one action at a time,
// comparing them under an Abstraction after every step. After the first
// divergence only the model is stepped: the system's state no longer
// corresponds to anything the model did.
type Lockstep struct {
	model   *replay.Stepper
	sys     System
	abs     Abstraction
	state   spec.State   // the system's, with the harness's history
	history spec.History // kept by spec.History.Observe after every step
	steps   int
	div     *Divergence
	broken  *replay.Broken
}

// NewLockstep starts the model of cfg and a System built by f, both in
// their initial state, and compares them.
func NewLockstep(cfg model.Config, f Factory, abs Abstraction) (*Lockstep, error) {
	p, err := replay.NewStepper(cfg)
	if err != nil {
		return nil, err
	}
	sys, err := f(SetupOf(cfg))
	if err != nil {
		return nil, fmt.Errorf("starting the system: %w", err)
	}
	l := &Lockstep{model: p, sys: sys, abs: abs}
	if cfg.MaxReconfigs > 0 {
		l.history.Members = spec.AllServers(cfg.Servers) // the quorums of configurations, as the model's history
	}
	l.observe()
	d, err := l.compare(p.View())
	if err != nil {
		sys.Close()
		return nil, fmt.Errorf("the system's initial state: %w", err)
	}
	l.div = d
	return l, nil
}

// observe reads the system's state and keeps its history.
func (l *Lockstep) observe() {
	l.state = l.sys.State()
	l.history.Observe(l.state.Servers)
	l.state.History = l.history.Clone()
}

// Divergence returns the first divergence, or nil.
func (l *Lockstep) Divergence() *Divergence { return l.div }

// ImplBroken returns the first property broken on the system's states.
func (l *Lockstep) ImplBroken() *replay.Broken { return l.broken }

// Steps returns the number of steps compared with the system.
func (l *Lockstep) Steps() int { return l.steps }

// Enabled lists the actions the model can take now.
func (l *Lockstep) Enabled() []spec.Action { return l.model.Enabled() }

// Frame returns the current states of both sides (the system's only while
// they have not diverged).
func (l *Lockstep) Frame() replay.Frame {
	f := replay.Frame{Model: l.model.View().Clone()}
	if l.div == nil || l.div.Step == 0 {
		s := l.state.Clone()
		f.Impl = &s
	}
	if l.div != nil && l.div.Step == 0 {
		f.Diff, f.DiffKind = l.div.Lines(), l.div.Kind.String()
	}
	return f
}

// Step takes a on the model and, until they diverge, on the system. It
// returns the frame after the step (Diff and DiffKind set at the
// divergence; ModelOnly after it) and the model's outcome. The error wraps
// ErrModelRefused when the model cannot take a, and is otherwise a
// failure of the system.
func (l *Lockstep) Step(a spec.Action) (replay.Frame, replay.Outcome, error) {
	sysAction := l.systemAction(a)
	o, err := l.model.Step(a)
	if err != nil {
		return replay.Frame{}, o, fmt.Errorf("%w: %v", ErrModelRefused, err)
	}
	f := replay.Frame{Action: a, Model: o.After}
	if l.div != nil {
		f.ModelOnly = true
		return f, o, nil
	}
	l.steps++
	before := l.state
	if err := l.sys.Apply(sysAction); err != nil {
		if !errors.Is(err, ErrNotEnabled) {
			return replay.Frame{}, o, fmt.Errorf("the system failed at step %d, %v: %w", l.steps, a, err)
		}
		l.div = &Divergence{Step: l.steps, Kind: MissingAction, Action: a, Refusal: err.Error()}
		f.Impl = &before
		f.Diff, f.DiffKind = l.div.Lines(), l.div.Kind.String()
		return f, o, nil
	}
	l.observe()
	s := l.state.Clone()
	f.Impl = &s
	if l.broken == nil {
		if b := replay.FirstBroken(&before, &a, &l.state); b != nil {
			b.Step = l.steps
			l.broken = b
			// The model's own violation, if any, is set on the frame by
			// the replay's claims and takes precedence.
			f.Violation, f.Message = b.Property, "implementation: "+b.Message
		}
	}
	d, err := l.compare(&o.After)
	if err != nil {
		return replay.Frame{}, o, fmt.Errorf("the system failed at step %d, %v: %w", l.steps, a, err)
	}
	if d != nil {
		d.Step, d.Action = l.steps, a
		l.div = d
		f.Diff, f.DiffKind = d.Lines(), d.Kind.String()
	}
	return f, o, nil
}

// compare compares the system with the model after a step: the states
// under the abstraction, then, for a DurableSystem, stable storage with
// the model's persistent state (which the abstraction does not touch:
// what must survive a crash is the protocol's, not the implementation's
// choice).
func (l *Lockstep) compare(model *spec.State) (*Divergence, error) {
	d := l.abs.compare(model, &l.state)
	ds, ok := l.sys.(DurableSystem)
	if !ok {
		return d, nil
	}
	got, err := ds.Durable()
	if err != nil {
		return nil, fmt.Errorf("reading its stable storage: %w", err)
	}
	diffs := durableDiffs(l.model.Durable(), got)
	if len(diffs) == 0 {
		return d, nil
	}
	if d == nil {
		d = &Divergence{}
	}
	d.Durable = diffs
	d.Kind = d.classify()
	return d, nil
}

// durableDiffs lists how each server's stable storage differs from the
// model's persistent state.
func durableDiffs(model, sys []spec.Durable) []FieldDiff {
	var out []FieldDiff
	for i := range model {
		if i >= len(sys) {
			out = append(out, FieldDiff{Server: spec.ServerID(i + 1), Field: "durable", Model: "present", System: "missing"})
			continue
		}
		m, s := &model[i], &sys[i]
		for _, field := range m.Diff(s) {
			out = append(out, FieldDiff{Server: spec.ServerID(i + 1), Field: "durable." + field, Model: durableField(m, field), System: durableField(s, field)})
		}
	}
	return out
}

func durableField(d *spec.Durable, field string) string {
	switch field {
	case "term":
		return fmt.Sprint(d.Term)
	case "voted_for":
		return d.VotedFor.String()
	case "log":
		return fmt.Sprint(d.Log)
	}
	return fmt.Sprint(d.SnapshotIndex)
}

// systemAction is a as the system must be given it: a message of the
// model's becomes the system's message in flight with the same projection.
func (l *Lockstep) systemAction(a spec.Action) spec.Action {
	if l.div != nil {
		return a
	}
	return l.abs.systemAction(a, l.state.Network)
}

// Close closes the system.
func (l *Lockstep) Close() error { return l.sys.Close() }
