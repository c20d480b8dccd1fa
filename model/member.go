package model

import (
	"fmt"
	"math/bits"

	"github.com/raftcheck/raftcheck/spec"
)

// Membership changes (thesis §4.1-4.3, paper §6; spec/README.md,
// "Membership changes"). A configuration entry is an entry whose value
// nibble is above MaxLog: value MaxLog+1+k stands for configuration number
// k, whose voters, outgoing voters and learners are State.cfgs[k]. The
// table, not the entry, holds the configuration because a byte has no room
// for both a term and three sets of servers; each distinct configuration
// gets one number, in order of first proposal, so equal configurations are
// equal entries. Single-server changes are here, joint consensus and
// learners in joint.go.

// MaxReconfigs is the most configurations a run may number: the value
// nibbles MaxLog+1..15. Every change but LeaveJoint may number one, so it
// is also the most changes of a run (half of it with joint consensus,
// whose change numbers two: C_old,new and C_new).
const MaxReconfigs = 15 - MaxLog

// conf is a configuration: the voters (C_new while joint), the outgoing
// voters (C_old while joint, else 0) and the learners, as server masks
// (bit i-1 for Si), as spec.Configuration.
type conf struct{ v, o, l uint8 }

func (c conf) joint() bool         { return c.o != 0 }
func (c conf) voters() uint8       { return c.v | c.o }
func (c conf) members() uint8      { return c.v | c.o | c.l }
func (c conf) voter(id uint8) bool { return c.voters()&(1<<(id-1)) != 0 }

func (c conf) spec() spec.Configuration {
	return spec.Configuration{Voters: spec.Members(c.v), Outgoing: spec.Members(c.o), Learners: spec.Members(c.l)}
}

// majority reports whether acks hold a majority of the servers of mask.
func majority(acks, mask uint8) bool { return bits.OnesCount8(acks&mask) >= quorum(mask) }

// quorum is the smallest majority of the members of mask.
func quorum(mask uint8) int { return bits.OnesCount8(mask)/2 + 1 }

func mkConfigEntry(term, k uint8) entry { return mkEntry(term, MaxLog+1+k) }
func (e entry) isConfig() bool          { return e.value() > MaxLog }
func (e entry) configNum() uint8        { return e.value() - MaxLog - 1 }

// configOf is the configuration in effect at sv: the last configuration
// entry of its log, in effect as soon as appended (§4.1), or the initial
// one. Without membership changes it is every server.
func (m *Model) configOf(s *State, sv *server) conf {
	if !m.reconf {
		return conf{v: m.all}
	}
	top := sv.n
	if m.bug == bugConfigOnCommit {
		top = sv.commit // the mutation: only committed configurations count
	}
	if k := lastConfig(sv, top); k > 0 {
		return s.cfgs[sv.log[k-1].configNum()]
	}
	return conf{v: m.initial}
}

// lastConfig is the 1-based index of the last configuration entry among
// sv's first top entries, 0 for none.
func lastConfig(sv *server, top uint8) uint8 {
	for k := top; k > 0; k-- {
		if sv.log[k-1].isConfig() {
			return k
		}
	}
	return 0
}

// hasQuorum is the decision rule of c (spec.Configuration.HasQuorum): a
// majority of the voters and, while joint, of the outgoing voters too.
func (m *Model) hasQuorum(c conf, acks uint8) bool {
	if !majority(acks, c.v) {
		return false
	}
	return !c.joint() || m.bug == bugJointNewMajorityOnly || majority(acks, c.o)
}

// asked is the set a candidate of configuration c asks for votes: the
// voters (every server under count-nonmember-votes).
func (m *Model) asked(c conf) uint8 {
	if m.bug == bugCountNonmemberVotes {
		return m.all
	}
	return c.voters()
}

// wins reports whether a candidate of configuration c holding votes has
// won. Under count-nonmember-votes a vote counts as a number, whoever cast
// it.
func (m *Model) wins(c conf, votes uint8) bool {
	if m.bug != bugCountNonmemberVotes {
		return m.hasQuorum(c, votes)
	}
	n := bits.OnesCount8(votes)
	return n >= quorum(c.v) && (!c.joint() || n >= quorum(c.o))
}

// peers is the number of servers leader id replicates to: the other
// members of its configuration (voters of both halves and learners).
func (m *Model) peers(s *State, sv *server, id uint8) int {
	if !m.reconf {
		return m.n - 1
	}
	return bits.OnesCount8(m.configOf(s, sv).members() &^ (1 << (id - 1)))
}

// votePeers is the number of RequestVotes candidate id sends.
func (m *Model) votePeers(s *State, sv *server, id uint8) int {
	if !m.reconf {
		return m.n - 1
	}
	return bits.OnesCount8(m.asked(m.configOf(s, sv)) &^ (1 << (id - 1)))
}

// pendingConfig reports whether sv's log holds an uncommitted
// configuration entry: a change is still in flight.
func pendingConfig(sv *server) bool { return lastConfig(sv, sv.n) > sv.commit }

// canReconfig is the guard shared by every change but LeaveJoint: a leader
// with room in its log and in the change budget that has committed an
// entry of its current term (the 2015 fix) and has no change in flight
// (§4.2: one at a time).
func (m *Model) canReconfig(s *State, sv *server) bool {
	return m.reconf && sv.role == leader && int(s.reconfigs) < m.cfg.MaxReconfigs && sv.n < MaxLog &&
		(m.bug == bugReconfigBeforeTermCommit || sv.termAt(sv.commit) == sv.term) &&
		(m.bug == bugConcurrentReconfigs || !pendingConfig(sv))
}

