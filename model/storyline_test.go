package model

import (
	"slices"
	"testing"

	"github.com/raftcheck/raftcheck/spec"
)

// story drives a model step by step through spec actions and checks every
// property after every step, as the classic animation would be narrated.
type story struct {
	t    *testing.T
	m    *Model
	s    State
	view spec.State
}

func newStory(t *testing.T, cfg Config) *story {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := &story{t: t, m: m, s: m.Init()}
	m.View(&st.s, &st.view)
	return st
}

// do applies an action and checks the invariants and transition properties.
func (st *story) do(a spec.Action) {
	st.t.Helper()
	next, err := st.m.Step(st.s, a)
	if err != nil {
		st.t.Fatalf("%v: %v", a, err)
	}
	var after spec.State
	st.m.View(&next, &after)
	if err := spec.CheckStep(&st.view, &a, &after, nil); err != nil {
		st.t.Fatalf("%v: %v", a, err)
	}
	if err := spec.CheckAll(&after, nil); err != nil {
		st.t.Fatalf("%v: %v\n%s", a, err, after.String())
	}
	st.s, st.view = next, after
}

// msg finds the one message of type typ from -> to in flight.
func (st *story) msg(typ spec.MsgType, from, to spec.ServerID) *spec.Message {
	st.t.Helper()
	var found *spec.Message
	for i := range st.view.Network {
		m := &st.view.Network[i].Message
		if m.Type == typ && m.From == from && m.To == to {
			if found != nil {
				st.t.Fatalf("two %v messages %v->%v in flight:\n%s", typ, from, to, st.view.String())
			}
			c := *m
			found = &c
		}
	}
	if found == nil {
		st.t.Fatalf("no %v message %v->%v in flight:\n%s", typ, from, to, st.view.String())
	}
	return found
}

func (st *story) deliver(typ spec.MsgType, from, to spec.ServerID) {
	st.t.Helper()
	st.do(spec.Action{Kind: spec.Deliver, Message: st.msg(typ, from, to)})
}

func (st *story) drop(typ spec.MsgType, from, to spec.ServerID) {
	st.t.Helper()
	st.do(spec.Action{Kind: spec.Drop, Message: st.msg(typ, from, to)})
}

func (st *story) server(id spec.ServerID) *spec.View { return &st.view.Servers[id-1] }

// expect checks a server's role, term, log and commitIndex.
func (st *story) expect(id spec.ServerID, role spec.Role, term spec.Term, log []spec.Entry, commit spec.Index) {
	st.t.Helper()
	v := st.server(id)
	if v.Role != role || v.Term != term || !slices.Equal(v.Log, log) || v.CommitIndex != commit {
		st.t.Fatalf("%v = %v\nwant %v t%d log=%v commit=%d", id, *v, role, term, log, commit)
	}
}

func ent(t spec.Term, v spec.Value) spec.Entry { return spec.Entry{Term: t, Value: v} }

// elect makes leader win an election of term 1 with the votes of voters.
func (st *story) elect(leader spec.ServerID, voters ...spec.ServerID) {
	st.t.Helper()
	st.do(spec.Action{Kind: spec.Timeout, Server: leader})
	st.expect(leader, spec.Candidate, st.server(leader).Term, nil, 0)
	for _, v := range voters {
		st.deliver(spec.RequestVote, leader, v)
		if st.server(v).VotedFor != leader {
			st.t.Fatalf("%v did not vote for %v", v, leader)
		}
		st.deliver(spec.RequestVoteResponse, v, leader)
	}
	if st.server(leader).Role != spec.Leader {
		st.t.Fatalf("%v not elected: %v", leader, *st.server(leader))
	}
}

