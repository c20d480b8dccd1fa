package model

import "github.com/raftcheck/raftcheck/spec"

// The names of the liveness properties (model/checking builds them), and
// of no-disruption, the transition property checked with them.
const (
	StableLeader       = "stable-leader"
	ProposalsCommitted = "proposals-committed"
	NoDisruption       = "no-disruption"
)

// LivenessProperties lists the liveness properties, then no-disruption.
var LivenessProperties = []string{StableLeader, ProposalsCommitted, NoDisruption}

// Raft's liveness properties (spec/README.md, "Liveness"), as predicates
// on the packed state; package model/checking turns them into the
// checker's properties with their fairness assumptions.

// AfterFaults reports whether s lies after the last fault: every fault
// of the budget (restarts, partitions, drops, duplications) has been used
// and the network is whole. From such a state on no fault can happen.
func (m *Model) AfterFaults(s *State) bool {
	c := &m.cfg
	return int(s.restarts) >= c.MaxRestarts && int(s.partitions) >= c.MaxPartitions && int(s.drops) >= c.MaxDrops &&
		int(s.dups) >= c.MaxDups && !s.partitioned()
}

// TopTerm is the highest currentTerm of any server in s.
func (m *Model) TopTerm(s *State) int {
	var t uint8
	for i := range m.n {
		t = max(t, s.srv[i].term)
	}
	return int(t)
}

// TermHeadroom is how many terms of the bound the liveness properties
// need left after the last fault: under the synchrony assumption an
// election fails only when its candidate's log is behind a majority's, and
// its voters' timers keep running while the candidate's restarts, so each
// of at most Servers-1 failed elections is by a different server before
// the one with the most up-to-date log wins. A behaviour whose faults
// leave fewer terms cannot show the elections Raft needs, so the
// properties start only where enough are left (see Settling).
func (m *Model) TermHeadroom() int { return m.cfg.Servers }

// Settling is the trigger of the liveness properties: s is after the last
// fault (AfterFaults) with TermHeadroom terms of the bound left.
func (m *Model) Settling(s *State) bool {
	return m.AfterFaults(s) && m.TopTerm(s)+m.TermHeadroom() <= m.cfg.MaxTerm
}

// topLeader returns the leader of the highest term, or 0.
func (m *Model) topLeader(s *State) uint8 {
	top := uint8(m.TopTerm(s))
	for i := range m.n {
		if sv := &s.srv[i]; sv.role == leader && sv.term == top {
			return uint8(i + 1)
		}
	}
	return 0
}

// LeaderSettled is the goal of stable-leader: a leader of the highest
// term exists and every server is in that term, so none can be a
// candidate (and, by no-disruption, none starts an election while it
// leads: the leader stays).
func (m *Model) LeaderSettled(s *State) bool {
	l := m.topLeader(s)
	if l == 0 {
		return false
	}
	t := s.srv[l-1].term
	for i := range m.n {
		if s.srv[i].term != t {
			return false
		}
	}
	return true
}

// Uncommitted is the trigger of proposals-committed: a settling state
// with an established leader (LeaderSettled, and every other server has
// heard from it in its term) whose last entry, of its own term, is not
// committed. The leader must be established because a value proposed to
// a leader that is deposed before its followers hear from it is lost
// (Raft leaves the retry to the client, §8), and only entries of the
// leader's term count because §5.4.2 commits earlier terms' entries only
// with one of the current term: Figure 2 Raft without a no-op entry at
// the start of a term leaves such an entry uncommitted when no value
// follows it.
func (m *Model) Uncommitted(s *State) bool {
	l := m.topLeader(s)
	if l == 0 || !m.Settling(s) || !m.LeaderSettled(s) {
		return false
	}
	for i := range m.n {
		if id := uint8(i + 1); id != l && !s.hasHeard(id) {
			return false
		}
	}
	sv := &s.srv[l-1]
	return sv.commit < sv.n && sv.lastTerm() == sv.term
}

// AllCommitted is the goal of proposals-committed: the top leader has
// committed its whole log, so every value proposed to it is committed.
func (m *Model) AllCommitted(s *State) bool {
	l := m.topLeader(s)
	return l != 0 && s.srv[l-1].commit == s.srv[l-1].n
}

// Disrupts reports whether step (before, a) starts an election although
// the server hears from a leader: after the last fault, Timeout(i) by a
// follower that has accepted an AppendEntries (or InstallSnapshot) of its
// current term, whose leader still leads. (Under synchrony only: the
// model records who has heard from a leader only then.) It is the property
// no-disruption (a server that hears from a leader does not start
// elections).
func (m *Model) Disrupts(before *State, a Action) bool {
	if a.Kind != spec.Timeout || !m.AfterFaults(before) {
		return false
	}
	sv := &before.srv[a.Server-1]
	if sv.role != follower || !before.hasHeard(a.Server) {
		return false
	}
	for i := range m.n {
		if o := &before.srv[i]; o.role == leader && o.term == sv.term {
			return true
		}
	}
	return false
}

// Term is server id's currentTerm in s.
func (m *Model) Term(s *State, id uint8) int { return int(s.srv[id-1].term) }
