// Package replay replays traces on raftcheck's model: the one routine that
// steps the model through spec actions (Stepper), the checks of what a
// trace claims (expectations, recorded states and history, the claimed
// violation), the properties evaluated on every step, and the conversions
// between explorer paths and traces. Replay on an implementation
// (package conform) and shrinking (package traces/shrink) step the model
// through the same Stepper and check claims with the same Claims.
package replay

import (
	"fmt"

	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/spec"
)

// Stepper replays spec actions on the model one at a time, keeping the
// model's state and its view in the shared vocabulary.
type Stepper struct {
	m    *model.Model
	s    model.State
	view spec.State
}

// NewStepper starts the model of cfg in its initial state.
func NewStepper(cfg model.Config) (*Stepper, error) {
	m, err := model.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("trace configuration: %w", err)
	}
	p := &Stepper{m: m, s: m.Init()}
	m.View(&p.s, &p.view)
	return p, nil
}

// Model returns the model being stepped.
func (p *Stepper) Model() *model.Model { return p.m }

// View returns the model's current state in the shared vocabulary; it
// stays valid until the next step.
func (p *Stepper) View() *spec.State { return &p.view }

// Durable returns what each server holds on stable storage now.
func (p *Stepper) Durable() []spec.Durable { return p.m.DurableView(&p.s) }

// Enabled lists the actions the model can take now.
func (p *Stepper) Enabled() []spec.Action { return p.m.Enabled(&p.s) }

// Outcome is one step of the model: the states before and after it (deep
// copies, the caller's to keep) and the first property it breaks.
type Outcome struct {
	Before, After spec.State
	Broken        *Broken
}

// Step takes a. The error explains why the model cannot take it (the
// action is not enabled or not well formed); the model is then unchanged.
func (p *Stepper) Step(a spec.Action) (Outcome, error) {
	next, err := p.m.Step(p.s, a)
	if err != nil {
		return Outcome{}, err
	}
	o := Outcome{Before: p.view.Clone()}
	p.s = next
	p.view = spec.State{}
	p.m.View(&p.s, &p.view)
	o.After = p.view.Clone()
	o.Broken = FirstBroken(&o.Before, &a, &o.After)
	return o, nil
}

// StepSimilar takes a, or, when the model cannot, the same action on the
// first message in flight of the same type between the same servers
// (after an earlier step was removed, the message may carry another term
// or log). It returns the action taken.
func (p *Stepper) StepSimilar(a spec.Action) (spec.Action, Outcome, error) {
	o, err := p.Step(a)
	if err == nil || a.Message == nil {
		return a, o, err
	}
	for _, f := range p.view.Network {
		if m := f.Message; m.Type == a.Message.Type && m.From == a.Message.From && m.To == a.Message.To {
			b := a
			b.Message = &m
			o, err := p.Step(b)
			return b, o, err
		}
	}
	return a, o, err
}
