package model

import (
	"fmt"

	"github.com/raftcheck/raftcheck/spec"
)

// Model time (spec/README.md, "Liveness"): each server's election timer is
// a bounded logical counter that Tick advances, and Timeout is enabled only
// once it has expired. Off by default (Timing zero), so the model and
// every pinned count are as before; on with --timers, and with --liveness.

// ElectionTicks is the election timeout in ticks: Timeout(i) is enabled
// once i's timer has counted this many ticks since its last reset. Three is
// the least for which, under the synchrony assumption, a follower of a
// leader that heartbeats every tick never times out (a reset can come
// just before or just after the follower's own tick of a round, so the
// timer can reach 2 between two heartbeats). The implementation matches
// with raft.Config.ElectionTick = ElectionTicks+1 and a fixed (not
// randomised) timeout, HeartbeatTick = 1 (impl/cluster.Options.Timers).
const ElectionTicks = 3

// tickedBit marks, in State.timer, a server that has ticked in the current
// round (synchrony only); heardBit one that has accepted an AppendEntries
// or InstallSnapshot of its current term (synchrony only: the history
// no-disruption reads); the low bits count the ticks since the reset.
const (
	tickedBit = 0x80
	heardBit  = 0x40
	flagBits  = tickedBit | heardBit
)

// Timing switches on model time and the timing assumption. Both are off
// in the zero value.
type Timing struct {
	// Timers models the election timers: Tick(i) advances server i's
	// timer (a leader's Tick is its heartbeat, as raft.Node.Tick with
	// HeartbeatTick 1), Timeout(i) needs it expired, and the resets are
	// those of Figure 2 and raft.Node: granting a vote, accepting an
	// AppendEntries or InstallSnapshot of the current term, starting an
	// election, becoming leader, restarting.
	Timers bool `json:"timers,omitempty"`
	// Synchrony is the timing assumption of the liveness properties
	// (spec/README.md, "Liveness"): before the last fault time is not
	// modelled (any server may time out at any moment; Tick is disabled);
	// after it (every fault of the budget used and the network whole),
	// (S1) time does not advance while a message is in flight, (S2)
	// clocks run at the same rate: time advances in rounds in which every
	// server ticks once, (S3) a leader heartbeats at each of its ticks,
	// and (S4) timeouts are randomised: a timer does not expire while
	// another server's has expired. It needs Timers.
	Synchrony bool `json:"synchrony,omitempty"`
}

// validate checks the timing switches against the term bound and the
// cluster size: synchrony keeps servers terms of the bound for the
// elections after the last fault (Model.TermHeadroom).
func (t Timing) validate(maxTerm, servers int) error {
	if t.Synchrony && !t.Timers {
		return fmt.Errorf("synchrony: the timing assumption needs the timers (timers: true)")
	}
	if t.Synchrony && maxTerm < servers {
		return fmt.Errorf("max-term: %d leaves fewer than the %d terms synchrony keeps for the elections after the last fault (use at least %d)", maxTerm, servers, servers)
	}
	return nil
}

// String names the timing switches on, or "".
func (t Timing) String() string {
	switch {
	case t.Synchrony:
		return "timers=synchrony"
	case t.Timers:
		return "timers=on"
	}
	return ""
}

// elapsed is server id's timer: ticks since its last reset.
func (s *State) elapsed(id uint8) uint8 { return s.timer[id-1] &^ flagBits }

// resetTimer restarts server id's election timer (its marks stay).
func (m *Model) resetTimer(s *State, id uint8) {
	s.timer[id-1] &= flagBits
}

// heardLeader resets server id's timer on hearing from the leader of its
// term, and under synchrony marks it as having heard.
func (m *Model) heardLeader(s *State, id uint8) {
	m.resetTimer(s, id)
	if m.cfg.Synchrony {
		s.timer[id-1] |= heardBit
	}
}

// newTerm forgets that server id has heard from a leader: its term has
// changed (or it restarted).
func (m *Model) newTerm(s *State, id uint8) {
	s.timer[id-1] &^= heardBit
}

// hasHeard reports whether server id has heard from the leader of its
// current term (synchrony only).
func (s *State) hasHeard(id uint8) bool { return s.timer[id-1]&heardBit != 0 }

// timed reports whether the timers govern Timeout in s: with Timers, and
// under Synchrony only after the last fault.
func (m *Model) timed(s *State) bool {
	return m.cfg.Timers && (!m.cfg.Synchrony || m.AfterFaults(s))
}

// timerAllowsTimeout is Timeout(i)'s timer guard: i's timer has expired.
// Under synchrony, before the last fault, where time is not modelled, it
// is the term guard that keeps the last TermHeadroom terms of the bound for
// the elections after the faults: a timeout then reaches at most
// MaxTerm - TermHeadroom.
func (m *Model) timerAllowsTimeout(s *State, id uint8) bool {
	if m.cfg.Synchrony && !m.AfterFaults(s) {
		return int(s.srv[id-1].term) < m.cfg.MaxTerm-m.TermHeadroom()
	}
	return !m.timed(s) || s.elapsed(id) >= ElectionTicks
}

