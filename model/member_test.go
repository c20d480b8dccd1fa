package model

import (
	"strings"
	"testing"

	"github.com/raftcheck/raftcheck/spec"
)

// cfgEntry is a configuration entry of term t with the given members.
func cfgEntry(t spec.Term, ids ...spec.ServerID) spec.Entry {
	var c spec.Members
	for _, id := range ids {
		c |= 1 << (id - 1)
	}
	return spec.Entry{Term: t, Config: c}
}

// refuse checks that a is not enabled and that the reason says why.
func (st *story) refuse(a spec.Action, why string) {
	st.t.Helper()
	if _, err := st.m.Step(st.s, a); err == nil || !strings.Contains(err.Error(), why) {
		st.t.Fatalf("%v: got %v, want a refusal saying %q", a, err, why)
	}
}

// A change of membership, step by step: S1 of {S1,S2,S3} may add S4 only
// after committing an entry of its term; the new configuration is in
// effect at once (S4 gets AppendEntries, commits need 3 of 4); a second
// change waits for the first to commit; a leader that removes itself
// steps down once that commits.
func TestStorylineMembership(t *testing.T) {
	st := newStory(t, Config{Servers: 3, Joiners: 1, MaxReconfigs: 2, MaxTerm: 2, MaxValues: 1, MaxMsgs: 6, MaxCopies: 1})
	st.refuse(spec.Action{Kind: spec.Timeout, Server: 4}, "outside its configuration")
	st.elect(1, 2)
	add4 := spec.Action{Kind: spec.AddServer, Server: 1, Target: 4}
	st.refuse(add4, "not committed an entry of its term")
	st.do(spec.Action{Kind: spec.ClientRequest, Server: 1, Value: "v1"})
	st.do(spec.Action{Kind: spec.Heartbeat, Server: 1})
	st.deliver(spec.AppendEntries, 1, 2)
	st.deliver(spec.AppendEntriesResponse, 2, 1)
	st.expect(1, spec.Leader, 1, []spec.Entry{ent(1, "v1")}, 1)
	st.do(add4)
	c1234 := cfgEntry(1, 1, 2, 3, 4)
	st.expect(1, spec.Leader, 1, []spec.Entry{ent(1, "v1"), c1234}, 1)
	st.refuse(spec.Action{Kind: spec.RemoveServer, Server: 1, Target: 1}, "still uncommitted")
	// In effect as soon as appended: the heartbeat reaches S4 too.
	st.deliver(spec.AppendEntries, 1, 3)
	st.do(spec.Action{Kind: spec.Heartbeat, Server: 1})
	st.msg(spec.AppendEntries, 1, 4)
	// S2 alone is a majority of {S1,S2,S3} but not of {S1,S2,S3,S4}.
	st.deliver(spec.AppendEntries, 1, 2)
	st.deliver(spec.AppendEntriesResponse, 2, 1)
	st.expect(1, spec.Leader, 1, []spec.Entry{ent(1, "v1"), c1234}, 1)
	st.deliver(spec.AppendEntries, 1, 4)
	st.deliver(spec.AppendEntriesResponse, 4, 1)
	st.expect(1, spec.Leader, 1, []spec.Entry{ent(1, "v1"), c1234}, 2)
	// S1 removes itself: it keeps leading {S2,S3,S4} without counting
	// itself, and steps down once the change commits.
	st.do(spec.Action{Kind: spec.RemoveServer, Server: 1, Target: 1})
	c234 := cfgEntry(1, 2, 3, 4)
	st.deliver(spec.AppendEntriesResponse, 3, 1)
	st.do(spec.Action{Kind: spec.Heartbeat, Server: 1})
	log := []spec.Entry{ent(1, "v1"), c1234, c234}
	st.deliver(spec.AppendEntries, 1, 2)
	st.deliver(spec.AppendEntriesResponse, 2, 1)
	st.expect(1, spec.Leader, 1, log, 2)
	st.deliver(spec.AppendEntries, 1, 4)
	st.deliver(spec.AppendEntriesResponse, 4, 1)
	st.expect(1, spec.Follower, 1, log, 3)
	st.refuse(spec.Action{Kind: spec.Timeout, Server: 1}, "outside its configuration")
	if got := st.view.History.Committed[2].Quorum; got != 0b1110 {
		t.Fatalf("the removal was committed under %v, want {S2,S3,S4}", got)
	}
}

// Without membership changes a configuration entry cannot be stepped to.
func TestMembershipOffRefuses(t *testing.T) {
	st := newStory(t, Config{Servers: 3, MaxTerm: 1, MaxValues: 0, MaxMsgs: 3, MaxCopies: 1})
	st.elect(1, 2)
	st.refuse(spec.Action{Kind: spec.RemoveServer, Server: 1, Target: 3}, "max-reconfigs 0")
	if err := (&Config{Servers: 3, Joiners: 1, MaxTerm: 1, MaxMsgs: 3, MaxCopies: 1}).Validate(); err == nil || !strings.HasPrefix(err.Error(), "joiners:") {
		t.Fatalf("joiners without reconfigs: %v", err)
	}
	if err := (&Config{Servers: 5, Joiners: 3, MaxReconfigs: 1, MaxTerm: 1, MaxMsgs: 3, MaxCopies: 1}).Validate(); err == nil || !strings.HasPrefix(err.Error(), "joiners:") {
		t.Fatalf("8 servers: %v", err)
	}
}
