package cluster

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/spec"
)

// The WAL adapter and the memory storage agree on every kind of update,
// and the WAL's state survives a reopen.
func TestWALStorageMatchesMemory(t *testing.T) {
	ws, err := openStorage(t.TempDir(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ms, _ := openStorage("", 1)
	for k, u := range []raft.Update{
		{HardState: &raft.HardState{Term: 1, VotedFor: 2}, LogFrom: 1, Entries: []spec.Entry{e(1, "a"), e(1, "b"), e(1, "c")}},
		{},
		{HardState: &raft.HardState{Term: 2}},
		{LogFrom: 3, Entries: []spec.Entry{e(2, "x"), e(2, "y")}},
		{LogFrom: 3}, // a truncation alone
		{LogFrom: 3}, // just past the end: nothing to delete
		{LogFrom: 3, Entries: []spec.Entry{e(2, "z")}},
	} {
		for _, st := range []storage{ws, ms} {
			if err := st.Save(u); err != nil {
				t.Fatalf("update %d: %v", k, err)
			}
		}
		if k%2 == 1 {
			if err := ws.Reopen(); err != nil {
				t.Fatal(err)
			}
		}
		wp, err := ws.Load()
		if err != nil {
			t.Fatal(err)
		}
		mp, _ := ms.Load()
		if wp.HardState != mp.HardState || !slices.Equal(wp.Log, mp.Log) {
			t.Fatalf("after update %d: WAL %+v, memory %+v", k, wp, mp)
		}
	}
	for _, st := range []storage{ws, ms} {
		if err := st.Save(raft.Update{LogFrom: 9}); err == nil {
			t.Fatalf("%T accepted an update leaving a gap", st)
		}
	}
	// Deleting the whole log (only Faults.TruncateOnStaleAppend does) is
	// durable too.
	for _, st := range []storage{ws, ms} {
		if err := st.Save(raft.Update{LogFrom: 1}); err != nil {
			t.Fatalf("%T: deleting the whole log: %v", st, err)
		}
	}
	wp, err := ws.Load()
	if err != nil {
		t.Fatal(err)
	}
	if mp, _ := ms.Load(); len(wp.Log) != 0 || len(mp.Log) != 0 {
		t.Fatalf("after deleting the whole log: WAL %v, memory %v", wp.Log, mp.Log)
	}
}

// Clusters on the WAL and in memory go through the same random run, with
// restarts, in lockstep.
func TestWALClusterMatchesMemory(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	committed, restarts := 0, 0
	for run := range 2 {
		disk := newCluster(t, 3, Options{Dir: t.TempDir()})
		mem := newCluster(t, 3, Options{})
		b := budget{terms: 5, drops: 2, dups: 2, partitions: 1, restarts: 6, values: 5}
		for range 100 {
			a, ok := randomAction(rng, mem, &b)
			if !ok {
				break
			}
			if a.Kind == spec.Restart {
				restarts++
			}
			errMem, errDisk := mem.Apply(a), disk.Apply(a)
			if (errMem == nil) != (errDisk == nil) || (errMem != nil && !errors.Is(errDisk, ErrNotEnabled)) {
				t.Fatalf("run %d, %v: memory %v, disk %v", run, a, errMem, errDisk)
			}
			sm, sd := mem.State(), disk.State()
			if !statesEqual(&sm, &sd) {
				t.Fatalf("run %d, after %v:\nmemory\n%vdisk\n%v", run, a, sm.String(), sd.String())
			}
		}
		committed += len(mem.State().History.Committed)
	}
	if committed == 0 || restarts == 0 {
		t.Fatalf("the runs committed %d entries and restarted %d times; both must happen", committed, restarts)
	}
}

// Both storages keep a snapshot with its data, apply the same log rule to
// it (keep the entries after a matching last entry, discard a conflicting
// log) and refuse data that does not fit it; the WAL's survives a reopen.
func TestStorageSnapshots(t *testing.T) {
	ws, err := openStorage(t.TempDir(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ms, _ := openStorage("", 1)
	log := []spec.Entry{e(1, "a"), e(1, "b"), e(2, "c")}
	for _, st := range []storage{ws, ms} {
		if err := st.Save(raft.Update{HardState: &raft.HardState{Term: 2}, LogFrom: 1, Entries: log}); err != nil {
			t.Fatal(err)
		}
		if err := st.SaveSnapshot(raft.SnapshotMeta{Index: 2, Term: 2}, log[:2]); err == nil {
			t.Fatalf("%T: data of another term accepted", st)
		}
		if err := st.SaveSnapshot(raft.SnapshotMeta{Index: 3, Term: 2}, log[:2]); err == nil {
			t.Fatalf("%T: data of another length accepted", st)
		}
		if err := st.SaveSnapshot(raft.SnapshotMeta{Index: 2, Term: 1}, log[:2]); err != nil {
			t.Fatal(err)
		}
	}
	if err := ws.Reopen(); err != nil {
		t.Fatal(err)
	}
	check := func(what string, snap raft.SnapshotMeta, data, after []spec.Entry) {
		t.Helper()
		for _, st := range []storage{ws, ms} {
			p, err := st.Load()
			if err != nil {
				t.Fatal(err)
			}
			got, err := st.SnapshotData()
			if err != nil {
				t.Fatal(err)
			}
			if p.Snapshot != snap || !slices.Equal(got, data) || !slices.Equal(p.Log, after) {
				t.Fatalf("%s: %T holds snapshot %v data %v log %v", what, st, p.Snapshot, got, p.Log)
			}
		}
	}
	check("compacted", raft.SnapshotMeta{Index: 2, Term: 1}, log[:2], log[2:])
	other := []spec.Entry{e(1, "a"), e(1, "b"), e(3, "x")} // conflicts at 3
	for _, st := range []storage{ws, ms} {
		if err := st.SaveSnapshot(raft.SnapshotMeta{Index: 3, Term: 3}, other); err != nil {
			t.Fatal(err)
		}
	}
	if err := ws.Reopen(); err != nil {
		t.Fatal(err)
	}
	check("conflicting snapshot", raft.SnapshotMeta{Index: 3, Term: 3}, other, nil)
}