// heartbeatsTimed reports whether a leader heartbeats only at its ticks
// (S3): under synchrony after the last fault, where the Heartbeat action
// (a heartbeat at any moment) is disabled. Elsewhere heartbeats are free:
// Heartbeat is enabled whenever there is room, as without timers.
func (m *Model) heartbeatsTimed(s *State) bool {
	return m.cfg.Synchrony && m.AfterFaults(s)
}

// canTick is Tick(i)'s guard. A leader's tick is a heartbeat, so it needs
// room for one AppendEntries per peer; a follower's or candidate's needs an
// unexpired timer. Under synchrony after the last fault also: no message
// in flight (S1), i has not ticked in this round (S2), and the tick that
// would expire i's timer waits while another's has expired (S4).
func (m *Model) canTick(s *State, sv *server, id uint8) bool {
	if !m.timed(s) {
		return false
	}
	if sv.role == leader {
		if int(s.total)+m.peers(s, sv, id) > m.cfg.MaxMsgs {
			return false
		}
	} else if s.elapsed(id) >= ElectionTicks {
		return false
	}
	if !m.cfg.Synchrony {
		return true
	}
	if s.total != 0 || s.timer[id-1]&tickedBit != 0 {
		return false
	}
	return sv.role == leader || s.elapsed(id)+1 < ElectionTicks || m.expiredServer(s) == 0
}

// expiredServer returns a follower or candidate whose timer has expired
// (the lowest id), or 0.
func (m *Model) expiredServer(s *State) uint8 {
	for i := range m.n {
		if s.srv[i].role != leader && s.elapsed(uint8(i+1)) >= ElectionTicks {
			return uint8(i + 1)
		}
	}
	return 0
}

// tick is Tick(i): a leader heartbeats; another server's timer advances.
// Under synchrony i is marked as ticked in this round, and the round ends
// when every server has ticked or waits with an expired timer.
func (m *Model) tick(s *State, id uint8) bool {
	sv := &s.srv[id-1]
	if !m.canTick(s, sv, id) {
		return false
	}
	if sv.role == leader {
		m.sendAppends(s, id, false)
	} else {
		s.timer[id-1]++
	}
	if m.cfg.Synchrony {
		s.timer[id-1] |= tickedBit
		m.endRound(s)
	}
	return true
}

// endRound clears the round marks once every server has ticked in the
// round or cannot tick until it times out.
func (m *Model) endRound(s *State) {
	for i := range m.n {
		done := s.timer[i]&tickedBit != 0 || (s.srv[i].role != leader && s.elapsed(uint8(i+1)) >= ElectionTicks)
		if !done {
			return
		}
	}
	for i := range m.n {
		s.timer[i] &^= tickedBit
	}
}

// whyNoTick explains, for an error message, why Tick(i) is not enabled.
func (m *Model) whyNoTick(s *State, id uint8) string {
	sv := &s.srv[id-1]
	switch {
	case !m.cfg.Timers:
		return "the timers are off (--timers)"
	case !m.timed(s):
		return "under the synchrony assumption time is not modelled before the last fault"
	case sv.role == leader && int(s.total)+m.peers(s, sv, id) > m.cfg.MaxMsgs:
		return fmt.Sprintf("a leader's tick is a heartbeat: no room for %d messages (bound %d)", m.peers(s, sv, id), m.cfg.MaxMsgs)
	case sv.role != leader && s.elapsed(id) >= ElectionTicks:
		return "the election timer has expired: the server times out next"
	case s.total != 0:
		return "synchrony: time does not advance while a message is in flight"
	case s.timer[id-1]&tickedBit != 0:
		return "synchrony: the server has ticked in this round"
	}
	return fmt.Sprintf("synchrony: S%d's timer has expired, so no other timer expires before it times out", m.expiredServer(s))
}

// tickActions appends Tick(id) to dst when it is enabled.
func (m *Model) tickActions(s *State, sv *server, id uint8, dst []Action) []Action {
	if m.canTick(s, sv, id) {
		dst = append(dst, Action{Kind: spec.Tick, Server: id})
	}
	return dst
}

// checkTimers is CheckWellFormed's part for the timers: nothing without
// them, counts within the timeout, round marks only under synchrony.
func (m *Model) checkTimers(s *State) error {
	for i := range MaxServers {
		t := s.timer[i]
		switch e := t &^ flagBits; {
		case (i >= m.n || !m.cfg.Timers) && t != 0:
			return fmt.Errorf("server %d: timer %#x set without timers", i+1, t)
		case e > ElectionTicks:
			return fmt.Errorf("server %d: timer %d beyond the election timeout %d", i+1, e, ElectionTicks)
		case t&flagBits != 0 && !m.cfg.Synchrony:
			return fmt.Errorf("server %d: round or heard mark without the synchrony assumption", i+1)
		case s.srv[i].role == leader && e != 0:
			return fmt.Errorf("server %d: a leader's election timer runs", i+1)
		}
	}
	return nil
}

// Timer returns server id's election timer in s: the ticks since its
// last reset, and whether it has ticked in the current synchrony round.
func (m *Model) Timer(s *State, id spec.ServerID) (elapsed int, ticked bool) {
	t := s.timer[id-1]
	return int(t &^ flagBits), t&tickedBit != 0
}
