package model

import (
	"math/bits"
	"slices"

	"github.com/raftcheck/raftcheck/spec"
)

// The safety properties evaluated directly on packed states. The spec
// functions (package spec) are the definitions; these are fast equivalents
// for the explorer, which evaluates them billions of times. Each mirrors
// the spec function of the same name (NativeInvariants and
// NativeTransitions are keyed by the names of the spec registry, and a test
// checks they cover it exactly); TestNativePropertiesAgree checks, on
// random walks and shortest violating paths of the correct model and every
// seeded bug, that both always give the same verdict. The explorer calls
// the spec function to explain a violation, and reports a disagreement as
// an internal error.

// StateCheck is a native invariant check: true when the property holds.
type StateCheck func(m *Model, s *State) bool

// StepCheck is a native transition property check: true when it holds.
type StepCheck func(m *Model, before *State, a Action, after *State) bool

// NativeInvariants maps spec invariant names to their native checks.
var NativeInvariants = map[string]StateCheck{
	"election-safety":       electionSafety,
	"log-matching":          logMatching,
	"leader-completeness":   leaderCompleteness,
	"state-machine-safety":  stateMachineSafety,
	"commit-quorum":         commitQuorum,
	"snapshot-committed":    snapshotCommitted,
	"single-server-changes": singleServerChanges,
}

// NativeTransitions maps spec transition property names to their native
// checks.
var NativeTransitions = map[string]StepCheck{
	"leader-append-only":   leaderAppendOnly,
	"committed-never-lost": committedNeverLost,
	"vote-once":            voteOnce,
	"term-monotonic":       termMonotonic,
	"commit-monotonic":     commitMonotonic,
}

func electionSafety(m *Model, s *State) bool {
	for i := range m.n {
		if sv := &s.srv[i]; sv.role == leader && s.leaderOf[sv.term] != uint8(i+1) {
			return false
		}
	}
	return true
}

func logMatching(m *Model, s *State) bool {
	n := m.n
	for i := range n {
		a := &s.srv[i]
		for j := i + 1; j < n; j++ {
			b := &s.srv[j]
			for k := int(min(a.n, b.n)) - 1; k >= 0; k-- {
				if a.log[k].term() == b.log[k].term() {
					if !slices.Equal(a.log[:k+1], b.log[:k+1]) {
						return false
					}
					break
				}
			}
		}
	}
	return true
}

func leaderCompleteness(m *Model, s *State) bool {
	for i := range m.n {
		sv := &s.srv[i]
		if sv.role != leader {
			continue
		}
		for k := range s.hlen {
			if s.htermAt[k] < sv.term && (k >= sv.n || sv.log[k] != s.hist[k]) {
				return false
			}
		}
	}
	return true
}

func stateMachineSafety(m *Model, s *State) bool {
	n := m.n
	for i := range n {
		a := &s.srv[i]
		ca := min(a.commit, a.n)
		if !slices.Equal(a.log[:min(ca, s.hlen)], s.hist[:min(ca, s.hlen)]) {
			return false
		}
		for j := i + 1; j < n; j++ {
			b := &s.srv[j]
			c := min(ca, b.commit, b.n)
			if !slices.Equal(a.log[:c], b.log[:c]) {
				return false
			}
		}
	}
	return true
}

// holders counts the members of mask with an entry of term t at 0-based
// position k.
func holders(m *Model, s *State, k uint8, t uint8, mask uint8) int {
	c := 0
	for j := range m.n {
		if sv := &s.srv[j]; mask&(1<<j) != 0 && k < sv.n && sv.log[k].term() == t {
			c++
		}
	}
	return c
}

func commitQuorum(m *Model, s *State) bool {
	for i := range m.n {
		sv := &s.srv[i]
		if sv.commit > sv.n {
			return false
		}
		for k := range sv.commit {
			mask := m.commitConfig(s, sv, k)
			if holders(m, s, k, sv.log[k].term(), mask) < quorum(mask) {
				return false
			}
		}
	}
	return true
}

