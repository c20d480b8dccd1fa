package raft

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/raftcheck/raftcheck/spec"
)

// members builds a set of servers.
func members(ids ...spec.ServerID) spec.Members {
	var m spec.Members
	for _, id := range ids {
		m |= 1 << (id - 1)
	}
	return m
}

// memberNet builds n servers whose initial configuration is initial.
func memberNet(t *testing.T, n int, initial spec.Configuration, f Faults) *net {
	nw := &net{t: t, nodes: map[spec.ServerID]*Node{}}
	for id := spec.ServerID(1); int(id) <= n; id++ {
		nw.nodes[id] = faultyNode(t, id, n, Persistent{}, f, func(c *Config) { c.Initial = initial })
	}
	return nw
}

// to delivers only messages addressed to the given servers (and every
// reply to the leader).
func to(ids ...spec.ServerID) func(spec.Message) bool {
	return func(m spec.Message) bool {
		return slices.Contains(ids, m.To) || m.Type == spec.AppendEntriesResponse || m.Type == spec.RequestVoteResponse
	}
}

// elect makes id the leader with every message delivered, then has it
// commit an entry of its term (the guard of every change).
func (nw *net) elect(id spec.ServerID, v spec.Value) *Node {
	nw.t.Helper()
	r := nw.nodes[id]
	if err := r.Campaign(); err != nil {
		nw.t.Fatal(err)
	}
	nw.pump(all)
	if r.role != spec.Leader {
		nw.t.Fatalf("%v did not win: %v", id, r.View())
	}
	nw.propose(id, v, all)
	return r
}

// propose has leader id append v and replicate it with a heartbeat whose
// messages deliver lets through.
func (nw *net) propose(id spec.ServerID, v spec.Value, deliver func(spec.Message) bool) {
	nw.t.Helper()
	if err := nw.nodes[id].Propose(v); err != nil {
		nw.t.Fatal(err)
	}
	nw.beat(id, deliver)
}

// beat has leader id send a heartbeat and delivers what deliver lets through.
func (nw *net) beat(id spec.ServerID, deliver func(spec.Message) bool) {
	nw.t.Helper()
	if err := nw.nodes[id].Heartbeat(); err != nil {
		nw.t.Fatal(err)
	}
	nw.pump(deliver)
}

// change proposes c on leader id, failing the test if it is refused.
func (nw *net) change(id spec.ServerID, c ConfChange) {
	nw.t.Helper()
	if err := nw.nodes[id].ProposeConfChange(c); err != nil {
		nw.t.Fatalf("ProposeConfChange(%v): %v", c, err)
	}
}

func wantConfig(t *testing.T, r *Node, want spec.Configuration) {
	t.Helper()
	if got := r.Configuration(); got != want {
		t.Fatalf("%v: configuration %v, want %v", r.id, got, want)
	}
	if got := r.Status().Config; got != want {
		t.Fatalf("%v: Status().Config %v, want %v", r.id, got, want)
	}
}

func wantCommit(t *testing.T, r *Node, want spec.Index) {
	t.Helper()
	if got := r.View().CommitIndex; got != want {
		t.Fatalf("%v: commit index %d, want %d", r.id, got, want)
	}
}

