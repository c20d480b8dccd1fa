package spec

import (
	"encoding/json"
	"strings"
	"testing"
)

// e is shorthand for an entry.
func e(t Term, v Value) Entry { return Entry{Term: t, Value: v} }

// cluster builds a state of followers with the given logs, terms 1.
func cluster(logs ...[]Entry) State {
	var s State
	for i, l := range logs {
		s.Servers = append(s.Servers, View{ID: ServerID(i + 1), Term: 1, Log: l})
	}
	return s
}

func TestInvariantsHoldOnAHealthyState(t *testing.T) {
	s := cluster([]Entry{e(1, "a"), e(2, "b")}, []Entry{e(1, "a"), e(2, "b")}, []Entry{e(1, "a")})
	s.Servers[0].Role, s.Servers[0].Term = Leader, 2
	s.Servers[0].CommitIndex = 2
	s.Servers[1].CommitIndex = 1
	s.History.Observe(s.Servers)
	if err := CheckAll(&s, nil); err != nil {
		t.Fatalf("healthy state reported: %v", err)
	}
	if got := len(s.History.Committed); got != 2 {
		t.Fatalf("history holds %d committed entries, want 2", got)
	}
	if s.History.LeaderIn(2) != 1 || s.History.LeaderIn(1) != None {
		t.Fatalf("leader history = %v", s.History.LeaderOf)
	}
}

// Each invariant has a hand-built state that violates it, so none is
// vacuous; the error must name what is wrong.
func TestEveryInvariantHasAViolation(t *testing.T) {
	cases := map[string]func() State{
		"election-safety": func() State {
			s := cluster(nil, nil, nil)
			s.Servers[0].Role, s.Servers[0].Term = Leader, 2
			s.History.Observe(s.Servers)
			// S1 stepped down; S2 becomes leader of the same term later.
			s.Servers[0].Role = Follower
			s.Servers[1].Role, s.Servers[1].Term = Leader, 2
			s.History.Observe(s.Servers)
			return s
		},
		"log-matching": func() State {
			return cluster([]Entry{e(1, "a"), e(2, "b")}, []Entry{e(1, "x"), e(2, "b")}, nil)
		},
		"leader-completeness": func() State {
			s := cluster([]Entry{e(1, "a")}, []Entry{e(1, "a")}, nil)
			s.Servers[0].CommitIndex = 1
			s.History.Observe(s.Servers)
			s.Servers[2].Role, s.Servers[2].Term = Leader, 3
			s.History.Observe(s.Servers)
			return s
		},
		"state-machine-safety": func() State {
			s := cluster([]Entry{e(1, "a")}, []Entry{e(2, "b")}, []Entry{e(2, "b")})
			s.Servers[0].CommitIndex = 1
			s.Servers[1].CommitIndex = 1
			return s
		},
		"commit-quorum": func() State {
			s := cluster([]Entry{e(1, "a")}, nil, nil)
			s.Servers[0].CommitIndex = 1
			return s
		},
		"quorums-intersect": func() State {
			// S1 goes from {S1,S2,S3} to {S1,S2,S3,S4,S5} in one entry.
			s := cluster([]Entry{{Term: 1, Config: 0b11111}}, nil, nil, nil, nil)
			s.History.Members = 0b111
			return s
		},
		"snapshot-committed": func() State {
			// S1 snapshots an entry nobody has committed.
			s := cluster([]Entry{e(1, "a")}, []Entry{e(1, "a")}, nil)
			s.Servers[0].SnapshotIndex, s.Servers[0].CommitIndex = 1, 1
			return s
		},
	}
	for _, p := range Invariants {
		build, ok := cases[p.Name]
		if !ok {
			t.Errorf("invariant %s has no violating example", p.Name)
			continue
		}
		s := build()
		err := p.Check(&s)
		if err == nil {
			t.Errorf("%s: violating state not reported", p.Name)
			continue
		}
		if err := CheckAll(&s, []string{p.Name}); err == nil || !strings.HasPrefix(err.Error(), p.Name+":") {
			t.Errorf("CheckAll does not name %s: %v", p.Name, err)
		}
		t.Logf("%s: %v", p.Name, err)
	}
}

