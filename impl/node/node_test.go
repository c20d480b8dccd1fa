package node

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/spec"
)

func TestThreeNodesElectAndReplicate(t *testing.T) {
	c := newCluster(t, 3, nil)
	l := c.leader()
	want := values("v", 50)
	for _, v := range want {
		c.propose(v)
	}
	c.converged(want)
	// Followers refuse proposals and name the leader.
	f := (l + 1) % 3
	err := c.nodes[f].Propose(context.Background(), "x")
	var nl *raft.NotLeaderError
	if !errors.As(err, &nl) || nl.Leader != spec.ServerID(l+1) {
		t.Fatalf("proposal on follower S%d: %v, want a NotLeaderError naming S%d", f+1, err, l+1)
	}
	st := c.nodes[f].Status()
	if st.Leader != spec.ServerID(l+1) || st.CommitIndex < 50 || st.Applied < 50 {
		t.Fatalf("follower status %+v", st)
	}
}

func TestFiveNodesLeaderCrashAndFailover(t *testing.T) {
	c := newCluster(t, 5, nil)
	var want []spec.Value
	for round := range 2 { // two leaders in a row crash
		l := c.leader()
		term := c.nodes[l].Status().Term
		vs := values(string(rune('a'+round)), 10)
		for _, v := range vs {
			c.propose(v)
		}
		want = append(want, vs...)
		c.stop(l)
		nl := c.leader()
		if st := c.nodes[nl].Status(); st.Term <= term {
			t.Fatalf("new leader S%d in term %d, not after %d", nl+1, st.Term, term)
		}
	}
	vs := values("c", 10)
	for _, v := range vs {
		c.propose(v)
	}
	want = append(want, vs...)
	c.converged(want)
	// The crashed servers come back from disk and catch up.
	for i := range c.nodes {
		if c.nodes[i] == nil {
			c.start(i)
		}
	}
	c.propose("after-restart")
	c.converged(append(want, "after-restart"))
}

func TestPartitionAndHeal(t *testing.T) {
	c := newCluster(t, 3, nil)
	old := c.leader()
	c.propose("before")
	// Cut the leader off from both followers.
	for j := range 3 {
		if j != old {
			c.nodes[old].Block(spec.ServerID(j + 1))
			c.nodes[j].Block(spec.ServerID(old + 1))
		}
	}
	// The deposed-to-be leader cannot commit on its own.
	if err := c.nodes[old].Propose(context.Background(), "lost"); err != nil {
		t.Fatalf("propose on the isolated leader: %v", err)
	}
	var rest []int
	for j := range 3 {
		if j != old {
			rest = append(rest, j)
		}
	}
	nl := c.leader(rest...)
	c.propose("during", rest...)
	if vs := c.sms[old].values(); slices.Contains(vs, "lost") || slices.Contains(vs, "during") {
		t.Fatalf("isolated S%d applied %v", old+1, vs)
	}
	// Heal: the old leader steps down and takes the new leader's log.
	for j := range 3 {
		c.nodes[j].Unblock(spec.ServerID(old + 1))
		c.nodes[old].Unblock(spec.ServerID(j + 1))
	}
	c.propose("after")
	c.converged([]spec.Value{"before", "during", "after"})
	if st := c.nodes[old].Status(); st.Role == spec.Leader && st.Term <= c.nodes[nl].Status().Term {
		t.Fatalf("old leader still leads: %+v", st)
	}
}

func TestRestartFromDisk(t *testing.T) {
	c := newCluster(t, 3, nil)
	want := values("d", 20)
	for _, v := range want {
		c.propose(v)
	}
	c.converged(want)
	terms := make([]spec.Term, 3)
	for i := range 3 {
		terms[i] = c.nodes[i].Status().Term
		c.stop(i)
	}
	for i := range 3 {
		c.start(i)
		if st := c.nodes[i].Status(); st.Term != terms[i] || st.LastIndex < 20 {
			t.Fatalf("S%d restarted with %+v, want term %d and 20 entries", i+1, st, terms[i])
		}
	}
	c.propose("new")
	c.converged(append(want, "new"))
}