func TestConfChangeGuards(t *testing.T) {
	three := spec.Configuration{Voters: members(1, 2, 3)}
	nw := memberNet(t, 5, three, Faults{})
	r := nw.nodes[1]
	var nl *NotLeaderError
	if err := r.ProposeConfChange(ConfChange{Kind: spec.AddServer, Target: 4}); !errors.As(err, &nl) {
		t.Fatalf("follower: %v, want a *NotLeaderError", err)
	}
	if err := r.Campaign(); err != nil {
		t.Fatal(err)
	}
	nw.pump(all)
	wantErr(t, r.ProposeConfChange(ConfChange{Kind: spec.AddServer, Target: 4}), ErrNoTermCommit)
	nw.propose(1, "a", all)
	for _, tc := range []struct {
		c    ConfChange
		why  string
		want error
	}{
		{ConfChange{Kind: spec.AddServer, Target: 6}, "not a server", ErrBadChange},
		{ConfChange{Kind: spec.AddServer, Target: 0}, "not a server", ErrBadChange},
		{ConfChange{Kind: spec.AddServer, Target: 2}, "already a voter", ErrBadChange},
		{ConfChange{Kind: spec.AddLearner, Target: 3}, "already a member", ErrBadChange},
		{ConfChange{Kind: spec.RemoveServer, Target: 4}, "not a member", ErrBadChange},
		{ConfChange{Kind: spec.EnterJoint, Voters: members(1, 2, 3)}, "current voters", ErrBadChange},
		{ConfChange{Kind: spec.EnterJoint, Voters: 0}, "non-empty", ErrBadChange},
		{ConfChange{Kind: spec.EnterJoint, Voters: members(1, 6)}, "non-empty", ErrBadChange},
		{ConfChange{Kind: spec.LeaveJoint}, "not joint", ErrBadChange},
		{ConfChange{Kind: spec.Compact}, "not a configuration change", ErrBadChange},
		{ConfChange{Kind: spec.AddServer, Target: 4, Voters: 1}, "only EnterJoint", ErrBadChange},
	} {
		err := r.ProposeConfChange(tc.c)
		wantErr(t, err, tc.want)
		var bad *BadChangeError
		if !errors.As(err, &bad) || bad.Change != tc.c || bad.Config != three || !strings.Contains(bad.Reason, tc.why) {
			t.Fatalf("%v: %v, want a *BadChangeError saying %q", tc.c, err, tc.why)
		}
	}
	if r.lastIndex() != 1 {
		t.Fatalf("refused changes appended: %v", r.View())
	}
	nw.change(1, ConfChange{Kind: spec.AddServer, Target: 4})
	wantErr(t, r.ProposeConfChange(ConfChange{Kind: spec.AddServer, Target: 5}), ErrChangeInProgress)
	nw.beat(1, all)
	nw.change(1, ConfChange{Kind: spec.EnterJoint, Voters: members(2, 3, 5)})
	wantErr(t, r.ProposeConfChange(ConfChange{Kind: spec.LeaveJoint}), ErrChangeInProgress)
	nw.beat(1, all)
	wantErr(t, r.ProposeConfChange(ConfChange{Kind: spec.AddServer, Target: 1}), ErrBadChange) // joint: only LeaveJoint
	nw.change(1, ConfChange{Kind: spec.LeaveJoint})
	nw.beat(1, all)
	wantConfig(t, nw.nodes[2], spec.Configuration{Voters: members(2, 3, 5)})
	if r.role == spec.Leader {
		t.Fatalf("leader outside C_new still leads: %v", r.View())
	}
	last := newNode(t, 1, 2, persistent(1, 1, spec.Entry{Term: 1, Config: members(1)}))
	if err := last.Campaign(); err != nil {
		t.Fatal(err)
	}
	if err := last.Propose("x"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, last.ProposeConfChange(ConfChange{Kind: spec.RemoveServer, Target: 1}), ErrBadChange)
}

