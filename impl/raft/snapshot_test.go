package raft

import (
	"slices"
	"testing"

	"github.com/raftcheck/raftcheck/spec"
)

// TestCompactAndInstallSnapshot: a leader compacts its committed prefix; a
// follower that needs a compacted entry is reported in Ready.Snapshots,
// installs the snapshot, answers with an ordinary AppendEntriesResponse and
// then receives the entries after the snapshot.
func TestCompactAndInstallSnapshot(t *testing.T) {
	for _, inflight := range []int{0, 4} {
		l := leaderOf(t, 1, 3, Persistent{}, func(c *Config) { c.MaxInflight = inflight })
		for _, v := range []spec.Value{"a", "b", "c"} {
			if err := l.Propose(v); err != nil {
				t.Fatal(err)
			}
		}
		flush(t, l)
		step(t, l, aer(2, 1, 1, true, 3)) // server 2 has everything, server 3 nothing
		if rd := flush(t, l); len(rd.CommittedEntries) != 3 {
			t.Fatalf("commit: %+v", rd)
		}
		if err := l.Compact(4); err == nil {
			t.Fatal("compact beyond the applied index accepted")
		}
		if err := l.Compact(2); err != nil {
			t.Fatal(err)
		}
		if st := l.Status(); st.Snapshot != (SnapshotMeta{Index: 2, Term: 1, TermStart: 1}) || st.LastIndex != 3 || st.CommitIndex != 3 {
			t.Fatalf("status after compact: %+v", st)
		}
		if err := l.Compact(2); err == nil {
			t.Fatal("second compact to the same index accepted")
		}
		if err := l.Propose("d"); err != nil {
			t.Fatal(err)
		}
		if err := l.Heartbeat(); err != nil {
			t.Fatal(err)
		}
		rd := flush(t, l)
		if !slices.Equal(rd.Snapshots, []spec.ServerID{3}) {
			t.Fatalf("inflight %d: Snapshots = %v, want [S3]", inflight, rd.Snapshots)
		}
		// The follower installs the snapshot sent out of band.
		f := newNode(t, 3, 3, Persistent{})
		ok, err := f.InstallSnapshot(1, 1, SnapshotMeta{Index: 2, Term: 1})
		if err != nil || !ok {
			t.Fatalf("InstallSnapshot = %v, %v", ok, err)
		}
		rd = flush(t, f)
		if rd.HardState == nil || rd.HardState.Term != 1 || len(rd.CommittedEntries) != 0 {
			t.Fatalf("follower ready after install: %+v", rd)
		}
		wantMsgs(t, rd.Messages, aer(3, 1, 1, true, 2))
		if st := f.Status(); st.Applied != 2 || st.CommitIndex != 2 || st.LastIndex != 2 || st.Leader != 1 {
			t.Fatalf("follower status: %+v", st)
		}
		// The leader continues after the snapshot.
		step(t, l, rd.Messages[0])
		if inflight == 0 { // without pipelining the next heartbeat carries them
			if err := l.Heartbeat(); err != nil {
				t.Fatal(err)
			}
		}
		out := sent(t, l)
		var got []spec.Message
		for _, m := range out {
			if m.To == 3 {
				got = append(got, m)
			}
		}
		if len(got) == 0 || got[0].PrevLogIndex != 2 || len(got[0].Entries) != 2 {
			t.Fatalf("inflight %d: after the snapshot the leader sent %v", inflight, got)
		}
		step(t, f, got[0])
		rd = flush(t, f)
		if rd.LogFrom != 3 || len(rd.Entries) != 2 || rd.CommitFrom != 3 || len(rd.CommittedEntries) != 1 {
			t.Fatalf("follower after append: %+v", rd)
		}
	}
}

// TestTrimCompactedAppend: an AppendEntries reaching back before the
// snapshot is merged from the snapshot on, not refused as a conflict.
func TestTrimCompactedAppend(t *testing.T) {
	f := newNode(t, 2, 3, Persistent{HardState: HardState{Term: 2}, Snapshot: SnapshotMeta{Index: 3, Term: 1}, Log: []spec.Entry{e(2, "d")}})
	if st := f.Status(); st.CommitIndex != 3 || st.Applied != 3 || st.LastIndex != 4 {
		t.Fatalf("restored status: %+v", st)
	}
	step(t, f, ae(1, 2, 2, 1, 1, 5, e(1, "b"), e(1, "c"), e(2, "d"), e(2, "e")))
	rd := flush(t, f)
	if rd.LogFrom != 5 || !slices.Equal(rd.Entries, []spec.Entry{e(2, "e")}) {
		t.Fatalf("update: %+v", rd.Update)
	}
	if rd.CommitFrom != 4 || len(rd.CommittedEntries) != 2 {
		t.Fatalf("committed: from %d %v", rd.CommitFrom, rd.CommittedEntries)
	}
	wantMsgs(t, rd.Messages, aer(2, 1, 2, true, 5))
	// Entirely covered: acknowledged at its own last entry, as sent
	// (prevLogIndex + len(entries), as the specification's follower does),
	// not at the snapshot index.
	step(t, f, ae(1, 2, 2, 0, 0, 5, e(1, "a")))
	wantMsgs(t, sent(t, f), aer(2, 1, 2, true, 1))
}