// TestSnapshotCatchUp: with a small snapshot threshold the log is
// compacted, and a follower that was down while it happened catches up
// through InstallSnapshot, then by ordinary replication; after a restart
// every node rebuilds its state from its snapshot and the log after it.
func TestSnapshotCatchUp(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) { cfg.SnapshotEntries = 20; cfg.SnapshotChunk = 64; cfg.Logf = t.Logf })
	l := c.leader()
	down := (l + 1) % 3
	// Cut the links to the server going down first, so that no
	// AppendEntries for it waits in a transport queue and brings it up to
	// date after the restart: it must need the snapshot.
	for j := range 3 {
		if j != down {
			c.nodes[j].Block(spec.ServerID(down + 1))
		}
	}
	c.stop(down)
	want := values("s", 100)
	for _, v := range want {
		c.propose(v)
	}
	if st := c.nodes[l].Status(); st.SnapshotIndex < 80 || st.Snapshot.Index == 0 {
		t.Fatalf("leader did not snapshot and compact: %+v", st)
	}
	c.start(down)
	for j := range 3 {
		c.nodes[j].Unblock(spec.ServerID(down + 1))
	}
	c.converged(want)
	if r := c.sms[down].restored(); r == 0 {
		for i := range 3 {
			t.Logf("S%d: %+v", i+1, c.nodes[i].Status())
		}
		t.Fatalf("S%d caught up without installing a snapshot", down+1)
	}
	c.propose("x")
	want = append(want, "x")
	c.converged(want)
	for i := range 3 {
		c.stop(i)
	}
	for i := range 3 {
		c.start(i)
	}
	c.propose("y")
	c.converged(append(want, "y"))
}

func TestStopLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	c := newCluster(t, 3, nil)
	c.leader()
	c.propose("x")
	// A proposal waiting on a stopped node returns ErrStopped.
	c.stopAll()
	waitFor(t, 5*time.Second, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= before })
	for i := range c.nodes {
		c.nodes[i] = nil
	}
}

func TestStoppedNodeRefusesProposals(t *testing.T) {
	c := newCluster(t, 1, nil)
	c.leader()
	nd := c.nodes[0]
	c.stop(0)
	if err := nd.Propose(context.Background(), "x"); !errors.Is(err, ErrStopped) {
		t.Fatalf("Propose after Stop: %v, want ErrStopped", err)
	}
	if err := nd.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestStartRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{ID: 1, Servers: 3, Dir: t.TempDir(), StateMachine: &recorder{}}, "listen"},
		{Config{ID: 1, Servers: 3, Listen: "127.0.0.1:0", StateMachine: &recorder{}}, "dir"},
		{Config{ID: 1, Servers: 3, Listen: "127.0.0.1:0", Dir: t.TempDir()}, "state machine"},
		{Config{ID: 4, Servers: 3, Listen: "127.0.0.1:0", Dir: t.TempDir(), StateMachine: &recorder{}}, "id"},
	} {
		nd, err := Start(tc.cfg)
		if err == nil {
			nd.Stop()
			t.Fatalf("Start(%+v) succeeded", tc.cfg)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Start: %v, want an error about %s", err, tc.want)
		}
	}
}

// TestDurableCommittedEntriesApplyBeforeTheWrite: the committed entries a
// Ready carries below its log change are on disk already and are applied
// before its write; those at or above it (a follower may learn of its new
// entries' commit in the same Ready) only after.
func TestDurableCommittedEntriesApplyBeforeTheWrite(t *testing.T) {
	es := func(n int) []spec.Entry { return make([]spec.Entry, n) }
	for _, tc := range []struct {
		logFrom, commitFrom spec.Index
		committed, want     int
	}{
		{0, 5, 3, 3},  // no log change: all on disk
		{8, 5, 3, 3},  // a leader under load: commit 5..7, append 8..
		{7, 5, 3, 2},  // 7 is being written now
		{5, 5, 3, 0},  // all new in this Ready
		{3, 5, 3, 0},  // a rewrite below (never of committed entries) stays after
		{9, 0, 0, 0},  // nothing committed
		{10, 5, 3, 3}, // far above
	} {
		rd := raft.Ready{CommitFrom: tc.commitFrom, CommittedEntries: es(tc.committed)}
		rd.LogFrom = tc.logFrom
		if got := durableCommitted(&rd); got != tc.want {
			t.Errorf("LogFrom %d, committed %d..+%d: %d entries before the write, want %d",
				tc.logFrom, tc.commitFrom, tc.committed, got, tc.want)
		}
	}
}
