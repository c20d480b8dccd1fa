package model

import (
	"fmt"
	"math/bits"

	"github.com/raftcheck/raftcheck/spec"
)

// Single-server membership changes (thesis §4.1-4.2; spec/README.md,
// "Membership changes"). A configuration entry is an entry whose value
// nibble is above MaxLog: value MaxLog+1+k stands for configuration number
// k, whose member mask is State.cfgs[k]. The table, not the entry, holds
// the mask because a byte has no room for both a term and a set of seven
// servers; each distinct mask gets one number, in order of first proposal,
// so equal configurations are equal entries.

// MaxReconfigs is the most membership changes a run may make: the value
// nibbles MaxLog+1..15 number the configurations.
const MaxReconfigs = 15 - MaxLog

func mkConfigEntry(term, k uint8) entry { return mkEntry(term, MaxLog+1+k) }
func (e entry) isConfig() bool          { return e.value() > MaxLog }
func (e entry) configNum() uint8        { return e.value() - MaxLog - 1 }

// quorum is the smallest majority of the members of mask.
func quorum(mask uint8) int { return bits.OnesCount8(mask)/2 + 1 }

// configOf is the configuration in effect at sv: the last configuration
// entry of its log, in effect as soon as appended (§4.1), or the initial
// one. Without membership changes it is every server.
func (m *Model) configOf(s *State, sv *server) uint8 {
	if !m.reconf {
		return m.all
	}
	top := sv.n
	if m.bug == bugConfigOnCommit {
		top = sv.commit // the mutation: only committed configurations count
	}
	for k := int(top) - 1; k >= 0; k-- {
		if e := sv.log[k]; e.isConfig() {
			return s.cfgs[e.configNum()]
		}
	}
	return m.initial
}

// quorumOf is the number of votes or replicas sv needs: a majority of its
// configuration.
func (m *Model) quorumOf(s *State, sv *server) int { return quorum(m.configOf(s, sv)) }

// voters is the set a candidate asks for votes: the members of its
// configuration (every server under count-nonmember-votes).
func (m *Model) voters(s *State, sv *server) uint8 {
	if m.bug == bugCountNonmemberVotes {
		return m.all
	}
	return m.configOf(s, sv)
}

// peers is the number of servers leader id replicates to: the other
// members of its configuration.
func (m *Model) peers(s *State, sv *server, id uint8) int {
	if !m.reconf {
		return m.n - 1
	}
	return bits.OnesCount8(m.configOf(s, sv) &^ (1 << (id - 1)))
}

// votePeers is the number of RequestVotes candidate id sends.
func (m *Model) votePeers(s *State, sv *server, id uint8) int {
	if !m.reconf {
		return m.n - 1
	}
	return bits.OnesCount8(m.voters(s, sv) &^ (1 << (id - 1)))
}

// pendingConfig reports whether sv's log holds an uncommitted
// configuration entry: a change is still in flight.
func pendingConfig(sv *server) bool {
	for k := sv.commit; k < sv.n; k++ {
		if sv.log[k].isConfig() {
			return true
		}
	}
	return false
}

// canReconfig is the guard shared by AddServer and RemoveServer: a leader
// with room in its log and in the change budget that has committed an
// entry of its current term (the 2015 fix) and has no change in flight
// (§4.2: one at a time).
func (m *Model) canReconfig(s *State, sv *server) bool {
	return m.reconf && sv.role == leader && int(s.reconfigs) < m.cfg.MaxReconfigs && sv.n < MaxLog &&
		(m.bug == bugReconfigBeforeTermCommit || sv.termAt(sv.commit) == sv.term) &&
		(m.bug == bugConcurrentReconfigs || !pendingConfig(sv))
}

// reconfigActions appends leader id's enabled changes: adding each
// server outside its configuration and removing each member (leaving at
// least one).
func (m *Model) reconfigActions(s *State, sv *server, id uint8, dst []Action) []Action {
	if !m.canReconfig(s, sv) {
		return dst
	}
	members := m.configOf(s, sv)
	for t := uint8(1); int(t) <= m.n; t++ {
		switch {
		case members&(1<<(t-1)) == 0:
			dst = append(dst, Action{Kind: spec.AddServer, Server: id, Target: t})
		case bits.OnesCount8(members) > 1:
			dst = append(dst, Action{Kind: spec.RemoveServer, Server: id, Target: t})
		}
	}
	return dst
}

// reconfigure is AddServer(i, t) or RemoveServer(i, t): leader i appends a
// configuration entry of its term with t added to or removed from its
// configuration, in effect at once (§4.1).
func (m *Model) reconfigure(s *State, id, t uint8, add bool) bool {
	if id < 1 || int(id) > m.n || t < 1 || int(t) > m.n {
		return false
	}
	sv := &s.srv[id-1]
	if !m.canReconfig(s, sv) {
		return false
	}
	members, bit := m.configOf(s, sv), uint8(1)<<(t-1)
	if add == (members&bit != 0) || (!add && members == bit) {
		return false
	}
	k := s.configNumber(members ^ bit)
	sv.log[sv.n] = mkConfigEntry(sv.term, k)
	sv.n++
	s.reconfigs++
	return true
}

// configNumber returns the number of configuration mask, giving it the
// next free one if it is new.
func (s *State) configNumber(mask uint8) uint8 {
	for k := range s.ncfg {
		if s.cfgs[k] == mask {
			return k
		}
	}
	s.cfgs[s.ncfg] = mask
	s.ncfg++
	return s.ncfg - 1
}

// stepDownIfRemoved makes leader self a follower once it has committed a
// configuration that excludes it (§4.2.2).
func (m *Model) stepDownIfRemoved(s *State, sv *server, self uint8) {
	if !m.reconf || m.configOf(s, sv)&(1<<(self-1)) != 0 {
		return
	}
	for k := int(sv.n) - 1; k >= int(sv.commit); k-- {
		if sv.log[k].isConfig() {
			return // the change that removes it is not committed yet
		}
	}
	stepDown(sv, sv.term)
}

// whyNoReconfig explains, for an error message, why a change is refused.
func (m *Model) whyNoReconfig(s *State, a Action) string {
	sv := &s.srv[a.Server-1]
	switch {
	case !m.reconf:
		return "membership changes are off (max-reconfigs 0)"
	case sv.role != leader:
		return "only a leader changes the configuration"
	case int(s.reconfigs) >= m.cfg.MaxReconfigs:
		return fmt.Sprintf("reconfiguration bound %d reached", m.cfg.MaxReconfigs)
	case sv.n >= MaxLog:
		return "the log is full"
	case sv.termAt(sv.commit) != sv.term && m.bug != bugReconfigBeforeTermCommit:
		return "the leader has not committed an entry of its term yet"
	case pendingConfig(sv) && m.bug != bugConcurrentReconfigs:
		return "a configuration change is still uncommitted"
	case a.Kind == spec.AddServer:
		return fmt.Sprintf("S%d is already a member", a.Target)
	}
	return fmt.Sprintf("S%d is not a member, or the last one", a.Target)
}
