package tlaraft

import (
	"github.com/raftcheck/raftcheck/checker"
)

// Adapter makes a Model a checker.Model, a checker.Symmetric (servers are
// interchangeable: TLC's SYMMETRY Permutations(Server)) and a
// checker.Constrained (the bounds of Config). Pass it to checker.Check:
//
//	m, err := tlaraft.New(cfg)
//	props, err := m.Properties(nil)
//	res, err := checker.Check[tlaraft.State, tlaraft.Action](tlaraft.Adapter{Model: m}, props, opts)
type Adapter struct{ *Model }

var (
	_ checker.Model[State, Action] = Adapter{}
	_ checker.Symmetric[State]     = Adapter{}
	_ checker.Constrained[State]   = Adapter{}
	_ checker.Decoder[State]       = Adapter{}
	_ checker.Kinded[Action]       = Adapter{}
)

// Init returns raft.tla's single initial state.
func (a Adapter) Init() []State { return []State{a.Model.Init()} }

// ActionKind indexes ActionKinds.
func (a Adapter) ActionKind(x Action) int { return int(x.Kind) }

// ActionKinds names the kinds of action (Receive split by handler).
func (a Adapter) ActionKinds() []string { return KindNames() }