// TestAddThenRemoveServer is 3 -> 4 -> 3 servers, then the leader removing
// itself: each configuration is in effect at once on the leader, decides
// commits from then on, and a removed leader steps down only once the
// configuration that excludes it commits.
func TestAddThenRemoveServer(t *testing.T) {
	nw := memberNet(t, 4, spec.Configuration{Voters: members(1, 2, 3)}, Faults{})
	r := nw.nodes[1]
	if err := r.Campaign(); err != nil {
		t.Fatal(err)
	}
	var asked []spec.ServerID
	for _, m := range sent(t, r) {
		asked = append(asked, m.To)
	}
	if !slices.Equal(asked, []spec.ServerID{2, 3}) {
		t.Fatalf("RequestVote to %v, want the other voters [S2 S3]", asked)
	}
	step(t, r, rvr(2, 1, 1, true))
	nw.propose(1, "a", all)
	wantCommit(t, r, 1)
	if got := nw.nodes[4].View().Log; len(got) != 0 {
		t.Fatalf("a non-member was replicated to: %v", got)
	}

	nw.change(1, ConfChange{Kind: spec.AddServer, Target: 4})
	four := spec.Configuration{Voters: members(1, 2, 3, 4)}
	wantConfig(t, r, four)
	nw.beat(1, to(2)) // 2 of 4: no majority of the new configuration
	wantCommit(t, r, 1)
	nw.beat(1, to(3))
	wantCommit(t, r, 2)
	nw.beat(1, all)
	wantConfig(t, nw.nodes[4], four)

	nw.change(1, ConfChange{Kind: spec.RemoveServer, Target: 4})
	nw.beat(1, to(2, 3))
	wantCommit(t, r, 3)
	nw.propose(1, "b", all)
	if got := nw.nodes[4].View().Log; len(got) != 2 {
		t.Fatalf("a removed server was replicated to (it never hears of its removal, §4.2.3): %v", got)
	}

	nw.change(1, ConfChange{Kind: spec.RemoveServer, Target: 1})
	wantConfig(t, r, spec.Configuration{Voters: members(2, 3)})
	nw.beat(1, to(2)) // the leader's own log no longer counts
	if r.role != spec.Leader || r.commit != 4 {
		t.Fatalf("with one of two voters: %v", r.View())
	}
	nw.beat(1, to(3))
	if r.role != spec.Follower || r.commit != 5 || r.Leader() != spec.None {
		t.Fatalf("removed leader after its removal committed: %v (leader %v), want a follower at commit 5", r.View(), r.Leader())
	}
	wantErr(t, r.Campaign(), ErrNotVoter)
	for range 100 {
		r.Tick()
	}
	if r.role != spec.Follower || len(sent(t, r)) != 0 {
		t.Fatalf("a removed server campaigned: %v", r.View())
	}
}

// TestJointConsensusNeedsBothMajorities: while joint, an entry commits
// and an election is won only with a majority of C_old and of C_new.
func TestJointConsensusNeedsBothMajorities(t *testing.T) {
	nw := memberNet(t, 5, spec.Configuration{Voters: members(1, 2, 3)}, Faults{})
	r := nw.elect(1, "a")
	nw.change(1, ConfChange{Kind: spec.EnterJoint, Voters: members(1, 4, 5)})
	joint := spec.Configuration{Voters: members(1, 4, 5), Outgoing: members(1, 2, 3)}
	wantConfig(t, r, joint)
	nw.beat(1, to(4, 5)) // C_new's majority only
	wantCommit(t, r, 1)
	nw.beat(1, to(2)) // and now C_old's
	wantCommit(t, r, 2)
	nw.change(1, ConfChange{Kind: spec.LeaveJoint})
	nw.beat(1, to(2, 3)) // C_old's majority is no longer enough
	wantCommit(t, r, 2)
	nw.beat(1, to(4))
	wantCommit(t, r, 3)
	wantConfig(t, r, spec.Configuration{Voters: members(1, 4, 5)})

	// An election in the joint configuration.
	p := persistent(1, 0, e(1, "a"), spec.Entry{Term: 1, Config: joint.Voters, Outgoing: joint.Outgoing})
	c := candidateOf(t, 2, 5, p, func(c *Config) { c.Initial = spec.Configuration{Voters: members(1, 2, 3)} })
	for _, j := range []spec.ServerID{3, 1} { // C_old's majority, and one of C_new
		step(t, c, rvr(j, 2, 2, true))
	}
	if c.role != spec.Candidate {
		t.Fatalf("won with one vote of C_new: %v", c.View())
	}
	step(t, c, rvr(4, 2, 2, true))
	if c.role != spec.Leader {
		t.Fatalf("lost with majorities of both: %v", c.View())
	}
}