// Storyline 1 of the classic animation: three servers; "sally" then "bob"
// are replicated at a heartbeat, committed once a majority acknowledges,
// and the commit reaches the followers at the next heartbeat.
func TestStorylineReplication(t *testing.T) {
	st := newStory(t, Config{Servers: 3, MaxTerm: 2, MaxValues: 2, MaxMsgs: 6, MaxCopies: 1, Values: []spec.Value{"sally", "bob"}})
	st.elect(1, 2)
	st.deliver(spec.RequestVote, 1, 3) // the late vote changes nothing
	st.deliver(spec.RequestVoteResponse, 3, 1)
	st.expect(1, spec.Leader, 1, nil, 0)

	var log []spec.Entry
	for i, v := range []spec.Value{"sally", "bob"} {
		idx := spec.Index(i + 1)
		// A client sets the value at the leader: uncommitted.
		st.do(spec.Action{Kind: spec.ClientRequest, Server: 1, Value: v})
		log = append(log, ent(1, v))
		st.expect(1, spec.Leader, 1, log, idx-1)
		// "At the next heartbeat the entry is replicated to the followers."
		st.do(spec.Action{Kind: spec.Heartbeat, Server: 1})
		if m := st.msg(spec.AppendEntries, 1, 2); len(m.Entries) != 1 || m.Entries[0].Value != v || m.PrevLogIndex != idx-1 {
			t.Fatalf("heartbeat carries %v", *m)
		}
		st.deliver(spec.AppendEntries, 1, 2)
		st.deliver(spec.AppendEntries, 1, 3)
		st.expect(2, spec.Follower, 1, log, idx-1)
		st.expect(3, spec.Follower, 1, log, idx-1)
		// "The entry is committed once a majority acknowledges it."
		st.deliver(spec.AppendEntriesResponse, 2, 1)
		st.expect(1, spec.Leader, 1, log, idx)
		st.deliver(spec.AppendEntriesResponse, 3, 1)
		if got := st.server(1).MatchIndex; !slices.Equal(got, []spec.Index{0, idx, idx}) {
			t.Fatalf("matchIndex %v", got)
		}
		st.expect(2, spec.Follower, 1, log, idx-1)
		// "At the next heartbeat the leader notifies the followers of the
		// new committed entry."
		st.do(spec.Action{Kind: spec.Heartbeat, Server: 1})
		if m := st.msg(spec.AppendEntries, 1, 3); len(m.Entries) != 0 || m.LeaderCommit != idx {
			t.Fatalf("commit notification is %v", *m)
		}
		st.deliver(spec.AppendEntries, 1, 2)
		st.deliver(spec.AppendEntries, 1, 3)
		st.expect(2, spec.Follower, 1, log, idx)
		st.expect(3, spec.Follower, 1, log, idx)
		st.deliver(spec.AppendEntriesResponse, 2, 1)
		st.deliver(spec.AppendEntriesResponse, 3, 1)
	}
	if len(st.view.Network) != 0 {
		t.Fatalf("messages left in flight: %v", st.view.Network)
	}
	if h := st.view.History.Committed; len(h) != 2 || h[1].Value != "bob" {
		t.Fatalf("committed history %v", h)
	}
}

// Storyline 2: five servers; a partition leaves the leader with one
// follower; "bob" is acknowledged by it but not committed; the majority
// side elects a new leader and commits; after healing the old leader steps
// down and its uncommitted "bob" is replaced.
func TestStorylinePartition(t *testing.T) {
	st := newStory(t, Config{Servers: 5, MaxTerm: 3, MaxValues: 3, MaxMsgs: 16, MaxCopies: 1, MaxPartitions: 1, MaxDrops: 3,
		Values: []spec.Value{"sally", "bob", "tom"}})
	st.elect(1, 2, 3)
	for _, j := range []spec.ServerID{4, 5} {
		st.deliver(spec.RequestVote, 1, j)
		st.deliver(spec.RequestVoteResponse, j, 1)
	}
	// "sally" is committed everywhere.
	st.do(spec.Action{Kind: spec.ClientRequest, Server: 1, Value: "sally"})
	st.do(spec.Action{Kind: spec.Heartbeat, Server: 1})
	for j := spec.ServerID(2); j <= 5; j++ {
		st.deliver(spec.AppendEntries, 1, j)
		st.deliver(spec.AppendEntriesResponse, j, 1)
	}
	st.do(spec.Action{Kind: spec.Heartbeat, Server: 1})
	for j := spec.ServerID(2); j <= 5; j++ {
		st.deliver(spec.AppendEntries, 1, j)
		st.deliver(spec.AppendEntriesResponse, j, 1)
	}
	sally := []spec.Entry{ent(1, "sally")}
	for j := spec.ServerID(2); j <= 5; j++ {
		st.expect(j, spec.Follower, 1, sally, 1)
	}

	// "A network partition makes a majority of nodes inaccessible from the
	// leader."
	st.do(spec.Action{Kind: spec.Partition, Groups: [][]spec.ServerID{{1, 2}, {3, 4, 5}}})
	if got := st.view.Partition; len(got) != 2 || !slices.Equal(got[0], []spec.ServerID{1, 2}) {
		t.Fatalf("partition %v", got)
	}
	// "A new log entry is added to the leader."
	st.do(spec.Action{Kind: spec.ClientRequest, Server: 1, Value: "bob"})
	// "The leader replicates the entry to the only accessible follower."
	st.do(spec.Action{Kind: spec.Heartbeat, Server: 1})
	if _, err := st.m.Step(st.s, spec.Action{Kind: spec.Deliver, Message: st.msg(spec.AppendEntries, 1, 3)}); err == nil {
		t.Fatal("a message crossed the partition")
	}
	st.deliver(spec.AppendEntries, 1, 2)
	// "The follower acknowledges the entry but there is not a quorum."
	st.deliver(spec.AppendEntriesResponse, 2, 1)
	bob := append(slices.Clone(sally), ent(1, "bob"))
	st.expect(1, spec.Leader, 1, bob, 1)
	st.expect(2, spec.Follower, 1, bob, 1)

	// The majority side elects S3 in term 2 and commits "tom".
	st.do(spec.Action{Kind: spec.Timeout, Server: 3})
	for _, j := range []spec.ServerID{4, 5} {
		st.deliver(spec.RequestVote, 3, j)
		st.deliver(spec.RequestVoteResponse, j, 3)
	}
	st.expect(3, spec.Leader, 2, sally, 1)
	st.do(spec.Action{Kind: spec.ClientRequest, Server: 3, Value: "tom"})
	// The old heartbeats to the far side are lost, making room.
	for _, j := range []spec.ServerID{3, 4, 5} {
		st.drop(spec.AppendEntries, 1, j)
	}
	st.do(spec.Action{Kind: spec.Heartbeat, Server: 3})
	for _, j := range []spec.ServerID{4, 5} {
		st.deliver(spec.AppendEntries, 3, j)
		st.deliver(spec.AppendEntriesResponse, j, 3)
	}
	tom := append(slices.Clone(sally), ent(2, "tom"))
	st.expect(3, spec.Leader, 2, tom, 2)

	// Heal: the old leader hears of term 2, steps down, and its uncommitted
	// "bob" is replaced by the committed "tom".
	st.do(spec.Action{Kind: spec.Heal})
	st.deliver(spec.AppendEntries, 3, 1)
	st.expect(1, spec.Follower, 2, tom, 1)
	st.deliver(spec.AppendEntries, 3, 2)
	st.expect(2, spec.Follower, 2, tom, 1)
	st.deliver(spec.AppendEntriesResponse, 1, 3)
	st.deliver(spec.AppendEntriesResponse, 2, 3)
	if got := st.server(3).MatchIndex; !slices.Equal(got, []spec.Index{2, 2, 0, 2, 2}) {
		t.Fatalf("new leader's matchIndex %v", got)
	}
	if st.view.History.LeaderIn(1) != 1 || st.view.History.LeaderIn(2) != 3 {
		t.Fatalf("leader history %v", st.view.History.LeaderOf)
	}
}

