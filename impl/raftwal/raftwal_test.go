package raftwal

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/impl/wal"
	"github.com/raftcheck/raftcheck/spec"
)

func e(t spec.Term, v string) spec.Entry { return spec.Entry{Term: t, Value: spec.Value(v)} }

// open opens the storage in dir, to be closed when the test ends.
func open(t *testing.T, dir string, opts wal.Options) *Storage {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mustClose(t, s) })
	return s
}

func mustClose(t *testing.T, s *Storage) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func load(t *testing.T, s *Storage) raft.Persistent {
	t.Helper()
	p, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func samePersistent(t *testing.T, what string, got, want raft.Persistent) {
	t.Helper()
	if got.HardState != want.HardState || got.Snapshot != want.Snapshot || !slices.Equal(got.Log, want.Log) {
		t.Fatalf("%s: got %+v, want %+v", what, got, want)
	}
}

// updates are one of every kind of Update the core produces, the
// truncations of TruncateOnStaleAppend included.
var updates = []raft.Update{
	{HardState: &raft.HardState{Term: 1, VotedFor: 2}, LogFrom: 1, Entries: []spec.Entry{e(1, "a"), e(1, "b"), e(1, "c")}},
	{},
	{HardState: &raft.HardState{Term: 2}},
	{LogFrom: 4, Entries: []spec.Entry{e(2, "d")}},            // append
	{LogFrom: 3, Entries: []spec.Entry{e(2, "x"), e(2, "y")}}, // conflict: truncate and append
	{LogFrom: 3}, // a truncation alone
	{LogFrom: 3}, // just past the end: nothing to cut
	{HardState: &raft.HardState{Term: 3, VotedFor: 1}, LogFrom: 3, Entries: []spec.Entry{e(3, "z")}},
}

// Every update is durable and reads back as the core's MemoryStorage
// holds it, across reopens (a restarted process) and in a copy of the
// directory taken right after Save returned (a crash at that moment).
func TestSaveMatchesMemoryAcrossReopenAndCrash(t *testing.T) {
	dir := t.TempDir()
	s, mem := open(t, dir, wal.Options{}), raft.NewMemoryStorage()
	for k, u := range updates {
		if err := s.Save(u); err != nil {
			t.Fatalf("update %d: %v", k, err)
		}
		_ = mem.Save(u)
		want, _ := mem.Load()
		samePersistent(t, "after a save", load(t, s), want)
		crashed := open(t, copyDir(t, dir), wal.Options{})
		samePersistent(t, "after a crash", load(t, crashed), want)
		if k%2 == 1 {
			if err := s.Reopen(); err != nil {
				t.Fatal(err)
			}
			samePersistent(t, "after a reopen", load(t, s), want)
		}
	}
	if err := s.Save(raft.Update{LogFrom: 9}); err == nil {
		t.Fatal("an update leaving a gap was accepted")
	}
	if err := s.Save(raft.Update{LogFrom: 1}); err != nil { // the whole log
		t.Fatalf("deleting the whole log: %v", err)
	}
	if err := s.Reopen(); err != nil {
		t.Fatal(err)
	}
	if p := load(t, s); len(p.Log) != 0 || p.Term != 3 {
		t.Fatalf("after deleting the whole log: %+v", p)
	}
}

// A crash in the middle of a write leaves a torn record at the end of the
// segment: Open cuts it, says so through the Options' Logf, and recovers
// every acknowledged update.
func TestTornTailIsCutAndLogged(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, wal.Options{})
	for _, u := range updates[:4] {
		if err := s.Save(u); err != nil {
			t.Fatal(err)
		}
	}
	want := load(t, s)
	crashed := copyDir(t, dir)
	segs, _ := filepath.Glob(filepath.Join(crashed, "*.wal"))
	f, err := os.OpenFile(segs[len(segs)-1], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Write([]byte{40, 0, 0, 0, 1, 2, 3, 4, 5}) // a record header promising 40 bytes, and 5 of them
	if cerr := f.Close(); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}
	var mu sync.Mutex
	var logged []string
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		logged = append(logged, format)
	}
	samePersistent(t, "after a torn write", load(t, open(t, crashed, wal.Options{Logf: logf})), want)
	if !slices.ContainsFunc(logged, func(s string) bool { return strings.Contains(s, "torn tail") }) {
		t.Fatalf("recovery logged %q, want a torn tail", logged)
	}
}

