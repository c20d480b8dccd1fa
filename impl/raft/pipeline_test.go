package raft

import (
	"testing"

	"github.com/raftcheck/raftcheck/spec"
)

// net is a tiny deterministic network of cores for tests: pump flushes
// every node and delivers each released message for which deliver returns
// true, in order, until nothing is left; the rest are dropped. A network
// that does not fall quiet within 100 rounds fails the test.
type net struct {
	t     *testing.T
	nodes map[spec.ServerID]*Node
}

func (nw *net) pump(deliver func(spec.Message) bool) {
	nw.t.Helper()
	for rounds, progress := 0, true; progress; rounds++ {
		if rounds == 100 {
			nw.t.Fatal("the network does not fall quiet")
		}
		progress = false
		for id := spec.ServerID(1); int(id) <= len(nw.nodes); id++ {
			for _, m := range sent(nw.t, nw.nodes[id]) {
				progress = true
				if rounds >= 95 {
					nw.t.Log(m)
				}
				if deliver(m) {
					step(nw.t, nw.nodes[m.To], m)
				}
			}
		}
	}
}

func all(spec.Message) bool { return true }

// TestPipelineRecoversFromLostWindow is the suspected stall of pipelining:
// every AppendEntries that filled a follower's window is lost (or every
// acknowledgement of them). Before the fix the heartbeat to a full window
// went at matchIndex, the follower accepted it, and its acknowledgement
// (no progress, entries still to send) made the leader send the same
// heartbeat again at once: an endless exchange of empty AppendEntries,
// the follower never catching up. Now the follower catches up, and the
// network falls quiet, after one heartbeat.
func TestPipelineRecoversFromLostWindow(t *testing.T) {
	for _, tc := range []struct {
		inflight     int
		lostRequests bool // else the acknowledgements are lost
	}{{1, true}, {2, true}, {4, true}, {2, false}, {4, false}} {
		mods := func(c *Config) { c.MaxInflight, c.ReplicateOnPropose = tc.inflight, true }
		nw := &net{t: t, nodes: map[spec.ServerID]*Node{
			1: leaderOf(t, 1, 3, Persistent{}, mods),
			2: newNode(t, 2, 3, Persistent{}, mods),
			3: newNode(t, 3, 3, Persistent{}, mods),
		}}
		for _, id := range []spec.ServerID{2, 3} {
			step(t, nw.nodes[id], ae(1, id, 1, 0, 0, 0)) // learn the term and the leader
		}
		leader := nw.nodes[1]
		if err := leader.Propose("a"); err != nil {
			t.Fatal(err)
		}
		nw.pump(all) // S2 and S3 acknowledge: both pipelined from now on
		// Fill S2's window (and more), losing S2's requests or its answers.
		lost := func(m spec.Message) bool {
			if tc.lostRequests {
				return m.To == 2
			}
			return m.From == 2
		}
		for k := range tc.inflight + 2 {
			if err := leader.Propose(spec.Value(rune('b' + k))); err != nil {
				t.Fatal(err)
			}
			nw.pump(func(m spec.Message) bool { return !lost(m) })
		}
		if got := len(leader.inflight[2]); got != tc.inflight {
			t.Fatalf("%+v: window holds %d requests, want it full", tc, got)
		}
		last := leader.lastIndex()
		if err := leader.Heartbeat(); err != nil {
			t.Fatal(err)
		}
		nw.pump(all)
		if v, f := leader.View(), nw.nodes[2].View(); v.MatchIndex[1] != last || spec.Index(len(f.Log)) != last || f.CommitIndex != last {
			t.Fatalf("%+v: S2 has not caught up after a heartbeat: leader %v, S2 %v", tc, v, f)
		}
	}
}