// With membership changes, commit-quorum counts the majority of the
// configuration the entry was committed under, not of every server.
func TestCommitQuorumOverConfigurations(t *testing.T) {
	add4 := Entry{Term: 1, Config: 0b1111}
	// S1 and S2 of {S1,S2,S3} hold and commit 1:a; S4 exists outside.
	s := cluster([]Entry{e(1, "a")}, []Entry{e(1, "a")}, nil, nil)
	s.History.Members = 0b111
	s.Servers[0].CommitIndex = 1
	s.History.Observe(s.Servers)
	if err := CheckAll(&s, nil); err != nil {
		t.Fatalf("2 of 3 members hold the entry, yet: %v", err)
	}
	if q := s.History.Committed[0].Quorum; q != 0b111 {
		t.Fatalf("committed under %v, want {S1,S2,S3}", q)
	}
	// Counted over all four servers, 2 of 4 would not be a majority.
	s.History.Members = 0
	if err := CommitOnlyWithQuorum(&s); err == nil {
		t.Fatal("without configurations, 2 of 4 servers passed as a majority")
	}
	// S3 commits nothing; S1 adds S4 and commits 1:a under {S1..S4}: S1
	// and S2 are not a majority of it.
	s = cluster([]Entry{e(1, "a"), add4}, []Entry{e(1, "a")}, nil, nil)
	s.History.Members = 0b111
	s.Servers[0].CommitIndex = 1
	s.History.Observe(s.Servers)
	if err := CommitOnlyWithQuorum(&s); err == nil || !strings.Contains(err.Error(), "of the 4 servers of {S1,S2,S3,S4}") {
		t.Fatalf("commit under {S1..S4} by 2 servers: %v", err)
	}
	if got := ConfigOf(s.Servers[0].Log, s.History.Members); got != 0b1111 {
		t.Fatalf("configuration in effect %v, want the appended one", got)
	}
}

func TestStateMachineSafetyUsesHistory(t *testing.T) {
	// S1 committed "a" at 1 and then restarted (commitIndex 0); no server
	// shows it committed now, but S2 committing "b" at 1 still violates.
	s := cluster([]Entry{e(1, "a")}, []Entry{e(1, "a")}, []Entry{e(2, "b")})
	s.Servers[0].CommitIndex = 1
	s.History.Observe(s.Servers)
	s.Servers[0].CommitIndex = 0
	s.Servers[2].CommitIndex = 1
	s.History.Observe(s.Servers)
	if err := StateMachineSafety(&s); err == nil {
		t.Fatal("commit of a different entry after a restart not reported")
	}
	if len(s.History.Committed) != 1 || s.History.Committed[0].Value != "a" {
		t.Fatalf("inconsistent prefix entered the history: %v", s.History.Committed)
	}
}

func TestLeaderCompletenessIgnoresLowerTermLeaders(t *testing.T) {
	// Committed in term 3; a stale leader of term 2 need not hold it.
	s := cluster([]Entry{e(1, "a")}, []Entry{e(1, "a")}, nil)
	s.Servers[0].Term, s.Servers[0].CommitIndex = 3, 1
	s.History.Observe(s.Servers)
	s.Servers[2].Role, s.Servers[2].Term = Leader, 2
	s.History.Observe(s.Servers)
	if err := LeaderCompleteness(&s); err != nil {
		t.Fatalf("stale leader reported: %v", err)
	}
}

