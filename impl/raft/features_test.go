package raft

import (
	"fmt"
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

func TestConflictHintSkipsConflictingTerms(t *testing.T) {
	log := []spec.Entry{e(1, "a"), e(2, "b"), e(3, "c"), e(3, "d"), e(3, "e")}
	for _, tc := range []struct {
		fast bool
		hint spec.Index
	}{{false, 4}, {true, 2}} {
		r := newNode(t, 1, 3, persistent(3, 0, log...), func(c *Config) { c.ConflictHint = tc.fast })
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

// A follower whose 300-entry stale tail has a lower term than the
// leader's is repaired in a handful of round trips with the §5.3 hint,
// against one per entry without it; and the logs agree afterwards.
func TestConflictHintRepairsALongStaleTail(t *testing.T) {
	stale, leaderLog := []spec.Entry{e(1, "a")}, []spec.Entry{e(1, "a")}
	for k := range 300 {
		stale = append(stale, e(2, fmt.Sprintf("s%d", k)))
		leaderLog = append(leaderLog, e(3, fmt.Sprintf("x%d", k)))
	}
	for _, tc := range []struct {
		hint  bool
		trips int // round trips until the follower accepts
	}{{true, 2}, {false, 301}} {
		mod := func(c *Config) { c.ConflictHint = tc.hint }
		l := leaderOf(t, 1, 2, persistent(3, 1, leaderLog...), mod)
		f := newNode(t, 2, 2, persistent(3, 1, stale...), mod)
		flush(t, l)
		trips := 0
		for trips < 1000 {
			if err := l.Heartbeat(); err != nil {
				t.Fatal(err)
			}
			step(t, f, sent(t, l)[0])
			resp := sent(t, f)[0]
			step(t, l, resp)
			flush(t, l)
			trips++
			if resp.Success {
				break
			}
		}
		if !slices.Equal(f.View().Log, leaderLog) || trips != tc.trips {
			t.Fatalf("hint %v: after %d round trips the follower holds %d entries; want the leader's %d after %d",
				tc.hint, trips, len(f.View().Log), len(leaderLog), tc.trips)
		}
	}
}

// Figure 2's election timer: a follower that learns of a higher term from
// a candidate whose vote it refuses keeps its timer running and times out
// on schedule; granting a vote or hearing from the leader restarts it.
func TestElectionTimerRestartsOnlyOnVoteOrLeader(t *testing.T) {
	fixed := func(c *Config) { c.ElectionTick, c.Rand = 4, func(int) int { return 0 } } // a 4-tick timeout
	r := newNode(t, 1, 3, persistent(1, 0, e(1, "a")), fixed)
	r.Tick()
	r.Tick()
	r.Tick()
	step(t, r, rv(2, 1, 2, 0, 0)) // term 2, a log behind: refused
	if v := r.View(); v.Term != 2 || v.VotedFor != spec.None {
		t.Fatalf("refusal: %v", v)
	}
	flush(t, r)
	r.Tick()
	if v := r.View(); v.Role != spec.Candidate || v.Term != 3 {
		t.Fatalf("the refused candidate's higher term restarted the timer: after the 4th tick %v", v)
	}
	r = newNode(t, 1, 3, persistent(1, 0), fixed)
	r.Tick()
	r.Tick()
	r.Tick()
	step(t, r, rv(2, 1, 2, 0, 0)) // granted: restarts the timer
	flush(t, r)
	r.Tick()
	if v := r.View(); v.Role != spec.Follower || v.VotedFor != 2 {
		t.Fatalf("granting a vote did not restart the timer: %v", v)
	}
	for range 3 {
		r.Tick()
	}
	if v := r.View(); v.Role != spec.Candidate {
		t.Fatalf("no campaign 4 ticks after the vote: %v", v)
	}
}
