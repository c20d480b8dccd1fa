package replay

import (
	"slices"

	"github.com/raftcheck/raftcheck/spec"
	"github.com/raftcheck/raftcheck/traces"
)

// Broken is a property found broken on a step: the first in spec order,
// with the others broken at the same step.
type Broken struct {
	Property string
	// Kind is "invariant" or "transition", as in a trace's violation.
	Kind    string
	Message string
	// Step is the 1-based step that breaks it (set by the replays).
	Step int
	// Also lists the other properties broken at the same step.
	Also []string
}

// Breaks reports whether b covers property name: the first property broken
// at that step, or another broken at the same step.
func (b *Broken) Breaks(name string) bool {
	return b != nil && (b.Property == name || slices.Contains(b.Also, name))
}

// Claim returns b as a trace's claimed violation.
func (b *Broken) Claim() *traces.Violation {
	return &traces.Violation{Property: b.Property, Kind: b.Kind, Step: b.Step, Message: b.Message}
}

// FirstBroken evaluates every property on one step, for any spec states
// (the model's or an implementation's): the claimed property may share a
// step with others, so all broken at once are collected and the first in
// spec order is returned, with the others in Also; nil when all hold.
func FirstBroken(before *spec.State, a *spec.Action, after *spec.State) *Broken {
	var b *Broken
	note := func(name, kind string, err error) {
		if b == nil {
			b = &Broken{Property: name, Kind: kind, Message: err.Error()}
		} else {
			b.Also = append(b.Also, name)
		}
	}
	for _, p := range spec.Invariants {
		if err := p.Check(after); err != nil {
			note(p.Name, "invariant", err)
		}
	}
	for _, p := range spec.TransitionProperties {
		if err := p.Check(before, a, after); err != nil {
			note(p.Name, "transition", err)
		}
	}
	return b
}