// TestLeaderOutsideCNewStaysThroughJoint: a leader in C_old only leads
// through the joint phase and steps down once C_new commits.
func TestLeaderOutsideCNewStaysThroughJoint(t *testing.T) {
	nw := memberNet(t, 4, spec.Configuration{Voters: members(1, 2, 3)}, Faults{})
	r := nw.elect(1, "a")
	nw.change(1, ConfChange{Kind: spec.EnterJoint, Voters: members(2, 3, 4)})
	nw.beat(1, all)
	if r.role != spec.Leader || r.commit != 2 {
		t.Fatalf("leader in C_old after the joint entry committed: %v", r.View())
	}
	nw.change(1, ConfChange{Kind: spec.LeaveJoint})
	nw.beat(1, all)
	if r.role != spec.Follower || r.commit != 3 {
		t.Fatalf("leader outside C_new after it committed: %v", r.View())
	}
}

// TestLearnerCatchesUp: a learner is replicated to but neither counts for
// commit nor votes nor campaigns, and becomes a voter only once caught up.
func TestLearnerCatchesUp(t *testing.T) {
	nw := memberNet(t, 4, spec.Configuration{Voters: members(1, 2, 3)}, Faults{})
	r := nw.elect(1, "a")
	nw.change(1, ConfChange{Kind: spec.AddLearner, Target: 4})
	withLearner := spec.Configuration{Voters: members(1, 2, 3), Learners: members(4)}
	wantConfig(t, r, withLearner)
	nw.beat(1, to(4)) // the learner's ack is not counted
	wantCommit(t, r, 1)
	nw.beat(1, to(2))
	wantCommit(t, r, 2)
	l := nw.nodes[4]
	wantConfig(t, l, withLearner)
	wantErr(t, l.Campaign(), ErrNotVoter)
	for range 100 {
		l.Tick()
	}
	if len(sent(t, l)) != 0 || l.role != spec.Follower {
		t.Fatalf("a learner campaigned: %v", l.View())
	}
	// The learner's vote is not counted by a candidate.
	c := candidateOf(t, 2, 4, persistent(1, 0, l.View().Log...))
	step(t, c, rvr(4, 2, 2, true))
	if v := c.View(); !slices.Equal(v.Votes, []spec.ServerID{2}) {
		t.Fatalf("a learner's vote was counted: %v", v)
	}

	nw.propose(1, "b", to(2)) // committed without the learner
	var bad *BadChangeError
	if err := r.ProposeConfChange(ConfChange{Kind: spec.AddServer, Target: 4}); !errors.As(err, &bad) || !strings.Contains(bad.Reason, "caught up") {
		t.Fatalf("promoting a lagging learner: %v", err)
	}
	nw.beat(1, all)
	nw.change(1, ConfChange{Kind: spec.AddServer, Target: 4})
	nw.beat(1, all)
	wantConfig(t, l, spec.Configuration{Voters: members(1, 2, 3, 4)})
	nw.change(1, ConfChange{Kind: spec.RemoveServer, Target: 4})
	nw.beat(1, all)
	nw.change(1, ConfChange{Kind: spec.AddLearner, Target: 4})
	nw.beat(1, all)
	nw.change(1, ConfChange{Kind: spec.RemoveServer, Target: 4}) // a learner is removed too
	nw.beat(1, all)
	wantConfig(t, r, spec.Configuration{Voters: members(1, 2, 3)})
}

// TestTruncationRevertsConfiguration: an uncommitted configuration entry
// is in effect on a follower and reverts when a new leader overwrites it.
func TestTruncationRevertsConfiguration(t *testing.T) {
	initial := spec.Configuration{Voters: members(1, 2, 3)}
	r := newNode(t, 3, 4, Persistent{}, func(c *Config) { c.Initial = initial })
	step(t, r, ae(1, 3, 1, 0, 0, 0, e(1, "a"), spec.Entry{Term: 1, Config: members(1, 2, 3, 4)}))
	wantConfig(t, r, spec.Configuration{Voters: members(1, 2, 3, 4)})
	step(t, r, ae(2, 3, 2, 1, 1, 0, e(2, "b")))
	wantConfig(t, r, initial)
	if r.confIndex != 0 {
		t.Fatalf("configuration index %d after the revert, want 0", r.confIndex)
	}
}