func TestEveryTransitionPropertyHasAViolation(t *testing.T) {
	type step struct {
		before, after State
		action        Action
	}
	cases := map[string]func() step{
		"leader-append-only": func() step {
			b := cluster([]Entry{e(1, "a"), e(1, "b")}, nil, nil)
			b.Servers[0].Role = Leader
			a := b.Clone()
			a.Servers[0].Log = a.Servers[0].Log[:1]
			return step{b, a, Action{Kind: Deliver}}
		},
		"committed-never-lost": func() step {
			b := cluster([]Entry{e(1, "a")}, []Entry{e(1, "a")}, nil)
			b.Servers[0].CommitIndex = 1
			b.History.Observe(b.Servers)
			a := b.Clone()
			a.Servers[1].Log = nil
			return step{b, a, Action{Kind: Deliver}}
		},
		"vote-once": func() step {
			b := cluster(nil, nil, nil)
			b.Servers[0].VotedFor = 2
			a := b.Clone()
			a.Servers[0].VotedFor = None
			return step{b, a, Action{Kind: Restart, Server: 1}}
		},
		"term-monotonic": func() step {
			b := cluster(nil, nil, nil)
			a := b.Clone()
			a.Servers[2].Term = 0
			return step{b, a, Action{Kind: Restart, Server: 3}}
		},
		"commit-monotonic": func() step {
			b := cluster([]Entry{e(1, "a")}, []Entry{e(1, "a")}, nil)
			b.Servers[1].CommitIndex = 1
			a := b.Clone()
			a.Servers[1].CommitIndex = 0
			// A restart of S1 does not excuse S2's commitIndex going down.
			return step{b, a, Action{Kind: Restart, Server: 1}}
		},
	}
	for _, p := range TransitionProperties {
		build, ok := cases[p.Name]
		if !ok {
			t.Errorf("transition property %s has no violating example", p.Name)
			continue
		}
		st := build()
		if err := p.Check(&st.before, &st.action, &st.after); err == nil {
			t.Errorf("%s: violating step not reported", p.Name)
		} else {
			t.Logf("%s: %v", p.Name, err)
		}
		// The same step with nothing changed holds.
		if err := CheckStep(&st.before, &st.action, &st.before, []string{p.Name}); err != nil {
			t.Errorf("%s: stutter step reported: %v", p.Name, err)
		}
	}
}

func TestCommitMonotonicAllowsRestart(t *testing.T) {
	b := cluster([]Entry{e(1, "a")}, []Entry{e(1, "a")}, nil)
	b.Servers[1].CommitIndex = 1
	a := b.Clone()
	a.Servers[1].CommitIndex = 0
	if err := CommitMonotonic(&b, &Action{Kind: Restart, Server: 2}, &a); err != nil {
		t.Fatalf("restart reported: %v", err)
	}
}

func TestParsePropertyList(t *testing.T) {
	if names, err := ParsePropertyList(""); err != nil || names != nil {
		t.Fatalf("empty list: %v %v", names, err)
	}
	names, err := ParsePropertyList("vote-once, log-matching")
	if err != nil || len(names) != 2 {
		t.Fatalf("two names: %v %v", names, err)
	}
	if _, err := ParsePropertyList("log-matching,nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("unknown name: %v", err)
	}
}

func TestUpToDate(t *testing.T) {
	log := []Entry{e(1, "a"), e(2, "b")}
	for _, c := range []struct {
		term  Term
		index Index
		want  bool
	}{{2, 2, true}, {2, 1, false}, {3, 0, true}, {1, 5, false}, {2, 3, true}} {
		if got := UpToDate(c.term, c.index, log); got != c.want {
			t.Errorf("UpToDate(%d, %d) = %v, want %v", c.term, c.index, got, c.want)
		}
	}
}

func TestActionValidate(t *testing.T) {
	good := []Action{
		{Kind: Timeout, Server: 1},
		{Kind: ClientRequest, Server: 3, Value: "x"},
		{Kind: Deliver, Message: &Message{Type: RequestVote, From: 1, To: 2, Term: 1}},
		{Kind: Partition, Groups: [][]ServerID{{1, 2}, {3}}},
		{Kind: Heal},
		{Kind: AddServer, Server: 1, Target: 3},
		{Kind: RemoveServer, Server: 2, Target: 2},
		{Kind: AddLearner, Server: 1, Target: 3},
		{Kind: EnterJoint, Server: 1, Config: 0b110},
		{Kind: LeaveJoint, Server: 1},
		{Kind: Wipe, Server: 3},
		{Kind: Tick, Server: 2},
	}
	for _, a := range good {
		if err := a.Validate(3); err != nil {
			t.Errorf("%v: %v", a, err)
		}
	}
	bad := map[string]Action{
		"server":  {Kind: Timeout, Server: 4},
		"value":   {Kind: ClientRequest, Server: 1},
		"message": {Kind: Drop},
		"groups":  {Kind: Partition, Groups: [][]ServerID{{1, 2}, {2, 3}}},
		"kind":    {Kind: 42},
		"granted": {Kind: Deliver, Message: &Message{Type: AppendEntries, From: 1, To: 2, Term: 1, Granted: true}},
		"target":  {Kind: AddServer, Server: 1, Target: 4},
		"only AddServer, RemoveServer and AddLearner take a target": {Kind: Timeout, Server: 1, Target: 2},
		"only EnterJoint takes a configuration":                     {Kind: AddServer, Server: 1, Target: 2, Config: 3},
		"not a non-empty set of servers":                            {Kind: EnterJoint, Server: 1, Config: 0b1000},
		"LeaveJoint takes only a server":                            {Kind: LeaveJoint, Server: 1, Value: "x"},
	}
	for want, a := range bad {
		err := a.Validate(3)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: error %v does not name %q", a, err, want)
		}
	}
}

