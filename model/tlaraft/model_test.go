package tlaraft

import (
	"bytes"
	"strings"
	"testing"
)

// step applies a, which must be enabled, and returns the successor.
func step(t *testing.T, m *Model, s State, a Action) State {
	t.Helper()
	var out State
	if !m.Next(&s, a, &out) {
		t.Fatalf("%v not enabled in\n%s", a, m.Format(&s))
	}
	return out
}

// enabled reports whether a appears among the actions of s.
func listed(m *Model, s *State, a Action) bool {
	for _, b := range m.Actions(s, nil) {
		if b == a {
			return true
		}
	}
	return false
}

func receive(m Msg) Action {
	return Action{Kind: KindUpdateTerm, I: m.Dst, J: m.Src, key: m.key()}
}

// receiveAction returns the Receive action of s for msg, failing if msg
// cannot be received.
func receiveAction(t *testing.T, m *Model, s *State, msg Msg) Action {
	t.Helper()
	for _, a := range m.Actions(s, nil) {
		if a.Kind.isReceive() && a.key == msg.key() {
			return a
		}
	}
	t.Fatalf("Receive(%v) not enabled in\n%s", msg, m.Format(s))
	return Action{}
}

func TestInit(t *testing.T) {
	m := MustNew(DefaultConfig())
	s := m.Init()
	for i := range 3 {
		if s.CurrentTerm(i) != 1 || s.Role(i) != Follower || s.VotedFor(i) != -1 || len(s.Log(i)) != 0 || s.CommitIndex(i) != 0 {
			t.Errorf("server %d starts as %s", i+1, m.Format(&s))
		}
	}
	// Only timeouts are enabled at first.
	acts := m.Actions(&s, nil)
	if len(acts) != 3 {
		t.Fatalf("initial actions %v, want the three timeouts", acts)
	}
	for i, a := range acts {
		if a != (Action{Kind: KindTimeout, I: uint8(i)}) {
			t.Errorf("initial action %d is %v", i, a)
		}
	}
}

// An election in raft.tla's own steps: Timeout does not vote, the
// candidate sends itself a RequestVote, and votes are tallied from the
// responses.
func TestElection(t *testing.T) {
	m := MustNew(Config{Servers: 3, Values: 1, MaxTerm: 3, MaxLogLen: 2, MaxCopies: 1, MaxInFlight: 3})
	s := step(t, m, m.Init(), Action{Kind: KindTimeout, I: 0})
	if s.Role(0) != Candidate || s.CurrentTerm(0) != 2 || s.VotedFor(0) != -1 {
		t.Fatalf("after Timeout(1):\n%s", m.Format(&s))
	}
	if listed(m, &s, Action{Kind: KindBecomeLeader, I: 0}) {
		t.Fatal("BecomeLeader enabled with no votes")
	}
	// RequestVote(1, 1): the candidate asks itself.
	s = step(t, m, s, Action{Kind: KindRequestVote, I: 0, J: 0})
	rv := Msg{Type: RequestVoteRequest, Term: 2, Src: 0, Dst: 0}
	if got := s.Messages(); len(got) != 1 || got[0] != (BagEntry{rv, 1}) {
		t.Fatalf("bag after RequestVote(1, 1): %v", got)
	}
	s = step(t, m, s, receiveAction(t, m, &s, rv))
	if s.VotedFor(0) != 0 {
		t.Fatalf("server 1 did not vote for itself:\n%s", m.Format(&s))
	}
	resp := Msg{Type: RequestVoteResponse, Term: 2, VoteGranted: true, Src: 0, Dst: 0}
	if got := s.Messages(); len(got) != 1 || got[0] != (BagEntry{resp, 1}) {
		t.Fatalf("bag after the self vote: %v (the request must be consumed)", got)
	}
	s = step(t, m, s, receiveAction(t, m, &s, resp))
	if len(s.Messages()) != 0 {
		t.Fatalf("the response was not consumed: %v", s.Messages())
	}
	// One vote of three is no quorum; RequestVote(1, 1) is no longer enabled.
	if listed(m, &s, Action{Kind: KindBecomeLeader, I: 0}) || listed(m, &s, Action{Kind: KindRequestVote, I: 0, J: 0}) {
		t.Fatalf("wrong actions after one vote:\n%s", m.Format(&s))
	}
	s = step(t, m, s, Action{Kind: KindRequestVote, I: 0, J: 1})
	rv2 := Msg{Type: RequestVoteRequest, Term: 2, Src: 0, Dst: 1}
	// Server 2 is in term 1: UpdateTerm first, leaving the message in the bag.
	a := receiveAction(t, m, &s, rv2)
	if a.Kind != KindUpdateTerm {
		t.Fatalf("first receipt by a server of an older term is %v", a)
	}
	s = step(t, m, s, a)
	if s.CurrentTerm(1) != 2 || s.Role(1) != Follower || s.VotedFor(1) != -1 || s.Messages()[0] != (BagEntry{rv2, 1}) {
		t.Fatalf("after UpdateTerm:\n%s", m.Format(&s))
	}
	s = step(t, m, s, receiveAction(t, m, &s, rv2))
	s = step(t, m, s, receiveAction(t, m, &s, Msg{Type: RequestVoteResponse, Term: 2, VoteGranted: true, Src: 1, Dst: 0}))
	s = step(t, m, s, Action{Kind: KindBecomeLeader, I: 0})
	if s.Role(0) != Leader || s.srv[0].next != [MaxServers]uint8{1, 1, 1} {
		t.Fatalf("after BecomeLeader:\n%s", m.Format(&s))
	}
	// AdvanceCommitIndex is enabled, as a self-loop, with nothing to commit.
	if after := step(t, m, s, Action{Kind: KindAdvanceCommitIndex, I: 0}); !bytes.Equal(m.Encode(nil, &after), m.Encode(nil, &s)) {
		t.Fatal("AdvanceCommitIndex changed a state with nothing to commit")
	}
	// A leader does not time out and does not send itself AppendEntries.
	if listed(m, &s, Action{Kind: KindTimeout, I: 0}) || listed(m, &s, Action{Kind: KindAppendEntries, I: 0, J: 0}) {
		t.Fatal("leader enables Timeout or AppendEntries to itself")
	}
}

