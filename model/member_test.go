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

// mask is the server set of ids.
func mask(ids ...spec.ServerID) spec.Members {
	var c spec.Members
	for _, id := range ids {
		c |= 1 << (id - 1)
	}
	return c
}

// commitV1 has leader 1 commit value v1 with S2's acknowledgement.
func (st *story) commitV1() {
	st.t.Helper()
	st.do(spec.Action{Kind: spec.ClientRequest, Server: 1, Value: "v1"})
	st.do(spec.Action{Kind: spec.Heartbeat, Server: 1})
	st.deliver(spec.AppendEntries, 1, 2)
	st.deliver(spec.AppendEntriesResponse, 2, 1)
	st.deliver(spec.AppendEntries, 1, 3)
	st.deliver(spec.AppendEntriesResponse, 3, 1)
}

// Joint consensus step by step: S1 of {S1,S2,S3} enters {S1,S2,S4}&{S1,S2,S3};
// S4 gets entries at once; the joint entry commits only with a majority of
// each half; LeaveJoint waits for that commit; after it S3 is no longer
// replicated to.
func TestStorylineJoint(t *testing.T) {
	st := newStory(t, Config{Servers: 3, Joiners: 1, MaxReconfigs: 1, Reconfig: ReconfigJoint, MaxTerm: 2, MaxValues: 1, MaxMsgs: 6, MaxCopies: 1})
	st.elect(1, 2)
	st.commitV1()
	st.refuse(spec.Action{Kind: spec.AddServer, Server: 1, Target: 4}, "not a change of --reconfig joint")
	st.refuse(spec.Action{Kind: spec.LeaveJoint, Server: 1}, "not joint")
	st.refuse(spec.Action{Kind: spec.EnterJoint, Server: 1, Config: mask(1, 2, 3)}, "differ from the current ones")
	st.do(spec.Action{Kind: spec.EnterJoint, Server: 1, Config: mask(1, 2, 4)})
	joint := spec.Entry{Term: 1, Config: mask(1, 2, 4), Outgoing: mask(1, 2, 3)}
	st.expect(1, spec.Leader, 1, []spec.Entry{ent(1, "v1"), joint}, 1)
	st.refuse(spec.Action{Kind: spec.LeaveJoint, Server: 1}, "not committed yet")
	st.do(spec.Action{Kind: spec.Heartbeat, Server: 1})
	// {S1,S4} is a majority of C_new but not of C_old: no commit.
	st.deliver(spec.AppendEntries, 1, 4)
	st.deliver(spec.AppendEntriesResponse, 4, 1)
	st.expect(1, spec.Leader, 1, []spec.Entry{ent(1, "v1"), joint}, 1)
	st.deliver(spec.AppendEntries, 1, 3)
	st.deliver(spec.AppendEntriesResponse, 3, 1)
	st.expect(1, spec.Leader, 1, []spec.Entry{ent(1, "v1"), joint}, 2)
	if c := st.view.History.Committed[1]; c.Quorum != mask(1, 2, 4) || c.Outgoing != mask(1, 2, 3) {
		t.Fatalf("the joint entry was committed under %v&%v, want both halves", c.Quorum, c.Outgoing)
	}
	st.refuse(spec.Action{Kind: spec.EnterJoint, Server: 1, Config: mask(1, 4)}, "reconfiguration bound 1 reached")
	st.do(spec.Action{Kind: spec.LeaveJoint, Server: 1})
	cnew := spec.Entry{Term: 1, Config: mask(1, 2, 4)}
	st.do(spec.Action{Kind: spec.Heartbeat, Server: 1})
	st.deliver(spec.AppendEntries, 1, 4)
	st.deliver(spec.AppendEntriesResponse, 4, 1)
	st.expect(1, spec.Leader, 1, []spec.Entry{ent(1, "v1"), joint, cnew}, 3)
	// C_new alone since LeaveJoint: S3 is no longer a member, so the
	// heartbeats since send it nothing.
	st.do(spec.Action{Kind: spec.Heartbeat, Server: 1})
	for _, f := range st.view.Network {
		if f.Message.To == 3 && f.Message.Type == spec.AppendEntries {
			t.Fatalf("S1 still replicates to S3 after leaving the joint configuration: %v", f.Message)
		}
	}
}