// TestSnapshotHeartbeat: a peer that needs a compacted entry gets the
// snapshot alone (Ready.Snapshots), as the specification's Heartbeat
// sends it; with SnapshotKeepalive an AppendEntries at the snapshot too. A pipelined refusal that needs the snapshot waits for the next
// heartbeat instead of reporting it at once.
func TestSnapshotHeartbeat(t *testing.T) {
	for _, keepalive := range []bool{false, true} {
		l := newNode(t, 1, 3, Persistent{HardState: HardState{Term: 2}, Snapshot: SnapshotMeta{Index: 2, Term: 1}, Log: []spec.Entry{e(2, "c")}},
			func(c *Config) { c.SnapshotKeepalive = keepalive; c.MaxInflight = 2 })
		win(t, campaign(t, l))
		step(t, l, aer(2, 1, 3, false, 0)) // S2 has nothing: it needs the snapshot
		if rd := flush(t, l); len(rd.Messages) != 0 || len(rd.Snapshots) != 0 {
			t.Fatalf("keepalive %v: after the refusal %v, snapshots %v", keepalive, rd.Messages, rd.Snapshots)
		}
		if err := l.Heartbeat(); err != nil {
			t.Fatal(err)
		}
		rd := flush(t, l)
		if !slices.Equal(rd.Snapshots, []spec.ServerID{2}) {
			t.Fatalf("keepalive %v: snapshots %v", keepalive, rd.Snapshots)
		}
		var to2 []spec.Message
		for _, m := range rd.Messages {
			if m.To == 2 {
				to2 = append(to2, m)
			}
		}
		if keepalive != (len(to2) == 1) || keepalive && to2[0].PrevLogIndex != 2 {
			t.Fatalf("keepalive %v: sent to S2 %v", keepalive, to2)
		}
	}
}

// TestInstallSnapshotRewritesLog: after an install the next Ready writes
// the log after the snapshot anew — the kept entries, or none — so that
// storage applying the snapshot rule ends up with what the node holds.
func TestInstallSnapshotRewritesLog(t *testing.T) {
	for _, tc := range []struct {
		log  []spec.Entry
		want []spec.Entry
	}{
		{[]spec.Entry{e(1, "a"), e(1, "b"), e(2, "c")}, []spec.Entry{e(2, "c")}}, // holds 2/1: keeps the rest
		{[]spec.Entry{e(1, "a"), e(2, "x"), e(2, "c")}, nil},                     // conflicts at 2: discards all
	} {
		st := NewMemoryStorage()
		p := persistent(2, 0, tc.log...)
		if err := st.Save(Update{HardState: &p.HardState, LogFrom: 1, Entries: tc.log}); err != nil {
			t.Fatal(err)
		}
		f := newNode(t, 2, 3, p)
		ok, err := f.InstallSnapshot(1, 3, SnapshotMeta{Index: 2, Term: 1})
		if !ok || err != nil {
			t.Fatalf("install: %v, %v", ok, err)
		}
		if err := st.SaveSnapshot(SnapshotMeta{Index: 2, Term: 1}); err != nil {
			t.Fatal(err)
		}
		rd := flush(t, f)
		if rd.LogFrom != 3 || !slices.Equal(rd.Entries, tc.want) {
			t.Fatalf("log %v: update from %d %v, want from 3 %v", tc.log, rd.LogFrom, rd.Entries, tc.want)
		}
		if err := st.Save(rd.Update); err != nil {
			t.Fatal(err)
		}
		got, _ := st.Load()
		if got.Snapshot != (SnapshotMeta{Index: 2, Term: 1}) || !slices.Equal(got.Log, tc.want) || got.Term != 3 {
			t.Fatalf("log %v: storage holds %+v", tc.log, got)
		}
		if v := f.View(); !slices.Equal(v.Log, tc.want) || v.CommitIndex != 2 {
			t.Fatalf("log %v: view %v", tc.log, v)
		}
	}
}

// Step refuses an InstallSnapshot: it is installed with InstallSnapshot,
// once its data has arrived.
func TestStepRefusesInstallSnapshot(t *testing.T) {
	f := newNode(t, 2, 3, Persistent{})
	m := spec.Message{Type: spec.InstallSnapshot, From: 1, To: 2, Term: 1, LastIncludedIndex: 1, LastIncludedTerm: 1, Entries: []spec.Entry{e(1, "a")}}
	wantErr(t, f.Step(m), ErrInvalidMessage)
	if v := f.View(); v.Term != 0 {
		t.Fatalf("the refused message changed the node: %v", v)
	}
}