// commitConfig mirrors spec's: the configuration whose majority must hold
// sv's committed entry at position k.
func (m *Model) commitConfig(s *State, sv *server, k uint8) uint8 {
	if !m.reconf {
		return m.all
	}
	if k < s.hlen && s.hist[k] == sv.log[k] && s.hcfg[k] != 0 {
		return s.hcfg[k]
	}
	c := m.initial
	for j := int(sv.n) - 1; j >= 0; j-- {
		if e := sv.log[j]; e.isConfig() {
			c = s.cfgs[e.configNum()]
			break
		}
	}
	return c
}

// singleServerChanges mirrors spec.SingleServerChanges.
func singleServerChanges(m *Model, s *State) bool {
	if !m.reconf {
		return true
	}
	for i := range m.n {
		sv := &s.srv[i]
		prev := m.initial
		for _, e := range sv.log[:sv.n] {
			if e.isConfig() {
				c := s.cfgs[e.configNum()]
				if bits.OnesCount8(prev^c) > 1 {
					return false
				}
				prev = c
			}
		}
	}
	return true
}

func snapshotCommitted(m *Model, s *State) bool {
	for i := range m.n {
		sv := &s.srv[i]
		if sv.snap == 0 {
			continue
		}
		if sv.commit < sv.snap || sv.snap > s.hlen || !slices.Equal(sv.log[:sv.snap], s.hist[:sv.snap]) {
			return false
		}
	}
	return true
}

// TransitionsHold reports whether every transition property in
// NativeTransitions holds on the step b → a, in one pass over the servers:
// the explorer calls it on every generated step, and runs the individual
// checks only when it reports false. committedNeverLost, the costly one,
// can only fail when some log changed.
func TransitionsHold(m *Model, b *State, act Action, a *State) bool {
	logChanged := false
	for i := range m.n {
		x, y := &b.srv[i], &a.srv[i]
		if y.term < x.term || (x.term == y.term && x.voted != 0 && y.voted != x.voted) {
			return false // term-monotonic, vote-once
		}
		if y.commit < x.commit && !(act.Kind == spec.Restart && act.Server == uint8(i+1) && y.commit == y.snap) {
			return false // commit-monotonic
		}
		if x.n != y.n || x.log != y.log {
			logChanged = true
			if x.role == leader && y.role == leader && x.term == y.term && (y.n < x.n || !slices.Equal(y.log[:x.n], x.log[:x.n])) {
				return false // leader-append-only
			}
		}
	}
	return !logChanged || committedNeverLost(m, b, act, a)
}

func leaderAppendOnly(m *Model, b *State, _ Action, a *State) bool {
	for i := range m.n {
		x, y := &b.srv[i], &a.srv[i]
		if x.role == leader && y.role == leader && x.term == y.term && (y.n < x.n || !slices.Equal(y.log[:x.n], x.log[:x.n])) {
			return false
		}
	}
	return true
}

func committedNeverLost(m *Model, b *State, _ Action, a *State) bool {
	for k := range b.hlen {
		t, mask := b.hist[k].term(), m.all
		if b.hcfg[k] != 0 {
			mask = b.hcfg[k]
		}
		q := quorum(mask)
		if holders(m, a, k, t, mask) < q && holders(m, b, k, t, mask) >= q {
			return false
		}
	}
	return true
}

func voteOnce(m *Model, b *State, _ Action, a *State) bool {
	for i := range m.n {
		x, y := &b.srv[i], &a.srv[i]
		if x.term == y.term && x.voted != 0 && y.voted != x.voted {
			return false
		}
	}
	return true
}

func termMonotonic(m *Model, b *State, _ Action, a *State) bool {
	for i := range m.n {
		if a.srv[i].term < b.srv[i].term {
			return false
		}
	}
	return true
}

func commitMonotonic(m *Model, b *State, act Action, a *State) bool {
	for i := range m.n {
		x, y := b.srv[i].commit, a.srv[i].commit
		if y < x && !(act.Kind == spec.Restart && act.Server == uint8(i+1) && y == a.srv[i].snap) {
			return false
		}
	}
	return true
}
