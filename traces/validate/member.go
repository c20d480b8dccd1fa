package validate

import (
	"github.com/raftcheck/raftcheck/spec"
)

// reconfigure is a leader appending a configuration entry (thesis §4.1–4.3,
// the membership rules of the brief's semantics): the change guards shared
// by every change, then the shape of the change itself.
func (s *server) reconfigure(c spec.Configuration) *Failure {
	const rule = "Reconfigure guard"
	switch {
	case s.role != spec.Leader:
		return fail(rule, "%v is a %v, not a leader", s.id, s.role)
	case s.termAt(s.commit) != s.term:
		return fail(rule, "%v has committed no entry of its term %d yet (Ongaro's 2015 fix)", s.id, s.term)
	case s.cfgAt > s.commit:
		return fail(rule, "the configuration entry at index %d is not committed (one change at a time)", s.cfgAt)
	}
	if why := changeShape(s.config(), c); why != "" {
		return mismatch(rule, "config", "a change of "+s.config().String(), c, "%s", why)
	}
	return s.appendLog(spec.Entry{Term: s.term, Config: c.Voters, Outgoing: c.Outgoing, Learners: c.Learners})
}

// changeShape says why c is no allowed change of cur ("" when it is): a
// single-server change (AddServer, RemoveServer, AddLearner: the voters
// and the members each differ by at most one server), EnterJoint (C_old
// becomes the outgoing half), or LeaveJoint (the joint configuration's
// C_new alone).
func changeShape(cur, c spec.Configuration) string {
	switch {
	case cur.Joint() && c == spec.Configuration{Voters: cur.Voters, Learners: cur.Learners}:
		return ""
	case cur.Joint():
		return "a joint configuration can only be left, to its C_new"
	case c.Joint() && c.Outgoing != cur.Voters:
		return "entering a joint configuration keeps the current voters as C_old"
	case c.Joint() && c.Voters == cur.Voters:
		return "a joint configuration needs a C_new other than the current voters"
	case c.Joint():
		return ""
	case c == cur:
		return "the configuration does not change"
	case !(cur.Voters.SingleChange(c.Voters) && cur.Members().SingleChange(c.Members())):
		return "more than one server changes at once"
	}
	return ""
}

// stepDownIfRemoved: a leader that is not a voter of its configuration
// steps down once that configuration's entry is committed (thesis §4.2.2).
func (s *server) stepDownIfRemoved() {
	if s.cfgAt != 0 && s.cfgAt <= s.commit && !s.config().Voter(s.id) {
		s.becomeFollower()
	}
}
