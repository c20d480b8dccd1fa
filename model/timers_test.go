package model

import (
	"testing"

	"github.com/raftcheck/raftcheck/spec"
)

// mustStep takes a on s or fails the test.
func mustStep(t *testing.T, m *Model, s State, a spec.Action) State {
	t.Helper()
	out, err := m.Step(s, a)
	if err != nil {
		t.Fatalf("%v: %v", a, err)
	}
	return out
}

// TestTimerRules: with the timers on, Timeout needs ElectionTicks ticks;
// granting a vote and hearing from the leader restart the timer, refusing
// a vote does not; a leader's Tick is its heartbeat.
func TestTimerRules(t *testing.T) {
	m := MustNew(Config{Servers: 3, MaxTerm: 3, MaxValues: 1, MaxMsgs: 3, MaxCopies: 1, Timing: Timing{Timers: true}})
	s := m.Init()
	if _, err := m.Step(s, spec.Action{Kind: spec.Timeout, Server: 1}); err == nil {
		t.Fatal("Timeout(S1) enabled before its timer expired")
	}
	for range ElectionTicks {
		s = mustStep(t, m, s, spec.Action{Kind: spec.Tick, Server: 1})
	}
	if _, err := m.Step(s, spec.Action{Kind: spec.Tick, Server: 1}); err == nil {
		t.Fatal("Tick(S1) enabled on an expired timer")
	}
	s = mustStep(t, m, s, spec.Action{Kind: spec.Tick, Server: 2})
	s = mustStep(t, m, s, spec.Action{Kind: spec.Timeout, Server: 1})
	if e, _ := m.Timer(&s, 1); e != 0 {
		t.Fatalf("a new candidate's timer is %d, want 0", e)
	}
	rv := func(to spec.ServerID) spec.Action {
		return spec.Action{Kind: spec.Deliver, Message: &spec.Message{Type: spec.RequestVote, From: 1, To: to, Term: 1}}
	}
	s = mustStep(t, m, s, rv(2)) // granted: S2's timer restarts
	if e, _ := m.Timer(&s, 2); e != 0 {
		t.Fatalf("S2 granted a vote; its timer is %d, want 0", e)
	}
	s = mustStep(t, m, s, spec.Action{Kind: spec.Tick, Server: 3})
	s.srv[2].term, s.srv[2].voted = 1, 3 // S3 has voted for itself in term 1: it refuses S1
	s = mustStep(t, m, s, rv(3))
	if e, _ := m.Timer(&s, 3); e != 1 || s.srv[2].voted != 3 {
		t.Fatalf("S3 refused a vote; its timer is %d (vote S%d), want 1 (unchanged)", e, s.srv[2].voted)
	}
	s = mustStep(t, m, s, spec.Action{Kind: spec.Deliver, Message: &spec.Message{Type: spec.RequestVoteResponse, From: 2, To: 1, Term: 1, Granted: true}})
	if s.srv[0].role != leader {
		t.Fatal("S1 did not win")
	}
	before := s.total
	s = mustStep(t, m, s, spec.Action{Kind: spec.Tick, Server: 1})
	if s.total != before+2 {
		t.Fatalf("a leader's tick sent %d messages, want a heartbeat of 2", s.total-before)
	}
}

// TestTimersOffUnchanged: without timers Tick is never enabled and the
// encoding is as before (the pinned counts rely on it).
func TestTimersOffUnchanged(t *testing.T) {
	off := MustNew(DefaultConfig())
	s := off.Init()
	for _, a := range off.Actions(&s, nil) {
		if a.Kind == spec.Tick {
			t.Fatal("Tick enabled without timers")
		}
	}
	on := DefaultConfig()
	on.Timers = true
	if len(MustNew(on).Encode(nil, &s)) != len(off.Encode(nil, &s))+on.Servers {
		t.Fatal("the timers should add one byte per server to the encoding, and only with timers")
	}
}
