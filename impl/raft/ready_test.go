package raft

import (
	"slices"
	"testing"

	"github.com/raftcheck/raftcheck/spec"
)

// Votes and acknowledgements leave only through a Ready, together with the
// hard state and entries they depend on.
func TestReadyCarriesStateWithMessages(t *testing.T) {
	r := newNode(t, 1, 3, Persistent{})
	if r.HasReady() {
		t.Fatal("a fresh node has output")
	}
	step(t, r, rv(2, 1, 1, 0, 0))
	if !r.HasReady() {
		t.Fatal("a vote is pending but HasReady is false")
	}
	rd := flush(t, r)
	if rd.HardState == nil || *rd.HardState != (HardState{Term: 1, VotedFor: 2}) {
		t.Fatalf("hard state %v, want term 1 voted S2", rd.HardState)
	}
	wantMsgs(t, rd.Messages, rvr(1, 2, 1, true))
	if r.HasReady() {
		t.Fatal("output left after Advance")
	}

	step(t, r, ae(2, 1, 1, 0, 0, 1, e(1, "a"), e(1, "b")))
	rd = flush(t, r)
	if rd.HardState != nil {
		t.Fatalf("unchanged hard state saved again: %v", rd.HardState)
	}
	if rd.LogFrom != 1 || !slices.Equal(rd.Entries, []spec.Entry{e(1, "a"), e(1, "b")}) {
		t.Fatalf("log update from %d: %v", rd.LogFrom, rd.Entries)
	}
	if rd.CommitFrom != 1 || !slices.Equal(rd.CommittedEntries, []spec.Entry{e(1, "a")}) {
		t.Fatalf("committed from %d: %v", rd.CommitFrom, rd.CommittedEntries)
	}
	wantMsgs(t, rd.Messages, aer(1, 2, 1, true, 2))

	// A conflict in a later term: truncation is LogFrom inside the log.
	step(t, r, ae(3, 1, 2, 1, 1, 2, e(2, "x")))
	rd = flush(t, r)
	if rd.LogFrom != 2 || !slices.Equal(rd.Entries, []spec.Entry{e(2, "x")}) || rd.HardState == nil {
		t.Fatalf("truncating update: %+v", rd.Update)
	}
	if rd.CommitFrom != 2 || !slices.Equal(rd.CommittedEntries, []spec.Entry{e(2, "x")}) {
		t.Fatalf("committed from %d: %v", rd.CommitFrom, rd.CommittedEntries)
	}
}

// Input between Ready and Advance goes into the next Ready, and only the
// last Ready can be advanced, once.
func TestReadyAdvanceInterleaving(t *testing.T) {
	st := NewMemoryStorage()
	r := newNode(t, 1, 3, Persistent{})
	step(t, r, ae(2, 1, 1, 0, 0, 0, e(1, "a"), e(1, "b")))
	rd1 := r.Ready()
	step(t, r, ae(3, 1, 2, 1, 1, 0, e(2, "c"))) // truncates index 2 before rd1 is advanced
	if err := st.Save(rd1.Update); err != nil {
		t.Fatal(err)
	}
	if err := r.Advance(rd1); err != nil {
		t.Fatal(err)
	}
	wantErr(t, r.Advance(rd1), ErrStaleReady)
	wantErr(t, r.Advance(Ready{}), ErrStaleReady)
	rd2 := r.Ready()
	if rd2.LogFrom != 2 || len(rd2.Messages) != 1 || rd2.HardState == nil {
		t.Fatalf("second Ready: %+v", rd2)
	}
	rd3 := r.Ready() // a newer Ready supersedes rd2
	wantErr(t, r.Advance(rd2), ErrStaleReady)
	if err := st.Save(rd3.Update); err != nil {
		t.Fatal(err)
	}
	if err := r.Advance(rd3); err != nil {
		t.Fatal(err)
	}
	p, _ := st.Load()
	if v := r.View(); !slices.Equal(p.Log, v.Log) || p.Term != v.Term || p.VotedFor != v.VotedFor {
		t.Fatalf("storage %+v, node %v", p, v)
	}
	if r.HasReady() {
		t.Fatal("output left")
	}
}