// leaderState returns a state of m where server 1 leads term 2 with log
// [2:v1] and servers 2 and 3 follow in term 2 with empty logs.
func leaderState(m *Model) State {
	s := m.Init()
	for i := range 3 {
		s.srv[i].term = 2
	}
	s.srv[0].role = Leader
	s.srv[0].appendEntry(Entry{2, 1})
	for j := range 3 {
		s.srv[0].next[j] = 1
	}
	return s
}

func TestAppendEntries(t *testing.T) {
	m := MustNew(Config{Servers: 3, Values: 1, MaxTerm: 3, MaxLogLen: 2, MaxCopies: 2, MaxInFlight: 3})
	s := leaderState(m)
	s = step(t, m, s, Action{Kind: KindAppendEntries, I: 0, J: 1})
	ae := Msg{Type: AppendEntriesRequest, Term: 2, Entry: Entry{2, 1}, Src: 0, Dst: 1}
	if got := s.Messages(); len(got) != 1 || got[0].Msg != ae {
		t.Fatalf("AppendEntries(1, 2) sent %v, want %v", got, ae)
	}
	// The follower appends the entry and keeps the request...
	s = step(t, m, s, receiveAction(t, m, &s, ae))
	if got := s.Log(1); len(got) != 1 || got[0] != (Entry{2, 1}) || s.Messages()[0].Msg != ae {
		t.Fatalf("after the append:\n%s", m.Format(&s))
	}
	// ...then handles it again as already done, replying and consuming it.
	s = step(t, m, s, receiveAction(t, m, &s, ae))
	ok := Msg{Type: AppendEntriesResponse, Term: 2, Success: true, MatchIndex: 1, Src: 1, Dst: 0}
	if got := s.Messages(); len(got) != 1 || got[0] != (BagEntry{ok, 1}) {
		t.Fatalf("after the already-done case: %v", got)
	}
	s = step(t, m, s, receiveAction(t, m, &s, ok))
	if s.srv[0].next[1] != 2 || s.srv[0].match[1] != 1 {
		t.Fatalf("after the response:\n%s", m.Format(&s))
	}
	s = step(t, m, s, Action{Kind: KindAdvanceCommitIndex, I: 0})
	if s.CommitIndex(0) != 1 {
		t.Fatalf("a quorum holds index 1 of the current term, but:\n%s", m.Format(&s))
	}
	// Sending the same request twice makes a count of 2, past MaxCopies 1.
	c := DefaultConfig()
	c.MaxLogLen, c.MaxInFlight = 1, 2
	m1 := MustNew(c)
	s = leaderState(m1)
	s = step(t, m1, s, Action{Kind: KindAppendEntries, I: 0, J: 1})
	s = step(t, m1, s, Action{Kind: KindAppendEntries, I: 0, J: 1})
	if got := s.Messages(); len(got) != 1 || got[0].Count != 2 || m1.Within(&s) {
		t.Fatalf("two copies %v, within %v", got, m1.Within(&s))
	}
}

