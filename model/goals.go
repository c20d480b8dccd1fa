package model

import (
	"slices"

	"github.com/raftcheck/raftcheck/spec"
)

// Goal is a reachability ("sometimes") property: a run reports whether some
// reachable state satisfies Reached, or some step satisfies Step (one of
// the two is set). Goals show what a bounded run actually covered: a
// configuration that never commits a value is visibly so.
type Goal struct {
	Name    string
	Doc     string
	Reached func(m *Model, s *State) bool
	Step    func(m *Model, before *State, a Action, after *State) bool
}

// Goals lists the goals every exploration reports.
var Goals = []Goal{
	{Name: "value-committed", Doc: "some value is committed",
		Reached: func(_ *Model, s *State) bool { return s.hlen > 0 }},
	{Name: "leader-above-term-1", Doc: "a leader is elected in a term above 1 (a second election succeeds)",
		Reached: func(_ *Model, s *State) bool {
			for _, id := range s.leaderOf[2:] {
				if id != 0 {
					return true
				}
			}
			return false
		}},
	{Name: "leader-stepped-down", Doc: "a leader learns of a higher term and steps down",
		Step: func(m *Model, b *State, _ Action, a *State) bool {
			for i := range m.cfg.Servers {
				if b.srv[i].role == leader && a.srv[i].role != leader && a.srv[i].term > b.srv[i].term {
					return true
				}
			}
			return false
		}},
	{Name: "uncommitted-entry-overwritten", Doc: "a server replaces an entry of its log by a different one",
		Step: func(m *Model, b *State, a Action, after *State) bool {
			if a.Kind != spec.Deliver {
				return false
			}
			for i := range m.cfg.Servers {
				x, y := &b.srv[i], &after.srv[i]
				if c := min(x.n, y.n); !slices.Equal(x.log[:c], y.log[:c]) {
					return true
				}
			}
			return false
		}},
	{Name: "partition-healed", Doc: "a partition heals",
		Step: func(_ *Model, _ *State, a Action, _ *State) bool { return a.Kind == spec.Heal }},
}