func TestMemoryStorage(t *testing.T) {
	st := NewMemoryStorage()
	for _, u := range []Update{
		{HardState: &HardState{Term: 2, VotedFor: 1}, LogFrom: 1, Entries: []spec.Entry{e(1, "a"), e(2, "b"), e(2, "c")}},
		{LogFrom: 2, Entries: []spec.Entry{e(2, "x")}},
		{LogFrom: 3}, // nothing to delete past the end, nothing to add
		{HardState: &HardState{Term: 3}},
	} {
		if err := st.Save(u); err != nil {
			t.Fatal(err)
		}
	}
	p, err := st.Load()
	if err != nil {
		t.Fatal(err)
	}
	want := persistent(3, 0, e(1, "a"), e(2, "x"))
	if p.HardState != want.HardState || !slices.Equal(p.Log, want.Log) {
		t.Fatalf("loaded %+v, want %+v", p, want)
	}
	p.Log[0] = e(9, "mutated")
	if q, _ := st.Load(); q.Log[0] != e(1, "a") {
		t.Fatal("Load shares the log with the storage")
	}
	if err := st.Save(Update{LogFrom: 9, Entries: []spec.Entry{e(3, "gap")}}); err == nil {
		t.Fatal("an update leaving a gap was accepted")
	}
}

func TestNewRefusesBadConfigAndState(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no servers":       {ID: 1},
		"too many servers": {ID: 1, Servers: spec.MaxServers + 1},
		"id out of range":  {ID: 4, Servers: 3},
		"id none":          {Servers: 3},
		"negative":         {ID: 1, Servers: 3, MaxInflight: -1},
		"heartbeat slow":   {ID: 1, Servers: 3, ElectionTick: 3, HeartbeatTick: 3},
		"vote":             {ID: 1, Servers: 3, Restore: persistent(1, 4)},
		"entry term zero":  {ID: 1, Servers: 3, Restore: persistent(1, 0, e(0, "a"))},
		"entry term high":  {ID: 1, Servers: 3, Restore: persistent(1, 0, e(2, "a"))},
		"terms decrease":   {ID: 1, Servers: 3, Restore: persistent(3, 0, e(2, "a"), e(1, "b"))},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
}

// Malformed messages are refused with ErrInvalidMessage and change nothing.
func TestStepRefusesInvalidMessages(t *testing.T) {
	r := leaderOf(t, 1, 3, persistent(1, 0, e(1, "a")))
	before := r.View()
	for _, m := range []spec.Message{
		{},
		{Type: 9, From: 2, To: 1, Term: 1},
		rv(2, 1, 0, 0, 0),
		rv(2, 3, 5, 0, 0),
		rv(5, 1, 5, 0, 0),
		{Type: spec.RequestVote, From: 2, To: 1, Term: 5, Success: true},
		ae(2, 1, 5, 0, 0, 0, e(6, "future")),
		ae(2, 1, 5, 0, 0, 0, e(0, "zero")),
		ae(2, 1, 5, 0, 0, 0, e(3, "a"), e(2, "decreasing")),
		ae(2, 1, 5, 1, 4, 0, e(3, "below prev")),
		ae(2, 1, 5, 1, 6, 0),
		ae(2, 1, 5, 0, 1, 0),
	} {
		wantErr(t, r.Step(m), ErrInvalidMessage)
	}
	wantView(t, r.View(), before)
	if r.HasReady() {
		t.Fatal("a refused message produced output")
	}
}

// An AppendEntries that would delete a committed entry is refused: it can
// only come from a cluster that has already broken safety.
func TestStepRefusesCommittedConflict(t *testing.T) {
	r := newNode(t, 1, 3, Persistent{})
	step(t, r, ae(2, 1, 1, 0, 0, 1, e(1, "a"), e(1, "b")))
	flush(t, r)
	before := r.View()
	wantErr(t, r.Step(ae(3, 1, 2, 0, 0, 0, e(2, "x"))), ErrCommittedConflict)
	wantView(t, r.View(), before)
	step(t, r, ae(3, 1, 2, 1, 1, 0, e(2, "x"))) // index 2 is not committed
	if v := r.View(); !slices.Equal(v.Log, []spec.Entry{e(1, "a"), e(2, "x")}) {
		t.Fatalf("log %v", v.Log)
	}
}
