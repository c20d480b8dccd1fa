package tlaraft

import (
	"fmt"
	"slices"
	"strings"

	"github.com/raftcheck/raftcheck/checker"
)

// invariant is a named state invariant; check returns nil or the
// violation.
type invariant struct {
	name  string
	check func(m *Model, s *State) error
}

// invariants are the safety properties checked on every state, in the
// order they are checked.
var invariants = []invariant{
	{"election-safety", electionSafety},
	{"log-matching", logMatching},
	{"state-machine-safety", stateMachineSafety},
	{"commit-in-log", commitInLog},
	{"leader-completeness", leaderCompleteness},
}

// InvariantNames returns the names Properties accepts.
func InvariantNames() []string {
	names := make([]string, len(invariants))
	for x, inv := range invariants {
		names[x] = inv.name
	}
	return names
}

// Properties returns the factory checker.Check wants for the named
// invariants (all of them when names is nil), or an error naming an
// unknown one.
func (m *Model) Properties(names []string) (func() checker.Properties[State, Action], error) {
	for _, n := range names {
		if !slices.Contains(InvariantNames(), n) {
			return nil, fmt.Errorf("tlaraft: unknown property %q (have %s)", n, strings.Join(InvariantNames(), ", "))
		}
	}
	var p checker.Properties[State, Action]
	for _, inv := range invariants {
		if names != nil && !slices.Contains(names, inv.name) {
			continue
		}
		check := inv.check
		p.Invariants = append(p.Invariants, checker.Invariant[State]{Name: inv.name,
			Check: func(s *State) error { return check(m, s) }})
	}
	p.Goals = m.goals()
	// The checks keep no scratch space, so every worker can share them.
	return func() checker.Properties[State, Action] { return p }, nil
}

// goals are the reachability goals that show what a run covered: a
// leader elected (always expected) and an entry committed (expected when
// the bounds allow a log entry and a value).
func (m *Model) goals() []checker.Goal[State, Action] {
	n := m.cfg.Servers
	return []checker.Goal[State, Action]{
		{Name: "leader-elected", Expected: true, Hint: "raise --max-term (raft.tla starts in term 1) or --max-msgs", Reached: func(s *State) bool {
			return slices.ContainsFunc(s.srv[:n], func(sv server) bool { return sv.role == Leader })
		}},
		{Name: "value-committed", Expected: m.cfg.Values > 0 && m.cfg.MaxLogLen > 0, Hint: "raise --max-term or --max-msgs", Reached: func(s *State) bool {
			return slices.ContainsFunc(s.srv[:n], func(sv server) bool { return sv.commit > 0 })
		}},
	}
}

// electionSafety: no two current leaders share a term (raft.tla's
// LessOrEqualOneLeader).
func electionSafety(m *Model, s *State) error {
	for i := range m.n {
		for j := i + 1; j < m.n; j++ {
			a, b := &s.srv[i], &s.srv[j]
			if a.role == Leader && b.role == Leader && a.term == b.term {
				return fmt.Errorf("servers %d and %d are both leaders of term %d", i+1, j+1, a.term)
			}
		}
	}
	return nil
}

// logMatching: if two logs have an entry of the same term at an index,
// they are equal up to that index (raft.tla's LogMatching).
func logMatching(m *Model, s *State) error {
	for i := range m.n {
		for j := i + 1; j < m.n; j++ {
			a, b := &s.srv[i], &s.srv[j]
			for k := min(a.logLen, b.logLen); k >= 1; k-- {
				if a.log[k-1].Term == b.log[k-1].Term {
					if !slices.Equal(a.log[:k], b.log[:k]) {
						return fmt.Errorf("logs of servers %d and %d agree on the term at index %d but differ before it", i+1, j+1, k)
					}
					break // a shorter prefix with a matching term is inside this one
				}
			}
		}
	}
	return nil
}

// stateMachineSafety: committed prefixes agree: no two servers have
// committed different entries at an index.
func stateMachineSafety(m *Model, s *State) error {
	for i := range m.n {
		for j := i + 1; j < m.n; j++ {
			a, b := &s.srv[i], &s.srv[j]
			upto := min(a.commit, b.commit, a.logLen, b.logLen)
			for k := range upto {
				if a.log[k] != b.log[k] {
					return fmt.Errorf("servers %d and %d committed different entries at index %d: %v and %v",
						i+1, j+1, k+1, a.log[k], b.log[k])
				}
			}
		}
	}
	return nil
}

// commitInLog: commitIndex[i] <= Len(log[i]).
func commitInLog(m *Model, s *State) error {
	for i := range m.n {
		if v := &s.srv[i]; v.commit > v.logLen {
			return fmt.Errorf("server %d has commitIndex %d past its log of %d", i+1, v.commit, v.logLen)
		}
	}
	return nil
}

// leaderCompleteness: a leader whose term exceeds server i's term holds
// i's committed prefix.
func leaderCompleteness(m *Model, s *State) error {
	for l := range m.n {
		ld := &s.srv[l]
		if ld.role != Leader {
			continue
		}
		for i := range m.n {
			v := &s.srv[i]
			if i == l || ld.term <= v.term {
				continue
			}
			upto := min(v.commit, v.logLen)
			if ld.logLen < upto || !slices.Equal(ld.log[:upto], v.log[:upto]) {
				return fmt.Errorf("leader %d of term %d lacks entries committed by server %d (term %d) up to index %d",
					l+1, ld.term, i+1, v.term, upto)
			}
		}
	}
	return nil
}