func TestConflictRemovesLastEntry(t *testing.T) {
	m := MustNew(Config{Servers: 3, Values: 2, MaxTerm: 3, MaxLogLen: 3, MaxCopies: 1, MaxInFlight: 2})
	s := m.Init()
	for i := range 3 {
		s.srv[i].term = 3
	}
	// Server 2 has [1:v1 1:v2 1:v1]; the leader sends entry 2 of term 3.
	for _, e := range []Entry{{1, 1}, {1, 2}, {1, 1}} {
		s.srv[1].appendEntry(e)
	}
	s.srv[1].commit = 1
	ae := Msg{Type: AppendEntriesRequest, Term: 3, PrevLogIndex: 1, PrevLogTerm: 1, Entry: Entry{3, 2}, Src: 0, Dst: 1}
	s.send(ae)
	for want := 2; want >= 1; want-- {
		s = step(t, m, s, receiveAction(t, m, &s, ae))
		if len(s.Log(1)) != want || s.count(ae.key()) != 1 || s.CommitIndex(1) != 1 {
			t.Fatalf("conflict should drop the last entry and keep the request:\n%s", m.Format(&s))
		}
	}
	s = step(t, m, s, receiveAction(t, m, &s, ae)) // now append
	if got := s.Log(1); len(got) != 2 || got[1] != (Entry{3, 2}) {
		t.Fatalf("after append:\n%s", m.Format(&s))
	}
}

func TestCandidateStepsDown(t *testing.T) {
	m := MustNew(DefaultConfig())
	s := m.Init()
	s.srv[1].term, s.srv[1].role, s.srv[1].granted, s.srv[1].responded = 1, Candidate, 2, 3
	ae := Msg{Type: AppendEntriesRequest, Term: 1, Src: 0, Dst: 1}
	s.send(ae)
	s = step(t, m, s, receiveAction(t, m, &s, ae))
	// Back to Follower, keeping the message and the candidate bookkeeping.
	if s.Role(1) != Follower || s.count(ae.key()) != 1 || s.srv[1].granted != 2 || s.srv[1].responded != 3 {
		t.Fatalf("after the return to follower:\n%s", m.Format(&s))
	}
	// A stale response is dropped; a leader of the message's term ignores a request.
	s.srv[1].term = 2
	resp := Msg{Type: AppendEntriesResponse, Term: 1, Src: 2, Dst: 1}
	s.send(resp)
	if a := receiveAction(t, m, &s, resp); a.Kind != KindDropStaleResponse {
		t.Fatalf("stale response handled by %v", a)
	}
	s.srv[0].role = Leader
	lead := Msg{Type: AppendEntriesRequest, Term: 1, Src: 2, Dst: 0}
	s.send(lead)
	for _, a := range m.Actions(&s, nil) {
		if a.key == lead.key() {
			t.Fatalf("%v enabled for a leader of the request's term", a)
		}
	}
}

func TestOptionalActions(t *testing.T) {
	cfg := DefaultConfig()
	m := MustNew(cfg)
	s := leaderState(m)
	msg := Msg{Type: AppendEntriesRequest, Term: 2, Src: 0, Dst: 1}
	s.send(msg)
	for _, kind := range []ActionKind{KindRestart, KindDuplicateMessage, KindDropMessage} {
		a := Action{Kind: kind, key: msg.key()}
		var out State
		if listed(m, &s, a) || m.Next(&s, a, &out) {
			t.Errorf("%v enabled though not configured", a)
		}
	}
	cfg.Restart, cfg.Duplicate, cfg.Drop = true, true, true
	m = MustNew(cfg)
	dup := step(t, m, s, Action{Kind: KindDuplicateMessage, key: msg.key()})
	if dup.count(msg.key()) != 2 {
		t.Errorf("DuplicateMessage: %v", dup.Messages())
	}
	if drop := step(t, m, s, Action{Kind: KindDropMessage, key: msg.key()}); len(drop.Messages()) != 0 {
		t.Errorf("DropMessage leaves %v", drop.Messages())
	}
	s.srv[0].commit, s.srv[0].match[1] = 1, 1
	r := step(t, m, s, Action{Kind: KindRestart, I: 0})
	v := r.srv[0]
	if v.role != Follower || v.commit != 0 || v.next != [MaxServers]uint8{1, 1, 1} || v.match != [MaxServers]uint8{} ||
		v.term != 2 || v.logLen != 1 || r.count(msg.key()) != 1 {
		t.Errorf("after Restart(1):\n%s", m.Format(&r))
	}
	// Receiving a message that is not in the bag is not enabled.
	var out State
	if m.Next(&r, receive(Msg{Type: RequestVoteRequest, Term: 2, Src: 1, Dst: 2}), &out) {
		t.Error("received a message not in the bag")
	}
}