// The conflict hint of §5.3: a follower refusing an AppendEntries at an
// index where it holds an entry of another term hints past every entry of
// that term; without the feature the hint is one entry back.
func TestConflictHint(t *testing.T) {
	for _, tc := range []struct {
		on   bool
		hint spec.Index
		next spec.Index
	}{{false, 1, 2}, {true, 0, 1}} {
		cfg := Config{Servers: 3, MaxTerm: 3, MaxValues: 3, MaxMsgs: 8, MaxCopies: 1}
		cfg.ConflictHint = tc.on
		st := newStory(t, cfg)
		st.elect(1, 2, 3)
		st.do(spec.Action{Kind: spec.ClientRequest, Server: 1, Value: "v1"})
		st.do(spec.Action{Kind: spec.Heartbeat, Server: 1})
		for _, j := range []spec.ServerID{2, 3} {
			st.deliver(spec.AppendEntries, 1, j)
			st.deliver(spec.AppendEntriesResponse, j, 1)
		}
		st.do(spec.Action{Kind: spec.ClientRequest, Server: 1, Value: "v2"}) // S1: [1:v1 1:v2], the others [1:v1]
		st.do(spec.Action{Kind: spec.Timeout, Server: 2})
		st.deliver(spec.RequestVote, 2, 3)
		st.deliver(spec.RequestVoteResponse, 3, 2)
		st.do(spec.Action{Kind: spec.ClientRequest, Server: 2, Value: "v3"}) // S2 leads term 2: [1:v1 2:v3]
		st.do(spec.Action{Kind: spec.Heartbeat, Server: 2})
		st.deliver(spec.AppendEntries, 2, 3) // S3: [1:v1 2:v3]
		st.deliver(spec.AppendEntriesResponse, 3, 2)
		st.do(spec.Action{Kind: spec.Timeout, Server: 3})
		st.deliver(spec.RequestVote, 3, 2)
		st.deliver(spec.RequestVoteResponse, 2, 3) // S3 leads term 3; its nextIndex for S1 is 3
		st.do(spec.Action{Kind: spec.Heartbeat, Server: 3})
		st.deliver(spec.AppendEntries, 3, 1) // prev 2/2, where S1 holds 1:v2
		refusal := st.msg(spec.AppendEntriesResponse, 1, 3)
		st.deliver(spec.AppendEntriesResponse, 1, 3)
		if refusal.Success || refusal.MatchIndex != tc.hint || st.server(3).NextIndex[0] != tc.next {
			t.Fatalf("conflict hint %v: refusal %v, S3's nextIndex for S1 %d; want hint %d, next %d", tc.on, *refusal, st.server(3).NextIndex[0], tc.hint, tc.next)
		}
	}
}
