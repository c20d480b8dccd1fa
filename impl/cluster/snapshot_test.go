package cluster

import (
	"errors"
	"slices"
	"testing"

	"github.com/raftcheck/raftcheck/spec"
)

func snapMsg(from, to spec.ServerID, term spec.Term, data ...spec.Entry) *spec.Message {
	return &spec.Message{Type: spec.InstallSnapshot, From: from, To: to, Term: term,
		LastIncludedIndex: spec.Index(len(data)), LastIncludedTerm: data[len(data)-1].Term, Entries: data}
}

// A leader compacts its committed log; a follower that lacks the
// compacted entries gets the snapshot as the specification's
// InstallSnapshot, installs it and acknowledges it; both restart from
// their snapshots. Views, stable storage and the state machines show the
// snapshot's entries throughout, in memory and on the write-ahead log.
func TestSnapshotCompactInstallRestart(t *testing.T) {
	for _, dir := range []string{"", t.TempDir()} {
		c := newCluster(t, 3, Options{Dir: dir})
		a := e(1, "a")
		apply(t, c, spec.Action{Kind: spec.Timeout, Server: 1})
		apply(t, c, deliver(rv(1, 2, 1, 0, 0)))
		apply(t, c, deliver(rvr(2, 1, 1, true)))
		apply(t, c, spec.Action{Kind: spec.Drop, Message: rv(1, 3, 1, 0, 0)})
		if err := c.Apply(spec.Action{Kind: spec.Compact, Server: 1}); !errors.Is(err, ErrNotEnabled) {
			t.Fatalf("compact with nothing committed: %v", err)
		}
		apply(t, c, spec.Action{Kind: spec.ClientRequest, Server: 1, Value: "a"})
		apply(t, c, spec.Action{Kind: spec.Heartbeat, Server: 1})
		apply(t, c, deliver(ae(1, 2, 1, 0, 0, 0, a)))
		apply(t, c, spec.Action{Kind: spec.Drop, Message: ae(1, 3, 1, 0, 0, 0, a)})
		apply(t, c, deliver(aer(2, 1, 1, true, 1)))
		apply(t, c, spec.Action{Kind: spec.Compact, Server: 1})
		leader := spec.View{ID: 1, Term: 1, VotedFor: 1, Role: spec.Leader, Log: []spec.Entry{a}, CommitIndex: 1,
			NextIndex: []spec.Index{0, 2, 1}, MatchIndex: []spec.Index{0, 1, 0}, SnapshotIndex: 1}
		wantView(t, c, leader)
		if err := c.Apply(spec.Action{Kind: spec.Compact, Server: 1}); !errors.Is(err, ErrNotEnabled) {
			t.Fatalf("second compact at the same index: %v", err)
		}

		// S3 needs index 1, compacted: the heartbeat sends it the snapshot alone.
		apply(t, c, spec.Action{Kind: spec.Heartbeat, Server: 1})
		wantInFlight(t, c, one(ae(1, 2, 1, 1, 1, 1)), one(snapMsg(1, 3, 1, a)))
		apply(t, c, deliver(snapMsg(1, 3, 1, a)))
		wantView(t, c, spec.View{ID: 3, Term: 1, Log: []spec.Entry{a}, CommitIndex: 1, SnapshotIndex: 1})
		wantInFlight(t, c, one(ae(1, 2, 1, 1, 1, 1)), one(aer(3, 1, 1, true, 1)))
		if got := c.Applied(3); !slices.Equal(got, []spec.Entry{a}) {
			t.Fatalf("S3's state machine after the install: %v", got)
		}
		d, err := c.Durable()
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range map[int]spec.Durable{
			0: {Term: 1, VotedFor: 1, Log: []spec.Entry{a}, SnapshotIndex: 1},
			2: {Term: 1, Log: []spec.Entry{a}, SnapshotIndex: 1}, // S3 never voted: its RequestVote was dropped
		} {
			if diff := d[i].Diff(&want); len(diff) > 0 {
				t.Fatalf("dir %q: durable state of S%d differs in %v: %+v", dir, i+1, diff, d[i])
			}
		}

		// The leader goes on after the snapshot; both restart from it.
		apply(t, c, deliver(aer(3, 1, 1, true, 1)))
		apply(t, c, spec.Action{Kind: spec.ClientRequest, Server: 1, Value: "b"})
		apply(t, c, spec.Action{Kind: spec.Heartbeat, Server: 1})
		apply(t, c, deliver(ae(1, 3, 1, 1, 1, 1, e(1, "b"))))
		apply(t, c, spec.Action{Kind: spec.Restart, Server: 3})
		wantView(t, c, spec.View{ID: 3, Term: 1, Log: []spec.Entry{a, e(1, "b")}, CommitIndex: 1, SnapshotIndex: 1})
		if got := c.Applied(3); !slices.Equal(got, []spec.Entry{a}) {
			t.Fatalf("S3's state machine after the restart: %v", got)
		}
		apply(t, c, spec.Action{Kind: spec.Restart, Server: 1})
		wantView(t, c, spec.View{ID: 1, Term: 1, VotedFor: 1, Log: []spec.Entry{a, e(1, "b")}, CommitIndex: 1, SnapshotIndex: 1})
	}
}
