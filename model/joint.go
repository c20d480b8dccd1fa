package model

import (
	"fmt"

	"github.com/raftcheck/raftcheck/spec"
)

// Joint consensus (paper §6, thesis §4.3; etcd's ConfChangeV2 enter and
// leave): with --reconfig joint a change is EnterJoint(i, C_new), which
// appends C_old,new (voters C_new, outgoing voters C_old), then, once that
// entry is committed, LeaveJoint(i), which appends C_new. While joint every
// decision needs a majority of each half (conf.hasQuorum). The seeded bug
// rejoin-blank-disk's Wipe is here too.

// jointActions appends leader id's enabled changes in joint mode:
// AddLearner per target (with --learners), EnterJoint per new voter set
// C_new (every non-empty set of servers other than the current voters:
// 2^n - 2 choices, the bound documented in spec/README.md), LeaveJoint.
func (m *Model) jointActions(s *State, sv *server, id uint8, dst []Action) []Action {
	if m.canLeave(s, sv) {
		dst = append(dst, Action{Kind: spec.LeaveJoint, Server: id})
	}
	if !m.canReconfig(s, sv) {
		return dst
	}
	c := m.configOf(s, sv)
	if c.joint() {
		return dst
	}
	for t := uint8(1); m.cfg.Learners && int(t) <= m.n; t++ {
		if c.members()&(1<<(t-1)) == 0 {
			dst = append(dst, Action{Kind: spec.AddLearner, Server: id, Target: t})
		}
	}
	for v := uint8(1); v <= m.all; v++ {
		if v != c.v {
			dst = append(dst, Action{Kind: spec.EnterJoint, Server: id, Config: v})
		}
	}
	return dst
}

// addLearner is AddLearner(i, t) in joint mode (single mode goes through
// reconfigure): t joins the learners of a configuration that is not joint.
func (m *Model) addLearner(s *State, id, t uint8) bool {
	if !m.joint {
		return m.reconfigure(s, spec.AddLearner, id, t)
	}
	if id < 1 || int(id) > m.n || t < 1 || int(t) > m.n || !m.cfg.Learners {
		return false
	}
	sv := &s.srv[id-1]
	c := m.configOf(s, sv)
	if !m.canReconfig(s, sv) || c.joint() || c.members()&(1<<(t-1)) != 0 {
		return false
	}
	m.appendConfig(s, sv, conf{v: c.v, l: c.l | 1<<(t-1)})
	s.reconfigs++
	return true
}

// enterJoint is EnterJoint(i, C_new): leader i, not joint, appends
// C_old,new = {voters C_new, outgoing its voters, learners minus C_new}.
func (m *Model) enterJoint(s *State, id, cnew uint8) bool {
	if !m.joint || id < 1 || int(id) > m.n || cnew == 0 || cnew&^m.all != 0 {
		return false
	}
	sv := &s.srv[id-1]
	c := m.configOf(s, sv)
	if !m.canReconfig(s, sv) || c.joint() || cnew == c.v {
		return false
	}
	m.appendConfig(s, sv, conf{v: cnew, o: c.v, l: c.l &^ cnew})
	s.reconfigs++
	return true
}

// canLeave is LeaveJoint's guard: a leader with room in its log whose
// configuration in effect is joint and whose entry is committed (under
// leave-joint-early, committed or not).
func (m *Model) canLeave(s *State, sv *server) bool {
	if !m.joint || sv.role != leader || sv.n >= MaxLog || !m.configOf(s, sv).joint() {
		return false
	}
	return m.bug == bugLeaveJointEarly || lastConfig(sv, sv.n) <= sv.commit
}

// leaveJoint is LeaveJoint(i): leader i appends C_new (the joint
// configuration's voters and learners). It completes the change that
// EnterJoint started, so it takes nothing from the change budget.
func (m *Model) leaveJoint(s *State, id uint8) bool {
	if id < 1 || int(id) > m.n {
		return false
	}
	sv := &s.srv[id-1]
	if !m.canLeave(s, sv) {
		return false
	}
	c := m.configOf(s, sv)
	m.appendConfig(s, sv, conf{v: c.v, l: c.l})
	return true
}

// whyNoLeave explains why LeaveJoint is refused.
func (m *Model) whyNoLeave(s *State, sv *server) string {
	switch {
	case sv.n >= MaxLog:
		return "the log is full"
	case !m.configOf(s, sv).joint():
		return "the configuration is not joint"
	}
	return "the joint configuration's entry is not committed yet"
}

// canWipe is Wipe(i)'s guard: only under rejoin-blank-disk, a server with
// something to lose that is not a member of its own configuration. (In the
// correct protocol a removed server's id is retired: it never comes back
// blank under it, so Wipe is never enabled.)
func (m *Model) canWipe(s *State, sv *server, id uint8) bool {
	return m.bug == bugRejoinBlankDisk && (sv.n > 0 || sv.term > 0) && m.configOf(s, sv).members()&(1<<(id-1)) == 0
}

// wipe is Wipe(i): server i loses its disk and restarts blank under the
// same id: term 0, no vote, an empty log (so the initial configuration).
func (m *Model) wipe(s *State, id uint8) bool {
	if id < 1 || int(id) > m.n || !m.canWipe(s, &s.srv[id-1], id) {
		return false
	}
	s.srv[id-1] = server{}
	return true
}

// whyNoWipe explains why Wipe is refused.
func (m *Model) whyNoWipe(s *State, id uint8) string {
	if m.bug != bugRejoinBlankDisk {
		return "a removed server's id is retired: it never rejoins with a blank disk (only the seeded bug rejoin-blank-disk wipes)"
	}
	return fmt.Sprintf("S%d is blank already, or a member of its own configuration", id)
}