// TestSnapshotCarriesConfiguration: Compact records the configuration in
// effect at the snapshot, a follower installing the snapshot takes it on,
// and a node restored from the snapshot alone has it.
func TestSnapshotCarriesConfiguration(t *testing.T) {
	nw := memberNet(t, 4, spec.Configuration{Voters: members(1, 2, 3)}, Faults{})
	r := nw.elect(1, "a")
	nw.change(1, ConfChange{Kind: spec.AddLearner, Target: 4})
	nw.beat(1, to(2, 3))
	nw.propose(1, "b", to(2, 3))
	conf := spec.Configuration{Voters: members(1, 2, 3), Learners: members(4)}
	if err := r.Compact(3); err != nil {
		t.Fatal(err)
	}
	meta := r.Status().Snapshot
	if meta.Config != conf || meta.Index != 3 {
		t.Fatalf("snapshot meta %+v, want configuration %v at 3", meta, conf)
	}
	wantConfig(t, r, conf)

	l := nw.nodes[4]
	if ok, err := l.InstallSnapshot(1, r.term, meta); err != nil || !ok {
		t.Fatalf("InstallSnapshot: %v, %v", ok, err)
	}
	wantConfig(t, l, conf)
	flush(t, l)

	restored := newNode(t, 4, 4, Persistent{HardState: HardState{Term: 1}, Snapshot: meta},
		func(c *Config) { c.Initial = spec.Configuration{Voters: members(1, 2, 3)} })
	wantConfig(t, restored, conf)

	// A snapshot before any configuration entry keeps the initial one.
	nw2 := memberNet(t, 3, spec.Configuration{}, Faults{})
	r2 := nw2.elect(1, "a")
	if err := r2.Compact(1); err != nil {
		t.Fatal(err)
	}
	if c := r2.Status().Snapshot.Config; c != (spec.Configuration{}) {
		t.Fatalf("snapshot without a configuration entry records %v", c)
	}
	wantConfig(t, r2, spec.Configuration{Voters: members(1, 2, 3)})

	_, err := l.InstallSnapshot(1, r.term+1, SnapshotMeta{Index: 9, Term: 1, Config: spec.Configuration{Voters: members(5)}})
	wantErr(t, err, ErrInvalidMessage)
}

func TestInitialConfigurationValidated(t *testing.T) {
	for _, c := range []spec.Configuration{
		{Learners: members(1)},
		{Voters: members(1, 4)},
		{Voters: members(1, 2), Learners: members(2)},
	} {
		if _, err := New(Config{ID: 1, Servers: 3, Initial: c}); err == nil {
			t.Errorf("initial configuration %v accepted", c)
		}
	}
	if _, err := New(Config{ID: 1, Servers: 3, Restore: Persistent{HardState: HardState{Term: 1},
		Snapshot: SnapshotMeta{Index: 1, Term: 1, Config: spec.Configuration{Voters: members(4)}}}}); err == nil {
		t.Error("a snapshot configuration outside the cluster accepted")
	}
	for _, bad := range []spec.Entry{
		{Term: 1, Config: members(4)},
		{Term: 1, Config: members(1), Learners: members(1)},
		{Term: 1, Value: "x", Learners: members(2)},
	} {
		if _, err := New(Config{ID: 1, Servers: 3, Restore: persistent(1, 0, bad)}); err == nil {
			t.Errorf("a restored log with %+v accepted", bad)
		}
		r := newNode(t, 1, 3, Persistent{})
		wantErr(t, r.Step(ae(2, 1, 1, 0, 0, 0, bad)), ErrInvalidMessage)
		if len(r.log) != 0 || r.term != 0 {
			t.Errorf("a refused AppendEntries with %+v changed the node: %v", bad, r.View())
		}
	}
}