func TestTextEncodings(t *testing.T) {
	a := Action{Kind: Deliver, Message: &Message{Type: AppendEntriesResponse, From: 2, To: 1, Term: 3, Success: true, MatchIndex: 2}}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"kind":"Deliver"`) || !strings.Contains(string(b), `"type":"AppendEntriesResponse"`) {
		t.Fatalf("encoded %s", b)
	}
	var back Action
	if err := json.Unmarshal(b, &back); err != nil || back.Kind != Deliver || !back.Message.Equal(a.Message) {
		t.Fatalf("decoded %+v, %v", back, err)
	}
	v := View{ID: 1, Role: Candidate, Votes: []ServerID{1, 3}}
	if b, _ := json.Marshal(v); !strings.Contains(string(b), `"role":"candidate"`) || !strings.Contains(string(b), `"votes":[1,3]`) {
		t.Fatalf("view %s", b)
	}
	p := Action{Kind: Partition, Groups: [][]ServerID{{1, 2}, {3}}}
	b, _ = json.Marshal(p)
	if !strings.Contains(string(b), `"groups":[[1,2],[3]]`) {
		t.Fatalf("partition %s", b)
	}
	if err := json.Unmarshal(b, &back); err != nil || len(back.Groups) != 2 || back.Groups[1][0] != 3 {
		t.Fatalf("decoded %+v, %v", back, err)
	}
	r := Action{Kind: RemoveServer, Server: 1, Target: 3}
	if b, _ = json.Marshal(r); !strings.Contains(string(b), `"kind":"RemoveServer"`) || !strings.Contains(string(b), `"target":3`) || r.String() != "RemoveServer(S1, S3)" {
		t.Fatalf("membership change %s, %v", b, r)
	}
	if e := (Entry{Term: 2, Config: 0b101}); e.String() != "2:{S1,S3}" {
		t.Fatalf("configuration entry renders as %v", e)
	}
	var zero Action
	if b, _ := json.Marshal(zero); json.Unmarshal(b, &back) != nil || back.Kind != 0 {
		t.Fatalf("zero action %s does not read back", b)
	}
	for _, bad := range []string{`{"kind":"Jump"}`, `{"kind":1}`, `{"kind":"Deliver","message":{"type":"Hello"}}`, `{"server":300}`, `{"server":"1"}`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestConfigurationQuorum(t *testing.T) {
	joint := Configuration{Voters: 0b0110, Outgoing: 0b0011, Learners: 0b1000}
	cases := []struct {
		acks Members
		want bool
	}{
		{0b0011, false}, // a majority of C_old only
		{0b0110, false}, // a majority of C_new only
		{0b0010, false},
		{0b0111, true},
		{0b1010, false}, // a learner's ack does not count
	}
	for _, c := range cases {
		if got := joint.HasQuorum(c.acks); got != c.want {
			t.Errorf("%v.HasQuorum(%v) = %v, want %v", joint, c.acks, got, c.want)
		}
	}
	if !joint.Voter(1) || !joint.Voter(3) || joint.Voter(4) || joint.Members() != 0b1111 {
		t.Errorf("%v: voters or members wrong", joint)
	}
	if s := joint.String(); s != "{S2,S3}&{S1,S2}+{S4}" {
		t.Errorf("String = %q", s)
	}
	simple := Configuration{Voters: 0b111}
	if simple.HasQuorum(0b001) || !simple.HasQuorum(0b101) {
		t.Errorf("%v: majority wrong", simple)
	}
	log := []Entry{{Term: 1, Value: "x"}, {Term: 1, Config: 0b110, Outgoing: 0b011}}
	if got := ConfigurationOf(log, simple); got != (Configuration{Voters: 0b110, Outgoing: 0b011}) {
		t.Errorf("ConfigurationOf = %v", got)
	}
}
