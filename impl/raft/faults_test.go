//go:build raftfaults

package raft

import (
	"slices"
	"testing"

	"github.com/raftcheck/raftcheck/spec"
)

// Each fault switch changes exactly the rule it names: the same input gives
// the correct result without it and the seeded bug's result with it.

func TestFaultFigure8Commit(t *testing.T) {
	for _, bug := range []bool{false, true} {
		r := win(t, campaign(t, faultyNode(t, 1, 3, persistent(2, 0, e(1, "a"), e(2, "b")), Faults{Figure8Commit: bug})))
		step(t, r, aer(2, 1, 3, true, 2))
		want := spec.Index(0)
		if bug {
			want = 2
		}
		if c := r.View().CommitIndex; c != want {
			t.Fatalf("Figure8Commit=%v: commit %d, want %d", bug, c, want)
		}
	}
}

func TestFaultVoteWithoutLogCheck(t *testing.T) {
	for _, bug := range []bool{false, true} {
		r := faultyNode(t, 1, 3, persistent(2, 0, e(2, "a")), Faults{VoteWithoutLogCheck: bug})
		step(t, r, rv(2, 1, 3, 0, 0))
		wantMsgs(t, sent(t, r), rvr(1, 2, 3, bug))
	}
}

func TestFaultTruncateOnStaleAppend(t *testing.T) {
	for _, bug := range []bool{false, true} {
		r := faultyNode(t, 1, 3, Persistent{}, Faults{TruncateOnStaleAppend: bug})
		step(t, r, ae(2, 1, 1, 0, 0, 2, e(1, "a"), e(1, "b")))
		step(t, r, ae(2, 1, 1, 0, 0, 0, e(1, "a"))) // stale, reordered
		want := []spec.Entry{e(1, "a"), e(1, "b")}
		if bug {
			want = want[:1]
		}
		v := r.View()
		if !slices.Equal(v.Log, want) || v.CommitIndex != 2 {
			t.Fatalf("TruncateOnStaleAppend=%v: %v, want log %v commit 2", bug, v, want)
		}
		if rd := flush(t, r); rd.LogFrom != 1 || len(rd.CommittedEntries) != len(want) {
			t.Fatalf("TruncateOnStaleAppend=%v: update from %d %v, committed %v", bug, rd.LogFrom, rd.Entries, rd.CommittedEntries)
		}
	}
}

func TestFaultForgetVoteOnRestart(t *testing.T) {
	for _, bug := range []bool{false, true} {
		fault := Faults{ForgetVoteOnRestart: bug}
		st := NewMemoryStorage()
		r := faultyNode(t, 1, 3, Persistent{}, fault)
		step(t, r, rv(2, 1, 4, 0, 0))
		rd := flush(t, r)
		if err := st.Save(rd.Update); err != nil {
			t.Fatal(err)
		}
		wantMsgs(t, rd.Messages, rvr(1, 2, 4, true))
		p, _ := st.Load()
		r = faultyNode(t, 1, 3, p, fault) // restart from storage
		step(t, r, rv(3, 1, 4, 0, 0))
		wantMsgs(t, sent(t, r), rvr(1, 3, 4, bug))
	}
}

func TestFaultCommitFromLeaderCommit(t *testing.T) {
	for _, bug := range []bool{false, true} {
		r := faultyNode(t, 1, 3, persistent(1, 0, e(1, "a"), e(1, "stale")), Faults{CommitFromLeaderCommit: bug})
		step(t, r, ae(2, 1, 2, 1, 1, 2)) // only index 1 is known to agree with the leader
		want := spec.Index(1)
		if bug {
			want = 2
		}
		if c := r.View().CommitIndex; c != want {
			t.Fatalf("CommitFromLeaderCommit=%v: commit %d, want %d", bug, c, want)
		}
	}
}

// With the build tag every fault can be switched on.
func TestFaultsCompiled(t *testing.T) {
	all := Faults{Figure8Commit: true, VoteWithoutLogCheck: true, TruncateOnStaleAppend: true,
		ForgetVoteOnRestart: true, CommitFromLeaderCommit: true}
	if !FaultsCompiled || all.Validate() != nil || !all.Any() || (Faults{}).Any() {
		t.Fatalf("FaultsCompiled %v, Validate %v, Any %v", FaultsCompiled, all.Validate(), all.Any())
	}
}

// CommitToLastIndex: with an AppendEntries that carries only part of the
// leader's suffix, the correct follower commits up to the last new entry,
// the faulty one over its own stale tail.
func TestFaultCommitToLastIndex(t *testing.T) {
	for _, bug := range []bool{false, true} {
		r := faultyNode(t, 1, 3, persistent(2, 0, e(1, "a"), e(1, "stale1"), e(1, "stale2")), Faults{CommitToLastIndex: bug})
		step(t, r, ae(2, 1, 2, 1, 1, 3)) // matches at 1, carries nothing, leaderCommit 3
		want := spec.Index(1)
		if bug {
			want = 3
		}
		if c := r.View().CommitIndex; c != want {
			t.Fatalf("CommitToLastIndex=%v: commit %d, want %d", bug, c, want)
		}
	}
}

func TestFaultsOfInstallSnapshot(t *testing.T) {
	log := []spec.Entry{e(1, "a"), e(1, "b"), e(2, "c")}
	for _, tc := range []struct {
		f    Faults
		snap SnapshotMeta
		want []spec.Entry // the log after the snapshot
	}{
		{Faults{}, SnapshotMeta{Index: 2, Term: 1}, []spec.Entry{e(2, "c")}},
		{Faults{}, SnapshotMeta{Index: 2, Term: 2}, nil},
		{Faults{SnapshotKeepsConflictingSuffix: true}, SnapshotMeta{Index: 2, Term: 2}, []spec.Entry{e(2, "c")}},
		{Faults{SnapshotKeepsConflictingSuffix: true}, SnapshotMeta{Index: 4, Term: 2}, nil},
		{Faults{SnapshotDiscardsMatchingSuffix: true}, SnapshotMeta{Index: 2, Term: 1}, nil},
	} {
		r := faultyNode(t, 2, 3, persistent(2, 0, log...), tc.f)
		if ok, err := r.InstallSnapshot(1, 2, tc.snap); !ok || err != nil {
			t.Fatalf("%+v: install %v, %v", tc.f, ok, err)
		}
		if rd := flush(t, r); !slices.Equal(rd.Entries, tc.want) || rd.LogFrom != tc.snap.Index+1 {
			t.Errorf("%+v, snapshot %v: update from %d %v, want %v", tc.f, tc.snap, rd.LogFrom, rd.Entries, tc.want)
		}
	}
}
