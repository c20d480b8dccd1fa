package model

import (
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
	"election-safety":      electionSafety,
	"log-matching":         logMatching,
	"leader-completeness":  leaderCompleteness,
	"state-machine-safety": stateMachineSafety,
	"commit-quorum":        commitQuorum,
	"snapshot-committed":   snapshotCommitted,
	"quorums-intersect":    quorumsIntersect,
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

func commitQuorum(m *Model, s *State) bool {
	for i := range m.n {
		sv := &s.srv[i]
		if sv.commit > sv.n {
			return false
		}
		for k := range sv.commit {
			if !m.specQuorum(m.commitConfig(s, sv, k), holders(m, s, k, sv.log[k].term())) {
				return false
			}
		}
	}
	return true
}

// holders is the set of servers with an entry of term t at 0-based
// position k.
func holders(m *Model, s *State, k uint8, t uint8) uint8 {
	var c uint8
	for j := range m.n {
		if sv := &s.srv[j]; k < sv.n && sv.log[k].term() == t {
			c |= 1 << j
		}
	}
	return c
}

// specQuorum is spec.Configuration.HasQuorum (the properties' rule, not
// the model's: a seeded bug does not change it).
func (m *Model) specQuorum(c conf, acks uint8) bool {
	return majority(acks, c.v) && (!c.joint() || majority(acks, c.o))
}

// commitConfig mirrors spec's: the configuration whose quorum must hold
// sv's committed entry at position k.
func (m *Model) commitConfig(s *State, sv *server, k uint8) conf {
	if !m.reconf {
		return conf{v: m.all}
	}
	if k < s.hlen && s.hist[k] == sv.log[k] && s.hcfg[k] != 0 {
		return conf{v: s.hcfg[k], o: s.hout[k]}
	}
	if j := lastConfig(sv, sv.n); j > 0 {
		return s.cfgs[sv.log[j-1].configNum()]
	}
	return conf{v: m.initial}
}

// quorumsIntersect mirrors spec.QuorumsIntersect.
func quorumsIntersect(m *Model, s *State) bool {
	if !m.reconf {
		return true
	}
	for i := range m.n {
		sv := &s.srv[i]
		prev := conf{v: m.initial}
		for _, e := range sv.log[:sv.n] {
			if e.isConfig() {
				c := s.cfgs[e.configNum()]
				if !m.intersect(prev, c) {
					return false
				}
				prev = c
			}
		}
	}
	return true
}

// intersect reports whether every quorum of a meets every quorum of b:
// no set of servers is a quorum of a while its complement is one of b
// (quorums are closed under supersets, so that is enough).
func (m *Model) intersect(a, b conf) bool {
	for x := uint8(0); x <= m.all; x++ {
		if m.specQuorum(a, x) && m.specQuorum(b, m.all&^x) {
			return false
		}
		if x == m.all {
			break
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
		if (y.term < x.term && !wiped(act, i)) || (x.term == y.term && x.voted != 0 && y.voted != x.voted) {
			return false // term-monotonic, vote-once
		}
		if y.commit < x.commit && !(act.Kind == spec.Restart && act.Server == uint8(i+1) && y.commit == y.snap) && !wiped(act, i) {
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
		t, c := b.hist[k].term(), conf{v: m.all}
		if b.hcfg[k] != 0 {
			c = conf{v: b.hcfg[k], o: b.hout[k]}
		}
		if !m.specQuorum(c, holders(m, a, k, t)) && m.specQuorum(c, holders(m, b, k, t)) {
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

// wiped reports whether act is the Wipe of the server at position i: its
// persistent state is gone by the scenario's own fault, which the
// monotonicity properties exempt, as commit-monotonic exempts a restart.
func wiped(act Action, i int) bool { return act.Kind == spec.Wipe && act.Server == uint8(i+1) }

func termMonotonic(m *Model, b *State, act Action, a *State) bool {
	for i := range m.n {
		if a.srv[i].term < b.srv[i].term && !wiped(act, i) {
			return false
		}
	}
	return true
}

func commitMonotonic(m *Model, b *State, act Action, a *State) bool {
	for i := range m.n {
		x, y := b.srv[i].commit, a.srv[i].commit
		if y < x && !(act.Kind == spec.Restart && act.Server == uint8(i+1) && y == a.srv[i].snap) && !wiped(act, i) {
			return false
		}
	}
	return true
}
