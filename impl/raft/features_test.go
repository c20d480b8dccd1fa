package raft

import (
	"slices"
	"testing"

	"github.com/raftcheck/raftcheck/spec"
)

func TestBatchingAppendsProposalsTogether(t *testing.T) {
	r := leaderOf(t, 1, 3, Persistent{}, func(c *Config) { c.MaxBatch = 3 })
	for _, v := range []spec.Value{"a", "b"} {
		if err := r.Propose(v); err != nil {
			t.Fatal(err)
		}
	}
	if v := r.View(); len(v.Log) != 0 || !r.HasReady() {
		t.Fatalf("batched proposals appended early: %v", v)
	}
	rd := flush(t, r)
	if rd.LogFrom != 1 || !slices.Equal(rd.Entries, []spec.Entry{e(1, "a"), e(1, "b")}) {
		t.Fatalf("one append of the batch expected: %+v", rd.Update)
	}
	for _, v := range []spec.Value{"c", "d", "e"} { // a full batch is appended at once
		if err := r.Propose(v); err != nil {
			t.Fatal(err)
		}
	}
	if v := r.View(); len(v.Log) != 5 {
		t.Fatalf("full batch not appended: %v", v)
	}
	// A step that deposes the leader first appends what is batched.
	if err := r.Propose("f"); err != nil {
		t.Fatal(err)
	}
	step(t, r, ae(2, 1, 2, 0, 0, 0))
	if v := r.View(); len(v.Log) != 6 || v.Role != spec.Follower {
		t.Fatalf("batch lost on step-down: %v", v)
	}
}

func TestReplicateOnPropose(t *testing.T) {
	r := leaderOf(t, 1, 3, Persistent{}, func(c *Config) { c.ReplicateOnPropose = true; c.MaxBatch = 2 })
	if err := r.Propose("a"); err != nil {
		t.Fatal(err)
	}
	if err := r.Propose("b"); err != nil {
		t.Fatal(err)
	}
	wantMsgs(t, sent(t, r), ae(1, 2, 1, 0, 0, 0, e(1, "a"), e(1, "b")), ae(1, 3, 1, 0, 0, 0, e(1, "a"), e(1, "b")))
}

func TestPipelining(t *testing.T) {
	r := leaderOf(t, 1, 3, Persistent{}, func(c *Config) { c.MaxInflight = 2 })
	propose := func(v spec.Value) {
		t.Helper()
		if err := r.Propose(v); err != nil {
			t.Fatal(err)
		}
	}
	propose("a")
	if err := r.Heartbeat(); err != nil {
		t.Fatal(err)
	}
	// Probing: sent as the spec says, nextIndex unchanged.
	wantMsgs(t, sent(t, r), ae(1, 2, 1, 0, 0, 0, e(1, "a")), ae(1, 3, 1, 0, 0, 0, e(1, "a")))
	step(t, r, aer(2, 1, 1, true, 1))
	flush(t, r)
	// S2 acknowledged: new entries go out optimistically, two at a time.
	propose("b")
	if err := r.Heartbeat(); err != nil {
		t.Fatal(err)
	}
	propose("c")
	if err := r.Heartbeat(); err != nil {
		t.Fatal(err)
	}
	propose("d")
	if err := r.Heartbeat(); err != nil {
		t.Fatal(err)
	}
	var toS2 []spec.Message
	for _, m := range sent(t, r) {
		if m.To == 2 {
			toS2 = append(toS2, m)
		}
	}
	wantMsgs(t, toS2,
		ae(1, 2, 1, 1, 1, 1, e(1, "b")),
		ae(1, 2, 1, 2, 1, 1, e(1, "c")),
		ae(1, 2, 1, 3, 1, 1)) // window full: an empty AppendEntries after the last entry sent
	if v := r.View(); v.NextIndex[1] != 4 || v.MatchIndex[1] != 1 {
		t.Fatalf("optimistic nextIndex: %v", v)
	}
	// An acknowledgement frees the window and the rest goes out at once.
	step(t, r, aer(2, 1, 1, true, 2))
	wantMsgs(t, sent(t, r), ae(1, 2, 1, 3, 1, 2, e(1, "d")))
	// A rejection sends the follower back to probing, retried at once.
	step(t, r, aer(2, 1, 1, false, 2))
	wantMsgs(t, sent(t, r), ae(1, 2, 1, 2, 1, 2, e(1, "c"), e(1, "d")))
	if v := r.View(); v.NextIndex[1] != 3 {
		t.Fatalf("after rejection: %v", v)
	}
}

func TestFastBacktrackSkipsConflictingTerms(t *testing.T) {
	log := []spec.Entry{e(1, "a"), e(2, "b"), e(3, "c"), e(3, "d"), e(3, "e")}
	for _, tc := range []struct {
		fast bool
		hint spec.Index
	}{{false, 4}, {true, 2}} {
		r := newNode(t, 1, 3, persistent(3, 0, log...), func(c *Config) { c.FastBacktrack = tc.fast })
		step(t, r, ae(2, 1, 4, 5, 2, 0, e(4, "x")))
		wantMsgs(t, sent(t, r), aer(1, 2, 4, false, tc.hint))
	}
}

func TestTickElectionAndHeartbeat(t *testing.T) {
	draws := 0
	rnd := func(n int) int { draws++; return n - 1 } // the longest timeout
	r := newNode(t, 1, 3, Persistent{}, func(c *Config) { c.ElectionTick, c.HeartbeatTick, c.Rand = 4, 2, rnd })
	for range 6 {
		r.Tick()
	}
	if v := r.View(); v.Role != spec.Follower || draws == 0 {
		t.Fatalf("campaigned before the timeout of 7 ticks: %v", v)
	}
	step(t, r, ae(2, 1, 1, 0, 0, 0)) // hearing from a leader restarts the timer
	for range 6 {
		r.Tick()
	}
	if v := r.View(); v.Role != spec.Follower {
		t.Fatalf("campaigned although the leader was heard: %v", v)
	}
	r.Tick()
	if v := r.View(); v.Role != spec.Candidate || v.Term != 2 {
		t.Fatalf("no campaign after the timeout: %v", v)
	}
	flush(t, r)
	step(t, r, rvr(3, 1, 2, true))
	r.Tick()
	if ms := sent(t, r); len(ms) != 0 {
		t.Fatalf("heartbeat before HeartbeatTick: %v", ms)
	}
	r.Tick()
	wantMsgs(t, sent(t, r), ae(1, 2, 2, 0, 0, 0), ae(1, 3, 2, 0, 0, 0))
}