// A snapshot with a compaction: Recover returns the snapshot and the log
// after it (not the entries the snapshot covers that Compact kept), the
// core starts from it, and TermAt answers for the log and the snapshot's
// last entry. A snapshot past the log discards the log (Figure 13) and
// the log goes on after it.
func TestSnapshotAndCompaction(t *testing.T) {
	s := open(t, t.TempDir(), wal.Options{})
	log := []spec.Entry{e(1, "1"), e(1, "2"), e(1, "3"), e(2, "4"), e(2, "5"), e(2, "6"), e(2, "7"), e(2, "8")}
	if err := s.Save(raft.Update{HardState: &raft.HardState{Term: 2, VotedFor: 1}, LogFrom: 1, Entries: log}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSnapshot(wal.Snapshot{Index: 5, Term: 2, Data: []byte("state at 5")}, 3); err != nil {
		t.Fatal(err)
	}
	if err := s.Reopen(); err != nil {
		t.Fatal(err)
	}
	p, snap, err := s.Recover()
	if err != nil {
		t.Fatal(err)
	}
	want := raft.Persistent{HardState: raft.HardState{Term: 2, VotedFor: 1}, Snapshot: raft.SnapshotMeta{Index: 5, Term: 2}, Log: log[5:]}
	samePersistent(t, "after a snapshot", p, want)
	if snap == nil || snap.Index != 5 || string(snap.Data) != "state at 5" {
		t.Fatalf("snapshot %+v", snap)
	}
	if _, err := raft.New(raft.Config{ID: 1, Servers: 3, Restore: p}); err != nil {
		t.Fatalf("the core refuses what the storage recovered: %v", err)
	}
	for i, term := range map[spec.Index]spec.Term{4: 2, 5: 2, 8: 2} {
		if got, err := s.TermAt(i); err != nil || got != term {
			t.Fatalf("TermAt(%d) = %d, %v; want %d", i, got, err, term)
		}
	}
	if _, err := s.TermAt(3); err == nil {
		t.Fatal("TermAt of a compacted entry succeeded")
	}
	// An installed snapshot beyond the log.
	if err := s.SaveSnapshot(wal.Snapshot{Index: 12, Term: 3, Data: []byte("state at 12")}, 12); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(raft.Update{HardState: &raft.HardState{Term: 3}, LogFrom: 13, Entries: []spec.Entry{e(3, "13")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Reopen(); err != nil {
		t.Fatal(err)
	}
	want = raft.Persistent{HardState: raft.HardState{Term: 3}, Snapshot: raft.SnapshotMeta{Index: 12, Term: 3}, Log: []spec.Entry{e(3, "13")}}
	samePersistent(t, "after installing a snapshot", load(t, s), want)
}

// A closed storage refuses every call with ErrClosed; closing again is
// allowed, and Reopen opens it again.
func TestClosed(t *testing.T) {
	s := open(t, t.TempDir(), wal.Options{})
	if err := s.Save(updates[0]); err != nil {
		t.Fatal(err)
	}
	mustClose(t, s)
	_, err := s.Load()
	if !errors.Is(err, ErrClosed) || !errors.Is(s.Save(updates[2]), ErrClosed) || !errors.Is(s.SaveSnapshot(wal.Snapshot{Index: 1, Term: 1}, 0), ErrClosed) {
		t.Fatalf("calls on a closed storage: %v", err)
	}
	if _, err := s.TermAt(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("TermAt on a closed storage: %v", err)
	}
	mustClose(t, s) // a second time
	if err := s.Reopen(); err != nil {
		t.Fatal(err)
	}
	if p := load(t, s); len(p.Log) != 3 || s.Dir() == "" {
		t.Fatalf("after reopening a closed storage: %+v", p)
	}
}

// copyDir copies the segment files of dir, as they are now, to a new
// directory: what a crash at this moment would leave on disk, for
// everything Save has acknowledged (fsynced).
func copyDir(t *testing.T, dir string) string {
	t.Helper()
	to := t.TempDir()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range es {
		b, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err == nil {
			err = os.WriteFile(filepath.Join(to, de.Name()), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// A restarted node recovers its configuration from the WAL: from the
// configuration entries of its log (joint and with learners), and from a
// snapshot's metadata once the entries are compacted away (the base
// record of the compacted segment carries it). A damaged configuration
// record is one clear error.
func TestConfigurationSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, wal.Options{})
	joint := spec.Entry{Term: 1, Config: 0b1100, Outgoing: 0b0011, Learners: 0b10000}
	leave := spec.Entry{Term: 1, Config: 0b1100, Learners: 0b10000}
	log := []spec.Entry{e(1, "a"), joint, e(1, "b"), leave, e(1, "c")}
	if err := s.Save(raft.Update{HardState: &raft.HardState{Term: 1, VotedFor: 1}, LogFrom: 1, Entries: log}); err != nil {
		t.Fatal(err)
	}
	initial := spec.Configuration{Voters: 0b0011}
	restart := func(what string, want spec.Configuration) raft.Persistent {
		t.Helper()
		if err := s.Reopen(); err != nil {
			t.Fatal(err)
		}
		p := load(t, s)
		r, err := raft.New(raft.Config{ID: 1, Servers: 5, Initial: initial, Restore: p})
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Configuration(); got != want {
			t.Fatalf("%s: recovered configuration %v, want %v", what, got, want)
		}
		return p
	}
	if p := restart("from the log", leave.Configuration()); !slices.Equal(p.Log, log) {
		t.Fatalf("log %v, want %v", p.Log, log)
	}
	if err := s.Save(raft.Update{LogFrom: 4}); err != nil { // the LeaveJoint entry cut
		t.Fatal(err)
	}
	restart("after a truncation", joint.Configuration())
	if err := s.SaveSnapshot(wal.Snapshot{Index: 3, Term: 1, Config: joint.Configuration(), Data: []byte("s")}, 3); err != nil {
		t.Fatal(err)
	}
	p := restart("from the snapshot", joint.Configuration())
	if p.Snapshot.Config != joint.Configuration() || len(p.Log) != 0 {
		t.Fatalf("recovered %+v", p)
	}

	// Damage the configuration entry of a fresh WAL, with a record after it.
	dir2 := t.TempDir()
	s2 := open(t, dir2, wal.Options{})
	if err := s2.Save(raft.Update{HardState: &raft.HardState{Term: 1}, LogFrom: 1, Entries: []spec.Entry{joint, e(1, "after")}}); err != nil {
		t.Fatal(err)
	}
	mustClose(t, s2)
	segs, _ := filepath.Glob(filepath.Join(dir2, "*"))
	var damaged bool
	for _, seg := range segs {
		b, err := os.ReadFile(seg)
		if err != nil || len(b) == 0 {
			continue
		}
		if k := strings.Index(string(b), "after"); k > 40 {
			b[k-30] ^= 0xff // inside the conf-entry record before it
			if err := os.WriteFile(seg, b, 0o600); err != nil {
				t.Fatal(err)
			}
			damaged = true
		}
	}
	if !damaged {
		t.Fatal("no segment holds the entries")
	}
	_, err := Open(dir2, wal.Options{})
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("a damaged configuration record: %v, want one error line naming the checksum", err)
	}
}