// Learners: S4 is added as a learner, receives entries without counting
// for commitment or standing, and becomes a voter only once caught up.
func TestStorylineLearners(t *testing.T) {
	st := newStory(t, Config{Servers: 3, Joiners: 1, MaxReconfigs: 2, Learners: true, MaxTerm: 2, MaxValues: 1, MaxMsgs: 6, MaxCopies: 1})
	st.elect(1, 2)
	st.commitV1()
	st.refuse(spec.Action{Kind: spec.AddServer, Server: 1, Target: 4}, "not a learner that has caught up")
	st.do(spec.Action{Kind: spec.AddLearner, Server: 1, Target: 4})
	learner := spec.Entry{Term: 1, Config: mask(1, 2, 3), Learners: mask(4)}
	st.do(spec.Action{Kind: spec.Heartbeat, Server: 1})
	st.deliver(spec.AppendEntries, 1, 4)
	st.refuse(spec.Action{Kind: spec.Timeout, Server: 4}, "outside its configuration's voters")
	// S4's acknowledgement does not count: S1 alone is no majority.
	st.deliver(spec.AppendEntriesResponse, 4, 1)
	st.expect(1, spec.Leader, 1, []spec.Entry{ent(1, "v1"), learner}, 1)
	st.deliver(spec.AppendEntries, 1, 2)
	st.deliver(spec.AppendEntriesResponse, 2, 1)
	st.expect(1, spec.Leader, 1, []spec.Entry{ent(1, "v1"), learner}, 2)
	st.do(spec.Action{Kind: spec.AddServer, Server: 1, Target: 4})
	st.expect(1, spec.Leader, 1, []spec.Entry{ent(1, "v1"), learner, cfgEntry(1, 1, 2, 3, 4)}, 2)
}

// A learner that has not caught up is not promoted.
func TestLearnerMustCatchUp(t *testing.T) {
	st := newStory(t, Config{Servers: 3, Joiners: 1, MaxReconfigs: 2, Learners: true, MaxTerm: 2, MaxValues: 1, MaxMsgs: 6, MaxCopies: 1})
	st.elect(1, 2)
	st.commitV1()
	st.do(spec.Action{Kind: spec.AddLearner, Server: 1, Target: 4})
	st.do(spec.Action{Kind: spec.Heartbeat, Server: 1})
	st.deliver(spec.AppendEntries, 1, 2)
	st.deliver(spec.AppendEntriesResponse, 2, 1)
	st.refuse(spec.Action{Kind: spec.AddServer, Server: 1, Target: 4}, "not a learner that has caught up")
	st.refuse(spec.Action{Kind: spec.AddServer, Server: 1, Target: 3}, "is a voter")
}

// Wipe: never in the correct protocol (a removed id is retired); under
// rejoin-blank-disk a leader that removed itself loses its disk.
func TestWipeOnlyUnderTheBug(t *testing.T) {
	for _, bug := range []string{"", "rejoin-blank-disk"} {
		st := newStory(t, Config{Servers: 3, MaxReconfigs: 1, MaxTerm: 2, MaxValues: 1, MaxMsgs: 3, MaxCopies: 1, Bug: bug})
		st.elect(1, 2)
		st.commitV1()
		st.do(spec.Action{Kind: spec.RemoveServer, Server: 1, Target: 1})
		wipe := spec.Action{Kind: spec.Wipe, Server: 1}
		if bug == "" {
			st.refuse(wipe, "retired")
			continue
		}
		st.refuse(spec.Action{Kind: spec.Wipe, Server: 2}, "a member of its own configuration")
		next, err := st.m.Step(st.s, wipe)
		if err != nil {
			t.Fatal(err)
		}
		var v spec.State
		st.m.View(&next, &v)
		if s1 := v.Servers[0]; s1.Term != 0 || len(s1.Log) != 0 || s1.VotedFor != spec.None || s1.Role != spec.Follower {
			t.Fatalf("wiped S1 is not blank: %+v", s1)
		}
	}
}

// The membership options are validated with one clear error each.
func TestMembershipOptionsValidate(t *testing.T) {
	base := Config{Servers: 3, MaxTerm: 1, MaxMsgs: 3, MaxCopies: 1}
	for want, c := range map[string]func(*Config){
		"reconfig: unknown":                         func(c *Config) { c.MaxReconfigs, c.Reconfig = 1, "double" },
		"reconfig: membership options":              func(c *Config) { c.Reconfig = ReconfigJoint },
		"reconfig: membership options (reconfig \"": func(c *Config) { c.Learners = true },
		"max-reconfigs: 4 is out of range [0, 3]":   func(c *Config) { c.MaxReconfigs, c.Reconfig = 4, ReconfigJoint },
	} {
		cfg := base
		c(&cfg)
		if err := cfg.Validate(); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%+v: got %v, want %q", cfg, err, want)
		}
	}
	ok := base
	ok.MaxReconfigs, ok.Reconfig, ok.Learners = 3, ReconfigJoint, true
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
}