// reconfigActions appends leader id's enabled changes, in the order
// AddLearner, AddServer, RemoveServer per target (single mode), then
// EnterJoint per configuration and LeaveJoint (joint mode).
func (m *Model) reconfigActions(s *State, sv *server, id uint8, dst []Action) []Action {
	if m.joint {
		return m.jointActions(s, sv, id, dst)
	}
	if !m.canReconfig(s, sv) {
		return dst
	}
	for t := uint8(1); int(t) <= m.n; t++ {
		for _, k := range []spec.ActionKind{spec.AddLearner, spec.AddServer, spec.RemoveServer} {
			if _, ok := m.changed(s, sv, k, t); ok {
				dst = append(dst, Action{Kind: k, Server: id, Target: t})
			}
		}
	}
	return dst
}

// changed is the configuration a single-server change k of target t makes
// from leader sv's, and whether k is allowed for t there (the guards of
// spec/README.md other than canReconfig's).
func (m *Model) changed(s *State, sv *server, k spec.ActionKind, t uint8) (conf, bool) {
	c, bit := m.configOf(s, sv), uint8(1)<<(t-1)
	if c.joint() {
		return c, false
	}
	switch k {
	case spec.AddLearner:
		return conf{v: c.v, l: c.l | bit}, m.cfg.Learners && c.members()&bit == 0
	case spec.AddServer:
		if c.v&bit != 0 || (m.cfg.Learners && (c.l&bit == 0 || sv.match[t-1] < sv.commit)) {
			return c, false
		}
		return conf{v: c.v | bit, l: c.l &^ bit}, true
	case spec.RemoveServer:
		ok := c.l&bit != 0 || (c.v&bit != 0 && c.v != bit)
		return conf{v: c.v &^ bit, l: c.l &^ bit}, ok
	}
	return c, false
}

// reconfigure is AddLearner, AddServer or RemoveServer(i, t): leader i
// appends a configuration entry of its term with t changed, in effect at
// once (§4.1).
func (m *Model) reconfigure(s *State, k spec.ActionKind, id, t uint8) bool {
	if m.joint || id < 1 || int(id) > m.n || t < 1 || int(t) > m.n {
		return false
	}
	sv := &s.srv[id-1]
	if !m.canReconfig(s, sv) {
		return false
	}
	c, ok := m.changed(s, sv, k, t)
	if !ok {
		return false
	}
	m.appendConfig(s, sv, c)
	s.reconfigs++
	return true
}

// appendConfig appends to leader sv's log a configuration entry of its
// term for c.
func (m *Model) appendConfig(s *State, sv *server, c conf) {
	sv.log[sv.n] = mkConfigEntry(sv.term, s.configNumber(c))
	sv.n++
}

// configNumber returns the number of configuration c, giving it the next
// free one if it is new.
func (s *State) configNumber(c conf) uint8 {
	for k := range s.ncfg {
		if s.cfgs[k] == c {
			return k
		}
	}
	s.cfgs[s.ncfg] = c
	s.ncfg++
	return s.ncfg - 1
}

// stepDownIfRemoved makes leader self a follower once it has committed a
// configuration in which it is not a voter (thesis §4.2.2; while joint a
// voter of C_old stays).
func (m *Model) stepDownIfRemoved(s *State, sv *server, self uint8) {
	if !m.reconf || m.configOf(s, sv).voter(self) || pendingConfig(sv) {
		return
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
	case m.joint != (a.Kind == spec.EnterJoint || a.Kind == spec.LeaveJoint) && a.Kind != spec.AddLearner:
		return fmt.Sprintf("%v is not a change of --reconfig %s", a.Kind, m.mode())
	case a.Kind == spec.AddLearner && !m.cfg.Learners:
		return "learners are off (--learners)"
	case a.Kind == spec.LeaveJoint:
		return m.whyNoLeave(s, sv)
	case int(s.reconfigs) >= m.cfg.MaxReconfigs:
		return fmt.Sprintf("reconfiguration bound %d reached", m.cfg.MaxReconfigs)
	case sv.n >= MaxLog:
		return "the log is full"
	case sv.termAt(sv.commit) != sv.term && m.bug != bugReconfigBeforeTermCommit:
		return "the leader has not committed an entry of its term yet"
	case pendingConfig(sv) && m.bug != bugConcurrentReconfigs:
		return "a configuration change is still uncommitted"
	case m.configOf(s, sv).joint():
		return "the configuration is joint: only LeaveJoint may follow"
	case a.Kind == spec.EnterJoint:
		return "the new voters must be non-empty and differ from the current ones"
	case a.Kind == spec.AddLearner:
		return fmt.Sprintf("S%d is already a member", a.Target)
	case a.Kind == spec.AddServer && m.cfg.Learners:
		return fmt.Sprintf("S%d is a voter, or not a learner that has caught up (matchIndex >= commitIndex)", a.Target)
	case a.Kind == spec.AddServer:
		return fmt.Sprintf("S%d is already a voter", a.Target)
	}
	return fmt.Sprintf("S%d is not a member, or the last voter", a.Target)
}

// mode names the kind of membership changes, as --reconfig does.
func (m *Model) mode() string {
	if m.joint {
		return "joint"
	}
	return "single"
}
