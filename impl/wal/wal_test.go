package wal

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raftcheck/raftcheck/spec"
)

func open(t *testing.T, dir string, opts Options) (*WAL, State) {
	t.Helper()
	w, st, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return w, st
}

func mustClose(t *testing.T, w *WAL) {
	t.Helper()
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// reopen closes w and returns the state a fresh Open recovers.
func reopen(t *testing.T, w *WAL, dir string, opts Options) (*WAL, State) {
	t.Helper()
	mustClose(t, w)
	return open(t, dir, opts)
}

func entries(term spec.Term, values ...string) []spec.Entry {
	es := make([]spec.Entry, len(values))
	for k, v := range values {
		es[k] = spec.Entry{Term: term, Value: spec.Value(v)}
	}
	return es
}

// sameState fails unless got and want describe the same state (nil and
// empty slices count as equal).
func sameState(t *testing.T, what string, got, want State) {
	t.Helper()
	norm := func(s State) State {
		if len(s.Entries) == 0 {
			s.Entries = nil
		}
		if s.Snapshot != nil && len(s.Snapshot.Data) == 0 {
			c := *s.Snapshot
			c.Data = nil
			s.Snapshot = &c
		}
		return s
	}
	if g, w := norm(got), norm(want); !reflect.DeepEqual(g, w) {
		t.Fatalf("%s: state\n got %s\nwant %s", what, fmtState(g), fmtState(w))
	}
}

func fmtState(s State) string {
	snap := "none"
	if s.Snapshot != nil {
		snap = fmt.Sprintf("%d/%d %q", s.Snapshot.Index, s.Snapshot.Term, s.Snapshot.Data)
	}
	return fmt.Sprintf("hs=%+v snap=%s first=%d entries=%v", s.HardState, snap, s.FirstIndex, s.Entries)
}

func TestFreshLogIsEmpty(t *testing.T) {
	dir := t.TempDir()
	w, st := open(t, dir, Options{})
	defer mustClose(t, w)
	sameState(t, "fresh", st, State{FirstIndex: 1})
	if st.LastIndex() != 0 {
		t.Fatalf("LastIndex of empty log = %d, want 0", st.LastIndex())
	}
	if names := segFiles(t, dir); !slices.Equal(names, []string{"0000000000000001.wal"}) {
		t.Fatalf("files %v", names)
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	w, _ := open(t, dir, Options{})
	if err := w.Save(&HardState{Term: 2, VotedFor: 3}, 1, entries(1, "a", "b")); err != nil {
		t.Fatal(err)
	}
	if first, err := w.Append(2, "c", "", "d"); err != nil || first != 3 {
		t.Fatalf("Append = %d, %v; want 3, nil", first, err)
	}
	if err := w.Save(&HardState{Term: 3}, 0, nil); err != nil {
		t.Fatal(err)
	}
	want := State{HardState: HardState{Term: 3}, FirstIndex: 1, Entries: append(entries(1, "a", "b"), entries(2, "c", "", "d")...)}
	sameState(t, "in memory", w.State(), want)
	w, st := reopen(t, w, dir, Options{})
	defer mustClose(t, w)
	sameState(t, "recovered", st, want)
	if w.Info().TornTail != nil || len(w.Info().Removed) != 0 {
		t.Fatalf("clean reopen reported repairs: %+v", w.Info())
	}
}

func TestSaveReplacesConflictingSuffix(t *testing.T) {
	dir := t.TempDir()
	w, _ := open(t, dir, Options{})
	if err := w.Save(&HardState{Term: 1}, 1, entries(1, "a", "b", "c", "d")); err != nil {
		t.Fatal(err)
	}
	// A follower learns from a term-2 leader that entries 3.. conflict.
	if err := w.Save(&HardState{Term: 2}, 3, entries(2, "x")); err != nil {
		t.Fatal(err)
	}
	want := State{HardState: HardState{Term: 2}, FirstIndex: 1, Entries: append(entries(1, "a", "b"), entries(2, "x")...)}
	w, st := reopen(t, w, dir, Options{})
	sameState(t, "after overwrite", st, want)
	// Appending after the replaced suffix continues from index 4.
	if first, err := w.Append(2, "y"); err != nil || first != 4 {
		t.Fatalf("Append = %d, %v; want 4, nil", first, err)
	}
	w, st = reopen(t, w, dir, Options{})
	defer mustClose(t, w)
	want.Entries = append(want.Entries, entries(2, "y")...)
	sameState(t, "after append", st, want)
}

func TestSaveRefusesInvalidChanges(t *testing.T) {
	dir := t.TempDir()
	w, _ := open(t, dir, Options{})
	defer mustClose(t, w)
	if err := w.Save(&HardState{Term: 3, VotedFor: 2}, 1, entries(2, "a", "b", "c")); err != nil {
		t.Fatal(err)
	}
	if err := w.SaveSnapshot(Snapshot{Index: 2, Term: 2, Data: []byte("kv")}); err != nil {
		t.Fatal(err)
	}
	before := w.State()
	for _, c := range []struct {
		name string
		call func() error
		want string
	}{
		{"term decreases", func() error { return w.Save(&HardState{Term: 2}, 0, nil) }, "term 2 below current term 3"},
		{"vote changes", func() error { return w.Save(&HardState{Term: 3, VotedFor: 1}, 0, nil) }, "already cast for S2"},
		{"gap", func() error { return w.Save(nil, 5, entries(2, "x")) }, "leaves a gap"},
		{"index 0", func() error { return w.Save(nil, 0, entries(2, "x")) }, "leaves a gap"},
		{"term goes down", func() error { return w.Save(nil, 4, entries(1, "x")) }, "term 1 after term 2"},
		{"term 0", func() error { _, err := w.Append(0, "x"); return err }, "term 0"},
		{"overwrite snapshot", func() error { return w.Save(nil, 2, entries(3, "x")) }, "covered by the snapshot"},
		{"old snapshot", func() error { return w.SaveSnapshot(Snapshot{Index: 2, Term: 2}) }, "not above current snapshot index 2"},
		{"top index snapshot", func() error { return w.SaveSnapshot(Snapshot{Index: math.MaxUint64, Term: 2}) }, "index below 2^64-1"},
		{"compact beyond snapshot", func() error { return w.Compact(3) }, "not covered by the snapshot"},
	} {
		err := c.call()
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err = %v, want one line containing %q", c.name, err, c.want)
		}
		sameState(t, c.name, w.State(), before)
	}
	// Refusals are not write failures: the WAL still works.
	if _, err := w.Append(3, "d"); err != nil {
		t.Fatalf("Append after refusals: %v", err)
	}
}

func TestSnapshotKeepsMatchingLogAndDiscardsConflictingLog(t *testing.T) {
	dir := t.TempDir()
	w, _ := open(t, dir, Options{})
	if err := w.Save(&HardState{Term: 2}, 1, entries(1, "a", "b", "c")); err != nil {
		t.Fatal(err)
	}
	// The log holds entry 2 with term 1: keep the log.
	if err := w.SaveSnapshot(Snapshot{Index: 2, Term: 1, Data: []byte("s2")}); err != nil {
		t.Fatal(err)
	}
	want := State{HardState: HardState{Term: 2}, Snapshot: &Snapshot{Index: 2, Term: 1, Data: []byte("s2")}, FirstIndex: 1, Entries: entries(1, "a", "b", "c")}
	w, st := reopen(t, w, dir, Options{})
	sameState(t, "matching snapshot", st, want)
	// A snapshot past the log (InstallSnapshot from a leader): discard it.
	if err := w.SaveSnapshot(Snapshot{Index: 7, Term: 2, Data: []byte("s7")}); err != nil {
		t.Fatal(err)
	}
	want = State{HardState: HardState{Term: 2}, Snapshot: &Snapshot{Index: 7, Term: 2, Data: []byte("s7")}, FirstIndex: 8}
	w, st = reopen(t, w, dir, Options{})
	defer mustClose(t, w)
	sameState(t, "snapshot past the log", st, want)
	if first, err := w.Append(2, "h"); err != nil || first != 8 {
		t.Fatalf("Append after snapshot = %d, %v; want 8, nil", first, err)
	}
}

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestSegmentRollingAndCompaction(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentSize: 300}
	w, _ := open(t, dir, opts)
	if err := w.Save(&HardState{Term: 1, VotedFor: 1}, 0, nil); err != nil {
		t.Fatal(err)
	}
	var all []spec.Entry
	for i := range 40 {
		v := fmt.Sprintf("value-%02d", i)
		if _, err := w.Append(1, spec.Value(v)); err != nil {
			t.Fatal(err)
		}
		all = append(all, entries(1, v)...)
	}
	if n := len(segFiles(t, dir)); n < 5 || w.Stats().Segments != n {
		t.Fatalf("%d segment files (Stats says %d), want at least 5 with a 300-byte limit", n, w.Stats().Segments)
	}
	for _, name := range segFiles(t, dir) {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() > 300 {
			t.Fatalf("segment %s: %v, size over the limit", name, err)
		}
	}
	want := State{HardState: HardState{Term: 1, VotedFor: 1}, FirstIndex: 1, Entries: all}
	w, st := reopen(t, w, dir, opts)
	sameState(t, "rolled", st, want)

	before := segFiles(t, dir)
	snap := Snapshot{Index: 30, Term: 1, Data: []byte("state machine at 30")}
	if err := w.SaveSnapshot(snap); err != nil {
		t.Fatal(err)
	}
	if err := w.Compact(30); err != nil {
		t.Fatal(err)
	}
	after := segFiles(t, dir)
	if len(after) != 1 || after[0] <= before[len(before)-1] {
		t.Fatalf("after compaction files %v, want one segment newer than %v", after, before)
	}
	want = State{HardState: HardState{Term: 1, VotedFor: 1}, Snapshot: &snap, FirstIndex: 31, Entries: all[30:]}
	sameState(t, "compacted in memory", w.State(), want)
	w, st = reopen(t, w, dir, opts)
	sameState(t, "compacted", st, want)

	// An interrupted compaction left the superseded segments behind: Open
	// starts from the base segment and deletes them.
	stale := filepath.Join(dir, segName(1))
	if err := os.WriteFile(stale, []byte("superseded garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, segName(99)+tmpSuffix), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	mustClose(t, w)
	w, st = open(t, dir, opts)
	defer mustClose(t, w)
	sameState(t, "after interrupted compaction", st, want)
	if removed := w.Info().Removed; len(removed) != 2 {
		t.Fatalf("Removed = %v, want the stale segment and the temporary file", removed)
	}
	if got := segFiles(t, dir); !slices.Equal(got, after) {
		t.Fatalf("files %v, want %v", got, after)
	}
}

// writeSample writes a small log into its only segment and returns the
// state before its last record (an entry), the offset at which that record
// starts, and the segment's bytes.
func writeSample(t *testing.T, dir string) (State, int64, []byte) {
	t.Helper()
	w, _ := open(t, dir, Options{})
	if err := w.Save(&HardState{Term: 2, VotedFor: 1}, 1, entries(1, "alpha", "beta")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append(2, "gamma"); err != nil {
		t.Fatal(err)
	}
	st := w.State()
	size := w.Stats().Bytes
	if _, err := w.Append(2, "the last record"); err != nil {
		t.Fatal(err)
	}
	mustClose(t, w)
	// Bytes counts appended records only; the segment head precedes them.
	full, err := os.ReadFile(filepath.Join(dir, segName(1)))
	if err != nil {
		t.Fatal(err)
	}
	lastOff := int64(len(full) - (frameLen + 1 + payloadEntryMin + len("the last record")))
	if lastOff < int64(size) {
		t.Fatalf("unexpected layout: file %d bytes, %d appended before the last record", len(full), size)
	}
	return st, lastOff, full
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	for _, name := range segFiles(t, src) {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func TestTornTailAtEveryOffset(t *testing.T) {
	src := t.TempDir()
	want, lastOff, full := writeSample(t, src)
	check := func(name string, data []byte) {
		t.Helper()
		dir := copyDir(t, src)
		path := filepath.Join(dir, segName(1))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		var logged []string
		opts := Options{Logf: func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }}
		w, st, err := Open(dir, opts)
		if err != nil {
			t.Fatalf("%s: Open: %v", name, err)
		}
		sameState(t, name, st, want)
		tt := w.Info().TornTail
		if tt == nil || tt.Offset != lastOff || tt.Dropped != int64(len(data))-lastOff || len(logged) != 1 {
			t.Fatalf("%s: TornTail = %+v, logged %q; want offset %d", name, tt, logged, lastOff)
		}
		if fi, err := os.Stat(path); err != nil || fi.Size() != lastOff {
			t.Fatalf("%s: segment not truncated to %d: %v", name, lastOff, err)
		}
		// New records go right after the intact prefix.
		if first, err := w.Append(2, "again"); err != nil || first != want.LastIndex()+1 {
			t.Fatalf("%s: Append = %d, %v", name, first, err)
		}
		w, st = reopen(t, w, dir, Options{})
		defer mustClose(t, w)
		if e, ok := st.Entry(want.LastIndex() + 1); !ok || e.Value != "again" || w.Info().TornTail != nil {
			t.Fatalf("%s: after repair and append: %s, info %+v", name, fmtState(st), w.Info())
		}
	}
	for cut := lastOff + 1; cut < int64(len(full)); cut++ {
		check(fmt.Sprintf("cut at %d", cut), full[:cut])
	}
	// A complete last record whose bytes are damaged, or zeroed as a
	// file system may leave unwritten blocks, is torn too: nothing intact
	// follows it.
	for off := lastOff; off < int64(len(full)); off += 7 {
		damaged := bytes.Clone(full)
		damaged[off] ^= 0x40
		check(fmt.Sprintf("flip at %d", off), damaged)
	}
	zeroed := bytes.Clone(full)
	clear(zeroed[lastOff+3:])
	check("zeroed tail", zeroed)
	check("zeros appended", append(full[:lastOff:lastOff], make([]byte, 4096)...))
}

func TestTornFirstRecordOfRolledSegment(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentSize: 150}
	w, _ := open(t, dir, opts)
	// Append until an append rolls to segment 2: it is that segment's
	// first record after the header.
	var want State
	for w.Stats().Segments < 2 {
		want = w.State()
		if _, err := w.Append(1, "0123456789"); err != nil {
			t.Fatal(err)
		}
	}
	mustClose(t, w)
	names := segFiles(t, dir)
	path := filepath.Join(dir, names[len(names)-1])
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	head := frameLen + 1 + payloadHeader
	if len(b) != head+frameLen+1+payloadEntryMin+10 {
		t.Fatalf("%s holds %d bytes, want a header and one entry", names[len(names)-1], len(b))
	}
	if err := os.WriteFile(path, b[:len(b)-5], 0o644); err != nil {
		t.Fatal(err)
	}
	w, st := open(t, dir, opts)
	defer mustClose(t, w)
	sameState(t, "torn first record", st, want)
	if tt := w.Info().TornTail; tt == nil || tt.Offset != int64(head) {
		t.Fatalf("TornTail = %+v, want offset %d", tt, head)
	}
}

func TestCorruptionInTheMiddleIsRefused(t *testing.T) {
	src := t.TempDir()
	_, _, full := writeSample(t, src)
	// The "beta" entry record: its value byte sits just before "gamma"'s record.
	off := int64(bytes.Index(full, []byte("beta"))) - (frameLen + 1 + payloadEntryMin)
	damaged := bytes.Clone(full)
	damaged[off+frameLen+5] ^= 0x01
	dir := copyDir(t, src)
	path := filepath.Join(dir, segName(1))
	if err := os.WriteFile(path, damaged, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := Open(dir, Options{})
	want := fmt.Sprintf("wal: segment 0000000000000001.wal offset %d: checksum mismatch, followed by an intact record at offset %d (corrupted log, refusing to open)",
		off, off+int64(frameLen+1+payloadEntryMin+len("beta")))
	if err == nil || err.Error() != want || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open = %v\nwant %s", err, want)
	}
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Offset != off || ce.Segment != segName(1) {
		t.Fatalf("error %#v does not locate the damage", err)
	}
	// Refusing leaves the evidence untouched.
	if b, _ := os.ReadFile(path); !bytes.Equal(b, damaged) {
		t.Fatal("Open modified the corrupted segment")
	}

	// A damaged length field that claims more than the file holds looks
	// like a torn record, but intact records follow: refused as well.
	damaged = bytes.Clone(full)
	damaged[off+2] = 0x7f
	if err := os.WriteFile(path, damaged, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Open(dir, Options{}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), fmt.Sprintf("offset %d:", off)) {
		t.Fatalf("damaged length: Open = %v", err)
	}
}

func TestDamageOutsideTheLastSegmentIsRefused(t *testing.T) {
	src := t.TempDir()
	opts := Options{SegmentSize: 200}
	w, _ := open(t, src, opts)
	for i := range 20 {
		if _, err := w.Append(1, spec.Value(fmt.Sprintf("v%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	mustClose(t, w)
	names := segFiles(t, src)
	if len(names) < 3 {
		t.Fatalf("want at least 3 segments, have %v", names)
	}
	mid := names[1]
	for _, c := range []struct {
		name   string
		damage func(path string) error
		want   string
	}{
		{"torn tail of a middle segment", func(p string) error {
			b, _ := os.ReadFile(p)
			return os.WriteFile(p, b[:len(b)-3], 0o644)
		}, "incomplete record"},
		{"flipped byte in the last record of a middle segment", func(p string) error {
			b, _ := os.ReadFile(p)
			b[len(b)-1] ^= 1
			return os.WriteFile(p, b, 0o644)
		}, "checksum mismatch"},
		{"missing middle segment", os.Remove, "segment " + mid + " missing"},
		{"bad header", func(p string) error {
			b, _ := os.ReadFile(p)
			return os.WriteFile(p, append(appendHeader(nil, 77), b[frameLen+1+payloadHeader:]...), 0o644)
		}, "bad segment header"},
	} {
		dir := copyDir(t, src)
		if err := c.damage(filepath.Join(dir, mid)); err != nil {
			t.Fatal(err)
		}
		_, _, err := Open(dir, opts)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: Open = %v, want a one-line corruption error mentioning %q", c.name, err, c.want)
		}
	}
	// Garbage under a segment name is refused, not trusted.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, segName(1)), []byte("this is not a log at all, not even close"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Open(dir, Options{}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("garbage segment: Open = %v", err)
	}
}

func TestGroupCommit(t *testing.T) {
	dir := t.TempDir()
	const writers, perWriter = 8, 20
	// Hold the first fsync until the other writers have queued their first
	// append (or a generous deadline passes: some may already be in the
	// batch being synced), so the test does not depend on scheduling luck.
	var w *WAL
	var once sync.Once
	opts := Options{beforeSync: func() {
		once.Do(func() {
			for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				w.mu.Lock()
				n := len(w.queue)
				w.mu.Unlock()
				if n >= writers-1 {
					return
				}
			}
		})
	}}
	w, _ = open(t, dir, opts)
	got := make([]map[spec.Index]spec.Value, writers)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for g := range writers {
		got[g] = map[spec.Index]spec.Value{}
		wg.Go(func() {
			for i := range perWriter {
				v := spec.Value(fmt.Sprintf("g%d-%d", g, i))
				idx, err := w.Append(1, v)
				if err != nil {
					errs <- err
					return
				}
				got[g][idx] = v
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	stats := w.Stats()
	if stats.Commits != writers*perWriter || stats.Syncs >= writers*perWriter/2 {
		t.Fatalf("Stats = %+v: want %d commits sharing far fewer fsyncs", stats, writers*perWriter)
	}
	t.Logf("%d appends, %d fsyncs", stats.Commits, stats.Syncs)
	w, st := reopen(t, w, dir, Options{})
	defer mustClose(t, w)
	if st.LastIndex() != writers*perWriter {
		t.Fatalf("recovered %d entries, want %d", st.LastIndex(), writers*perWriter)
	}
	for _, m := range got {
		for idx, v := range m {
			if e, ok := st.Entry(idx); !ok || e.Value != v {
				t.Fatalf("index %d: recovered %v, acknowledged %q", idx, e, v)
			}
		}
	}
}

func TestClosedWALRefusesChanges(t *testing.T) {
	w, _ := open(t, t.TempDir(), Options{})
	mustClose(t, w)
	if _, err := w.Append(1, "x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close = %v", err)
	}
	if err := w.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close = %v", err)
	}
}

func TestWriteFailureIsSticky(t *testing.T) {
	dir := t.TempDir()
	w, _ := open(t, dir, Options{})
	// Pull the file out from under the writer: the next write fails.
	w.f.Close()
	if _, err := w.Append(1, "x"); err == nil || !strings.Contains(err.Error(), "refuses further changes") {
		t.Fatalf("Append on a broken file = %v", err)
	}
	if err := w.Save(&HardState{Term: 1}, 0, nil); err == nil {
		t.Fatal("Save after a write failure succeeded")
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close did not report the write failure")
	}
	// Nothing was acknowledged, and the log still opens.
	w, st := open(t, dir, Options{})
	defer mustClose(t, w)
	sameState(t, "after failure", st, State{FirstIndex: 1})
}

// Save with no entries and a first index inside the log deletes the
// suffix from there, durably; deleting the whole log is allowed.
func TestSaveTruncatesWithoutEntries(t *testing.T) {
	dir := t.TempDir()
	w, _, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ents := []spec.Entry{{Term: 1, Value: "a"}, {Term: 1, Value: "b"}, {Term: 2, Value: "c"}}
	if err := w.Save(&HardState{Term: 2}, 1, ents); err != nil {
		t.Fatal(err)
	}
	if err := w.Save(nil, 3, nil); err != nil {
		t.Fatal(err)
	}
	if st := w.State(); st.LastIndex() != 2 {
		got := st.LastIndex()
		t.Fatalf("last index %d after cutting at 3", got)
	}
	if err := w.Save(nil, 1, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Save(nil, 5, nil); err == nil {
		t.Fatal("a cut past the end was accepted")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w, st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if len(st.Entries) != 0 || st.HardState.Term != 2 {
		t.Fatalf("recovered %+v", st)
	}
}
