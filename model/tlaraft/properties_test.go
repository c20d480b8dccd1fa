package tlaraft

import (
	"strings"
	"testing"

	"github.com/raftcheck/raftcheck/checker"
)

// Each invariant holds initially and fails on a hand-built state.
func TestInvariantsCatchViolations(t *testing.T) {
	m := MustNew(Config{Servers: 3, Values: 2, MaxTerm: 3, MaxLogLen: 3, MaxCopies: 1, MaxInFlight: 1})
	logs := func(s *State, i int, es ...Entry) {
		s.srv[i].logLen = 0
		for _, e := range es {
			s.srv[i].appendEntry(e)
		}
	}
	cases := []struct {
		name  string
		build func(s *State)
		want  string
	}{
		{"election-safety", func(s *State) {
			s.srv[0].role, s.srv[2].role = Leader, Leader
			s.srv[0].term, s.srv[2].term = 2, 2
		}, "servers 1 and 3 are both leaders of term 2"},
		{"log-matching", func(s *State) {
			logs(s, 0, Entry{1, 1}, Entry{2, 1})
			logs(s, 1, Entry{1, 2}, Entry{2, 1})
		}, "agree on the term at index 2"},
		{"state-machine-safety", func(s *State) {
			logs(s, 1, Entry{1, 1})
			logs(s, 2, Entry{2, 1})
			s.srv[1].commit, s.srv[2].commit = 1, 1
		}, "servers 2 and 3 committed different entries at index 1"},
		{"commit-in-log", func(s *State) {
			logs(s, 1, Entry{1, 1})
			s.srv[1].commit = 2
		}, "server 2 has commitIndex 2 past its log of 1"},
		{"leader-completeness", func(s *State) {
			logs(s, 0, Entry{1, 1}, Entry{1, 2})
			s.srv[0].commit = 2
			s.srv[2].role, s.srv[2].term = Leader, 2
			logs(s, 2, Entry{1, 1})
		}, "leader 3 of term 2 lacks entries committed by server 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			props, err := m.Properties([]string{c.name})
			if err != nil {
				t.Fatal(err)
			}
			p := props()
			if len(p.Invariants) != 1 || p.Invariants[0].Name != c.name {
				t.Fatalf("Properties(%q) gave %v", c.name, p.Invariants)
			}
			s := m.Init()
			if err := p.Invariants[0].Check(&s); err != nil {
				t.Fatalf("fails initially: %v", err)
			}
			c.build(&s)
			err = p.Invariants[0].Check(&s)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q on\n%s", err, c.want, m.Format(&s))
			}
		})
	}
}

func TestProperties(t *testing.T) {
	m := MustNew(DefaultConfig())
	if _, err := m.Properties([]string{"election-safety", "no-such"}); err == nil || !strings.Contains(err.Error(), `"no-such"`) {
		t.Errorf("unknown property: %v", err)
	}
	props, err := m.Properties(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(props().Invariants); got != len(InvariantNames()) {
		t.Errorf("Properties(nil) has %d invariants, want all %d", got, len(InvariantNames()))
	}
}

// A violation found by the checker comes back as a readable path.
func TestCounterexample(t *testing.T) {
	m := MustNew(DefaultConfig())
	bad := checker.Invariant[State]{Name: "no-leader", Check: func(s *State) error {
		for i := range 3 {
			if s.Role(i) == Leader {
				return errLeader
			}
		}
		return nil
	}}
	res, err := checker.Check[State, Action](Adapter{m}, func() checker.Properties[State, Action] {
		return checker.Properties[State, Action]{Invariants: []checker.Invariant[State]{bad}}
	}, checker.Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Violation == nil {
		t.Fatal("no leader found")
	}
	// Timeout; the self vote (send, handle, tally); another vote (send,
	// UpdateTerm, handle, tally); BecomeLeader.
	path := res.Violation.Path
	if path.Len() != 9 {
		t.Errorf("shortest path to a leader has %d steps, want 9", path.Len())
	}
	text := m.FormatPath(&path)
	for _, want := range []string{"step 1: Timeout(", "RequestVote(", "via HandleRequestVoteRequest", "BecomeLeader(", "leader    term 2"} {
		if !strings.Contains(text, want) {
			t.Errorf("path lacks %q:\n%s", want, text)
		}
	}
}

type leaderError struct{}

func (leaderError) Error() string { return "a leader" }

var errLeader = leaderError{}