// TestPipelinedLeaderStepsDownOnRemoval: a pipelined leader (MaxInflight)
// whose removal commits on an acknowledgement steps down there and then
// sends nothing more (it used to go on to fill the follower's window with
// its leader state already cleared, and panicked).
func TestPipelinedLeaderStepsDownOnRemoval(t *testing.T) {
	nw := &net{t: t, nodes: map[spec.ServerID]*Node{}}
	for id := spec.ServerID(1); id <= 3; id++ {
		nw.nodes[id] = newNode(t, id, 3, Persistent{}, func(c *Config) { c.MaxInflight = 2 })
	}
	r := nw.elect(1, "a")
	nw.propose(1, "b", all) // the followers are pipelined now
	nw.change(1, ConfChange{Kind: spec.RemoveServer, Target: 1})
	if err := r.Propose("c"); err != nil { // more to send after the removal
		t.Fatal(err)
	}
	nw.beat(1, all)
	if r.role != spec.Follower || r.commit < 3 {
		t.Fatalf("removed pipelined leader: %v", r.View())
	}
}

// TestCommitAfterChangeWaitsForAnAcknowledgement: a change that makes an
// index committable (its quorum shrank) commits it at the next
// acknowledgement, not on the append, as the model does; a sole voter,
// which gets no acknowledgement that counts, commits at its heartbeat
// tick.
func TestCommitAfterChangeWaitsForAnAcknowledgement(t *testing.T) {
	nw := memberNet(t, 4, spec.Configuration{}, Faults{})
	r := nw.elect(1, "a")
	nw.propose(1, "b", to(2)) // 1 and 2 of 4: not committed
	wantCommit(t, r, 1)
	nw.change(1, ConfChange{Kind: spec.RemoveServer, Target: 4})
	wantCommit(t, r, 1) // {1,2,3}: index 2 is on a majority, but no acknowledgement yet
	nw.beat(1, to(2))
	wantCommit(t, r, 3)

	two := newNode(t, 1, 2, persistent(1, 1, e(1, "a")))
	two = win(t, campaign(t, two))
	if err := two.Propose("b"); err != nil {
		t.Fatal(err)
	}
	step(t, two, aer(2, 1, 2, true, 2))
	if err := two.ProposeConfChange(ConfChange{Kind: spec.RemoveServer, Target: 2}); err != nil {
		t.Fatal(err)
	}
	wantCommit(t, two, 2)
	two.Tick()
	wantCommit(t, two, 3)
	if len(sent(t, two)) != 0 {
		t.Fatal("a sole voter sent heartbeats to a removed server")
	}
}

// TestNewLeaderLeavesJointWithoutTermCommit: a leader elected while joint
// whose joint entry it knows committed may leave at once (LeaveJoint's
// own guard), while any other change waits for an entry of its term.
func TestNewLeaderLeavesJointWithoutTermCommit(t *testing.T) {
	joint := spec.Entry{Term: 1, Config: members(1, 2, 4), Outgoing: members(1, 2, 3)}
	r := newNode(t, 2, 4, Persistent{}, func(c *Config) { c.Initial = spec.Configuration{Voters: members(1, 2, 3)} })
	step(t, r, ae(1, 2, 1, 0, 0, 2, e(1, "a"), joint))
	r = win(t, campaign(t, r))
	wantErr(t, r.ProposeConfChange(ConfChange{Kind: spec.AddLearner, Target: 3}), ErrNoTermCommit)
	if err := r.ProposeConfChange(ConfChange{Kind: spec.LeaveJoint}); err != nil {
		t.Fatalf("LeaveJoint on a new leader of a committed joint entry: %v", err)
	}
	wantConfig(t, r, spec.Configuration{Voters: members(1, 2, 4)})
	wantErr(t, r.ProposeConfChange(ConfChange{Kind: spec.RemoveServer, Target: 4}), ErrNoTermCommit)
}
