// Package checking connects the Raft model to the generic checker: it
// adapts *model.Model to checker.Model, turns the spec properties into
// checker properties, defines the reachability goals that show what a run
// covered, and converts the checker's paths back into the shared
// vocabulary.
package checking

import (
	"fmt"
	"slices"

	"github.com/raftcheck/raftcheck/checker"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/spec"
)

// Adapter makes a model a checker.Model (and a checker.Symmetric,
// Decoder and Kinded).
type Adapter struct{ *model.Model }

var (
	_ checker.Model[model.State, model.Action] = Adapter{}
	_ checker.Symmetric[model.State]           = Adapter{}
	_ checker.Decoder[model.State]             = Adapter{}
	_ checker.Kinded[model.Action]             = Adapter{}
)

// Init returns the model's single initial state.
func (a Adapter) Init() []model.State { return []model.State{a.Model.Init()} }

// Decode decodes a state of the explorer's own frontier.
func (a Adapter) Decode(src []byte, s *model.State) error { return a.DecodeTrusted(src, s) }

// ActionKind indexes ActionKinds.
func (a Adapter) ActionKind(x model.Action) int { return int(x.Kind) - 1 }

// ActionKinds names the action kinds in spec order. The membership
// changes and Wipe, from AddServer on, are left out when they are off, so
// that a report without them reads as before they existed.
func (a Adapter) ActionKinds() []string {
	kinds := spec.ActionKinds
	if a.Config().MaxReconfigs == 0 {
		kinds = kinds[:spec.AddServer-1]
	}
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.String()
	}
	return names
}

// views converts model states to spec states for the properties, keeping
// the last two conversions: a step's before-state is shared by all its
// successors.
type views struct {
	m    *model.Model
	key  [2]model.State
	val  [2]spec.State
	ok   [2]bool
	last int
}

func (v *views) of(s *model.State) *spec.State {
	for i := range 2 {
		if v.ok[i] && model.SameServers(&v.key[i], s) {
			v.last = i
			return &v.val[i]
		}
	}
	i := 1 - v.last
	v.key[i], v.ok[i], v.last = *s, true, i
	v.m.PropertyView(s, &v.val[i])
	return &v.val[i]
}

// changesServers marks the actions that can change a server or the
// history. The others (Heartbeat only sends; Drop, Duplicate, Partition and
// Heal touch only the network) leave everything the transition properties
// read unchanged, and every transition property holds on a step that
// changes nothing it reads, so they are not evaluated there.
var changesServers = [...]bool{spec.Timeout: true, spec.ClientRequest: true, spec.Deliver: true, spec.Restart: true, spec.Compact: true,
	spec.AddServer: true, spec.RemoveServer: true,
	spec.AddLearner: true, spec.EnterJoint: true, spec.LeaveJoint: true, spec.Wipe: true,
	spec.Heartbeat: false, spec.Drop: false, spec.Duplicate: false, spec.Partition: false, spec.Heal: false}

// Properties returns the checker properties for the named spec properties
// (all when names is nil) and the reachability goals. Each call makes fresh
// scratch space, as the checker requires per worker.
//
// Each property is first evaluated natively on the packed state
// (model.NativeInvariants, model.NativeTransitions); only when that reports
// a violation is the spec function run, to explain it. Should the two ever
// disagree, the run fails with an internal error rather than trust either.
func Properties(m *model.Model, names []string) func() checker.Properties[model.State, model.Action] {
	return func() checker.Properties[model.State, model.Action] {
		v := &views{m: m}
		var p checker.Properties[model.State, model.Action]
		for _, inv := range spec.Invariants {
			if names != nil && !slices.Contains(names, inv.Name) {
				continue
			}
			check, native, name := inv.Check, model.NativeInvariants[inv.Name], inv.Name
			p.Invariants = append(p.Invariants, checker.Invariant[model.State]{Name: inv.Name,
				Check: func(s *model.State) error {
					if native(m, s) {
						return nil
					}
					if err := check(v.of(s)); err != nil {
						return err
					}
					return fmt.Errorf("internal error: the model's %s check and spec.%s disagree", name, name)
				}})
		}
		sa := new(spec.Action) // one per worker: handing &local to check would allocate per call
		for _, tp := range spec.TransitionProperties {
			if names != nil && !slices.Contains(names, tp.Name) {
				continue
			}
			check, native, name := tp.Check, model.NativeTransitions[tp.Name], tp.Name
			p.Transitions = append(p.Transitions, checker.Transition[model.State, model.Action]{Name: tp.Name,
				Check: func(b *model.State, a model.Action, s *model.State) error {
					if !changesServers[a.Kind] || native(m, b, a, s) {
						return nil
					}
					*sa = spec.Action{Kind: a.Kind, Server: spec.ServerID(a.Server)}
					if err := check(v.of(b), sa, v.of(s)); err != nil {
						return err
					}
					return fmt.Errorf("internal error: the model's %s check and spec.%s disagree", name, name)
				}})
		}
		p.TransitionsHold = func(b *model.State, a model.Action, s *model.State) bool {
			return !changesServers[a.Kind] || model.TransitionsHold(m, b, a, s)
		}
		p.Goals = goals(m)
		return p
	}
}

// raise turns a goal's Raise into the report's hint.
func raise(bounds string) string {
	if bounds == "" {
		return ""
	}
	return "raise " + bounds
}

func goals(m *model.Model) []checker.Goal[model.State, model.Action] {
	var out []checker.Goal[model.State, model.Action]
	cfg := m.Config()
	for _, g := range model.Goals {
		cg := checker.Goal[model.State, model.Action]{Name: g.Name, Expected: g.Expected != nil && g.Expected(&cfg), Hint: raise(g.Raise)}
		if g.Reached != nil {
			reached := g.Reached
			cg.Reached = func(s *model.State) bool { return reached(m, s) }
		} else {
			step := g.Step
			cg.Step = func(b *model.State, a model.Action, s *model.State) bool { return step(m, b, a, s) }
		}
		out = append(out, cg)
	}
	return out
}

// Step is one step of a path in the shared vocabulary.
type Step struct {
	Action spec.Action
	State  spec.State
}

// SpecPath converts a checker path into the initial state and the steps in
// spec terms.
func SpecPath(m *model.Model, p *checker.Path[model.State, model.Action]) (spec.State, []Step) {
	var init spec.State
	m.View(&p.Init, &init)
	var steps []Step
	prev := p.Init
	for _, st := range p.Steps {
		var s spec.State
		m.View(&st.State, &s)
		steps = append(steps, Step{Action: m.SpecAction(&prev, st.Action), State: s})
		prev = st.State
	}
	return init, steps
}
