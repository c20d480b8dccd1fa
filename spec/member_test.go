package spec

import (
	"strings"
	"testing"
)

// quorums-intersect accepts single-server changes and the joint sequence
// C_old -> C_old,new -> C_new, and refuses a direct jump whose majorities
// can be disjoint, naming the two disjoint quorums.
func TestQuorumsIntersect(t *testing.T) {
	old := Members(0b0111) // {S1,S2,S3}
	cnew := Members(0b1100)
	ok := map[string][]Entry{
		"single add":        {{Term: 1, Config: 0b1111}},
		"single remove":     {{Term: 1, Config: 0b0011}},
		"joint then new":    {{Term: 1, Config: cnew, Outgoing: old}, {Term: 1, Config: cnew}},
		"learner added":     {{Term: 1, Config: old, Learners: 0b1000}},
		"learner promoted":  {{Term: 1, Config: old, Learners: 0b1000}, {Term: 1, Config: 0b1111}},
		"joint with itself": {{Term: 1, Config: 0b0001, Outgoing: old}, {Term: 1, Config: 0b0001}},
	}
	for name, log := range ok {
		s := cluster(log, nil, nil, nil)
		s.History.Members = old
		if err := QuorumsIntersect(&s); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, log := range map[string][]Entry{
		"jump to {S3,S4}":      {{Term: 1, Config: cnew}},
		"joint, then jump":     {{Term: 1, Config: cnew, Outgoing: old}, {Term: 1, Config: 0b0001}},
		"two servers at once":  {{Term: 1, Config: 0b0001}},
		"joint from elsewhere": {{Term: 1, Config: cnew, Outgoing: 0b1000}},
	} {
		s := cluster(log, nil, nil, nil)
		s.History.Members = old
		if err := QuorumsIntersect(&s); err == nil || !strings.Contains(err.Error(), "do not meet") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if p, ok := LookupProperty("single-server-changes"); !ok || p.Name != "quorums-intersect" {
		t.Errorf("the former name does not select quorums-intersect: %v %v", p, ok)
	}
	if names, err := ParsePropertyList("single-server-changes,commit-quorum"); err != nil || names[0] != "quorums-intersect" {
		t.Errorf("ParsePropertyList with the former name: %v %v", names, err)
	}
}

// While joint, commit-quorum needs a majority of each half of the
// configuration the entry was committed under, which the history keeps.
func TestCommitQuorumJoint(t *testing.T) {
	joint := Entry{Term: 1, Config: 0b1100, Outgoing: 0b0111} // {S3,S4}&{S1,S2,S3}
	// S1, S3 and S4 hold the joint entry: majorities of both halves.
	s := cluster([]Entry{e(1, "a"), joint}, []Entry{e(1, "a")}, []Entry{e(1, "a"), joint}, []Entry{e(1, "a"), joint})
	s.History.Members = 0b0111
	s.Servers[0].CommitIndex = 2
	s.History.Observe(s.Servers)
	if err := CheckAll(&s, nil); err != nil {
		t.Fatalf("both halves hold it, yet: %v", err)
	}
	if c := s.History.Committed[1]; c.Quorum != 0b1100 || c.Outgoing != 0b0111 {
		t.Fatalf("committed under %v&%v, want {S3,S4}&{S1,S2,S3}", c.Quorum, c.Outgoing)
	}
	// Without S1 only C_new's majority holds it: refused.
	s.Servers[0].Log, s.Servers[0].CommitIndex = []Entry{e(1, "a")}, 1
	s.Servers[2].CommitIndex = 2
	if err := CommitOnlyWithQuorum(&s); err == nil || !strings.Contains(err.Error(), "{S3,S4}&{S1,S2,S3}") {
		t.Fatalf("committed by C_new's majority alone: %v", err)
	}
	// Losing S1's copy is then losing the commit.
	before := cluster([]Entry{e(1, "a"), joint}, []Entry{e(1, "a")}, []Entry{e(1, "a"), joint}, []Entry{e(1, "a"), joint})
	before.History = s.History
	after := cluster([]Entry{e(1, "a")}, []Entry{e(1, "a")}, []Entry{e(1, "a"), joint}, []Entry{e(1, "a"), joint})
	if err := CommittedNeverLost(&before, &Action{Kind: Wipe, Server: 1}, &after); err == nil {
		t.Fatal("a joint entry left on C_new's majority only passed as kept")
	}
}

// A Wipe is exempt from term-monotonic and commit-monotonic for the wiped
// server only.
func TestWipeExemptions(t *testing.T) {
	before := cluster([]Entry{e(1, "a")}, []Entry{e(1, "a")}, nil)
	before.Servers[0].Term, before.Servers[0].CommitIndex = 2, 1
	before.Servers[1].Term = 2
	after := cluster(nil, []Entry{e(1, "a")}, nil)
	after.Servers[0].Term = 0
	after.Servers[1].Term = 2
	wipe1 := &Action{Kind: Wipe, Server: 1}
	if err := CheckStep(&before, wipe1, &after, []string{"term-monotonic", "commit-monotonic"}); err != nil {
		t.Fatalf("wiping S1: %v", err)
	}
	if err := TermMonotonic(&before, &Action{Kind: Wipe, Server: 2}, &after); err == nil {
		t.Fatal("wiping S2 excused S1's term going down")
	}
	if err := CommitMonotonic(&before, nil, &after); err == nil {
		t.Fatal("commitIndex went down without a wipe, unnoticed")
	}
}