func TestWithin(t *testing.T) {
	m := MustNew(DefaultConfig())
	s := m.Init()
	if !m.Within(&s) {
		t.Fatal("initial state outside the constraint")
	}
	for name, change := range map[string]func(*State){
		"term":      func(s *State) { s.srv[2].term = 3 },
		"log":       func(s *State) { s.srv[1].appendEntry(Entry{1, 1}); s.srv[1].appendEntry(Entry{1, 1}) },
		"copies":    func(s *State) { s.send(Msg{Src: 1}); s.send(Msg{Src: 1}) },
		"in flight": func(s *State) { s.send(Msg{Src: 1}); s.send(Msg{Src: 2}) },
	} {
		u := s
		change(&u)
		if m.Within(&u) {
			t.Errorf("%s: within the constraint:\n%s", name, m.Format(&u))
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := Config{Servers: 6, Values: 0, MaxTerm: 16, MaxLogLen: -1, MaxCopies: 7, MaxInFlight: 0}
	err := bad.Validate()
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"servers = 6", "values = 0", "max-term = 16", "max-log = -1", "max-copies = 7", "max-msgs (in flight) = 0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := New(bad); err == nil {
		t.Error("New accepted a bad config")
	}
}

func TestStrings(t *testing.T) {
	ae := Msg{Type: AppendEntriesRequest, Term: 2, PrevLogIndex: 1, PrevLogTerm: 1, Entry: Entry{2, 1}, CommitIndex: 1, Src: 0, Dst: 1}
	for _, c := range []struct {
		a    Action
		want string
	}{
		{Action{Kind: KindRequestVote, I: 0, J: 1}, "RequestVote(1, 2)"},
		{Action{Kind: KindTimeout, I: 2}, "Timeout(3)"},
		{Action{Kind: KindClientRequest, I: 1, V: 1}, "ClientRequest(2, v1)"},
		{Action{Kind: KindHandleAppendEntriesRequest, I: 1, J: 0, key: ae.key()},
			"Receive(AppendEntriesRequest 1→2 term 2 prev 1/1 entries [2:v1] commit 1) via HandleAppendEntriesRequest"},
		{Action{Kind: KindDropMessage, key: Msg{Type: RequestVoteResponse, Term: 1, VoteGranted: true, Src: 2, Dst: 0}.key()},
			"DropMessage(RequestVoteResponse 3→1 term 1 granted true)"},
	} {
		if got := c.a.String(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
	m := MustNew(DefaultConfig())
	s := leaderState(m)
	s.srv[0].votedFor, s.srv[0].granted = 1, 3
	s.send(ae)
	got := m.Format(&s)
	for _, want := range []string{"s1: leader    term 2 votedFor 1 log [2:v1] commit 0 responded {} granted {1,2} next [1 1 1] match [0 0 0]",
		"s2: follower  term 2 votedFor Nil log []", "msg ×1 AppendEntriesRequest 1→2"} {
		if !strings.Contains(got, want) {
			t.Errorf("Format lacks %q:\n%s", want, got)
		}
	}
}

// Every message field survives packing, at the ends of its range.
func TestMsgKey(t *testing.T) {
	for _, msg := range []Msg{
		{Type: RequestVoteRequest, Term: MaxTermLimit, LastLogTerm: MaxTermLimit, LastLogIndex: MaxLogLenLimit, Src: 4, Dst: 4},
		{Type: RequestVoteResponse, Term: 1, VoteGranted: true, Src: 3, Dst: 0},
		{Type: AppendEntriesRequest, Term: MaxTermLimit, PrevLogIndex: MaxLogLenLimit, PrevLogTerm: MaxTermLimit,
			Entry: Entry{MaxTermLimit, MaxValues}, CommitIndex: MaxLogLenLimit, Src: 4, Dst: 3},
		{Type: AppendEntriesRequest, Term: 1, Src: 0, Dst: 1},
		{Type: AppendEntriesResponse, Term: 7, Success: true, MatchIndex: MaxLogLenLimit, Src: 2, Dst: 1},
	} {
		if k := msg.key(); k>>(32-countBits) != 0 || unpack(k) != msg {
			t.Errorf("%v packs to %#x and back to %v", msg, k, unpack(k))
		}
	}
}