func TestMemoryStorageSnapshot(t *testing.T) {
	st := NewMemoryStorage()
	if err := st.Save(Update{HardState: &HardState{Term: 2}, LogFrom: 1, Entries: []spec.Entry{e(1, "a"), e(1, "b"), e(2, "c")}}); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveSnapshot(SnapshotMeta{Index: 2, Term: 1}); err != nil {
		t.Fatal(err)
	}
	if err := st.Save(Update{LogFrom: 4, Entries: []spec.Entry{e(2, "d")}}); err != nil {
		t.Fatal(err)
	}
	p, _ := st.Load()
	if p.Snapshot != (SnapshotMeta{Index: 2, Term: 1}) || !slices.Equal(p.Log, []spec.Entry{e(2, "c"), e(2, "d")}) {
		t.Fatalf("after compaction and append: %+v", p)
	}
	for name, err := range map[string]error{
		"rewrite a compacted entry": st.Save(Update{LogFrom: 2, Entries: []spec.Entry{e(2, "x")}}),
		"gap after the snapshot":    st.Save(Update{LogFrom: 6, Entries: []spec.Entry{e(2, "x")}}),
		"old snapshot":              st.SaveSnapshot(SnapshotMeta{Index: 2, Term: 1}),
		"snapshot term 0":           st.SaveSnapshot(SnapshotMeta{Index: 5}),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A snapshot beyond the log, or conflicting with it, discards the log.
	if err := st.SaveSnapshot(SnapshotMeta{Index: 4, Term: 3}); err != nil {
		t.Fatal(err)
	}
	if p, _ := st.Load(); p.Snapshot.Index != 4 || len(p.Log) != 0 {
		t.Fatalf("after a conflicting snapshot: %+v", p)
	}
}

func TestInstallSnapshotRules(t *testing.T) {
	f := newNode(t, 2, 3, persistent(3, 0, e(1, "a"), e(1, "b"), e(3, "c")))
	if _, err := f.InstallSnapshot(2, 3, SnapshotMeta{Index: 1, Term: 1}); err == nil {
		t.Fatal("snapshot from itself accepted")
	}
	// A stale term is answered with a failure in the node's term.
	ok, err := f.InstallSnapshot(1, 2, SnapshotMeta{Index: 2, Term: 1})
	if ok || err != nil {
		t.Fatalf("stale snapshot: %v, %v", ok, err)
	}
	wantMsgs(t, sent(t, f), aer(2, 1, 3, false, 0))
	// A snapshot whose last entry the log holds keeps the entries after it.
	ok, err = f.InstallSnapshot(1, 3, SnapshotMeta{Index: 2, Term: 1})
	if !ok || err != nil {
		t.Fatalf("install: %v, %v", ok, err)
	}
	if v := f.View(); !slices.Equal(v.Log, []spec.Entry{e(3, "c")}) || v.CommitIndex != 2 {
		t.Fatalf("view after install: %v", v)
	}
	// One at or below the commit index is only acknowledged.
	flush(t, f)
	ok, err = f.InstallSnapshot(1, 3, SnapshotMeta{Index: 1, Term: 1})
	if ok || err != nil {
		t.Fatalf("old snapshot: %v, %v", ok, err)
	}
	wantMsgs(t, sent(t, f), aer(2, 1, 3, true, 1))
	// Pending log changes must be handled first.
	step(t, f, ae(1, 2, 3, 3, 3, 2, e(3, "d")))
	_, err = f.InstallSnapshot(1, 3, SnapshotMeta{Index: 4, Term: 3})
	wantErr(t, err, ErrUnstable)
}

// With the conflict hint, a conflicting term that reaches into the
// snapshot is skipped to where it started (SnapshotMeta.TermStart), as by
// a follower that kept every entry; unknown (0), the hint stops at the
// snapshot. Compact works TermStart out, through an earlier snapshot too.
func TestConflictHintBelowSnapshot(t *testing.T) {
	for _, start := range []spec.Index{0, 1} {
		f := newNode(t, 2, 3, Persistent{HardState: HardState{Term: 2}, Snapshot: SnapshotMeta{Index: 1, Term: 1, TermStart: start},
			Log: []spec.Entry{e(1, "b"), e(1, "c")}}, func(c *Config) { c.ConflictHint = true })
		step(t, f, ae(1, 2, 2, 3, 2, 1))
		want := spec.Index(1)
		if start > 0 {
			want = 0
		}
		wantMsgs(t, sent(t, f), aer(2, 1, 2, false, want))
	}
	l := newNode(t, 2, 3, Persistent{})
	step(t, l, ae(1, 2, 2, 0, 0, 3, e(1, "a"), e(1, "b"), e(2, "c")))
	flush(t, l)
	for _, tc := range []struct {
		to   spec.Index
		want SnapshotMeta
	}{{1, SnapshotMeta{Index: 1, Term: 1, TermStart: 1}}, {2, SnapshotMeta{Index: 2, Term: 1, TermStart: 1}}, {3, SnapshotMeta{Index: 3, Term: 2, TermStart: 3}}} {
		if err := l.Compact(tc.to); err != nil {
			t.Fatal(err)
		}
		if got := l.Status().Snapshot; got != tc.want {
			t.Fatalf("compact to %d: %+v, want %+v", tc.to, got, tc.want)
		}
	}
}
