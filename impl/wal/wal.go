// Package wal is the durable write-ahead log of the Raft implementation: it
// holds a server's hard state (term, votedFor), its log entries and its
// latest state-machine snapshot, in segment files of CRC-framed records.
//
// Durability guarantee: when Save, Append, SaveSnapshot or Compact returns
// nil, its change, and every change submitted before it by any goroutine,
// is on stable storage (written and fsynced; new segment files also have
// their directory entry synced), and Open after a crash at any later point
// recovers it. Concurrent calls are group-committed: one fsync covers every
// change queued while the previous fsync was in progress.
//
// After a failed write or fsync the WAL refuses all further changes (the
// in-memory view can no longer be trusted to match the disk, and a failed
// fsync may have dropped dirty pages): close it and Open it again.
//
// The file format and recovery rules are in README.md.
package wal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/raftcheck/raftcheck/spec"
)

// DefaultSegmentSize is the size at which a segment is rolled when
// Options.SegmentSize is zero.
const DefaultSegmentSize = 64 << 20

// Options configures a WAL. The zero value is usable.
type Options struct {
	// SegmentSize is the size in bytes after which writes go to a new
	// segment file. A single change larger than this still goes into one
	// segment. Zero means DefaultSegmentSize.
	SegmentSize int64
	// Logf receives one line per notable recovery action (a torn tail
	// truncated, a leftover file removed). Nil discards them; OpenInfo
	// reports them either way.
	Logf func(format string, args ...any)

	// beforeSync, if set, runs before each commit fsync (tests use it to
	// widen the group-commit window deterministically).
	beforeSync func()
}

// OpenInfo says what Open found and repaired.
type OpenInfo struct {
	Segments int // segment files in use after recovery
	// TornTail is set when the last segment ended in an incomplete or
	// damaged record with nothing intact after it (a write cut short by a
	// crash, never acknowledged); it was truncated away.
	TornTail *TornTail
	// Removed lists files deleted: temporary files of interrupted segment
	// creations and segments superseded by a completed compaction.
	Removed []string
}

// TornTail describes a truncated torn tail.
type TornTail struct {
	Segment string // file name
	Offset  int64  // the segment now ends here
	Dropped int64  // bytes removed
	Reason  string // what was wrong with the record at Offset
}

// Stats are counters of a WAL since Open.
type Stats struct {
	Commits  uint64 // changes acknowledged (calls of Save, Append, SaveSnapshot, Compact)
	Syncs    uint64 // fsyncs of segment files
	DirSyncs uint64 // fsyncs of the directory
	Bytes    uint64 // record bytes written
	Segments int    // segment files on disk
}

// ErrClosed is returned by calls on a closed WAL.
var ErrClosed = errors.New("wal: closed")

// WAL is an open write-ahead log. Its methods are safe for concurrent use.
type WAL struct {
	dir  string
	opts Options
	info OpenInfo

	mu      sync.Mutex
	cond    *sync.Cond // signals the writer: queue non-empty or closing
	st      State      // state after every queued change (ahead of disk until acknowledged)
	queue   []*request
	closing bool
	err     error // sticky write error

	done chan struct{} // closed when the writer exits

	// Owned by the writer goroutine (and by Open before it starts).
	f     *os.File
	seqs  []uint64 // segments on disk, ascending; the last is f
	size  int64    // bytes in f
	head  int64    // bytes of f's header and base records: a segment is rolled only with more
	wbuf  []byte
	dirty bool

	commits, syncs, dirSyncs, bytes atomic.Uint64
	segments                        atomic.Int64
}

// request is one queued change: records to append, or (base != nil) a
// compaction that rolls to a new segment starting with the full state.
type request struct {
	recs []byte
	base []byte
	done chan error
}

// Open opens the WAL in dir, creating dir and an empty log if needed, and
// recovers its state by replaying the segments from the newest base
// segment on. A torn tail of the last segment is truncated and reported in
// Info; any other damage makes Open fail with a *CorruptError.
func Open(dir string, opts Options) (*WAL, State, error) {
	if opts.SegmentSize <= 0 {
		opts.SegmentSize = DefaultSegmentSize
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, State{}, fmt.Errorf("wal: %w", err)
		}
		// The new directory's own entry must be durable too.
		if err := syncDir(filepath.Dir(filepath.Clean(dir))); err != nil {
			return nil, State{}, err
		}
	}
	w := &WAL{dir: dir, opts: opts, done: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	if err := w.recover(); err != nil {
		if w.f != nil {
			w.f.Close()
		}
		return nil, State{}, err
	}
	w.segments.Store(int64(len(w.seqs)))
	w.info.Segments = len(w.seqs)
	st := w.st.clone()
	go w.writer()
	return w, st, nil
}

// recover replays the segments into w.st and opens the last one for
// appending.
func (w *WAL) recover() error {
	seqs, removed, err := listDir(w.dir, w.opts.Logf)
	if err != nil {
		return err
	}
	w.info.Removed = removed
	if len(seqs) == 0 {
		st := State{FirstIndex: 1}
		f, size, err := createSegment(w.dir, 1, appendBase(nil, &st))
		if err != nil {
			return err
		}
		w.f, w.size, w.head, w.seqs, w.st = f, size, size, []uint64{1}, st
		return nil
	}
	// Start at the newest base segment; older ones are what an interrupted
	// compaction did not get to delete.
	start := -1
	for k := len(seqs) - 1; k >= 0 && start < 0; k-- {
		isBase, err := segmentHead(filepath.Join(w.dir, segName(seqs[k])))
		if err != nil {
			return err
		}
		if isBase {
			start = k
		}
	}
	if start < 0 {
		return &CorruptError{Segment: segName(seqs[0]), Reason: "no segment begins with a base record (older segments missing)"}
	}
	for _, seq := range seqs[:start] {
		if err := os.Remove(filepath.Join(w.dir, segName(seq))); err != nil {
			return fmt.Errorf("wal: remove superseded segment: %w", err)
		}
		w.opts.Logf("wal: removed %s superseded by compacted segment %s", segName(seq), segName(seqs[start]))
		w.info.Removed = append(w.info.Removed, segName(seq))
	}
	if start > 0 {
		if err := syncDir(w.dir); err != nil {
			return err
		}
	}
	w.seqs = seqs[start:]
	for k, seq := range w.seqs {
		if k > 0 && seq != w.seqs[k-1]+1 {
			return &CorruptError{Segment: segName(seq), Reason: fmt.Sprintf("segment %s missing", segName(w.seqs[k-1]+1))}
		}
		if err := w.replaySegment(seq, k == 0, k == len(w.seqs)-1); err != nil {
			return err
		}
	}
	return nil
}

// replaySegment applies the records of one segment to w.st. The last
// segment may end in a torn record, which is truncated away; the last
// segment is left open for appending.
func (w *WAL) replaySegment(seq uint64, first, last bool) error {
	name := segName(seq)
	path := filepath.Join(w.dir, name)
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	corrupt := func(off int, format string, args ...any) error {
		return &CorruptError{Segment: name, Offset: int64(off), Reason: fmt.Sprintf(format, args...)}
	}
	off := 0
	for k := 0; off < len(b); k++ {
		r, n, err := decodeRecord(b[off:])
		if err != nil {
			if !last || k == 0 || (k == 1 && first) {
				// Only the last segment can be torn, and never in the
				// head that createSegment wrote before the rename: the
				// header, and the base record of the first (base)
				// segment. Later segments are rolled ones, whose record
				// 1 is an ordinary append.
				return corrupt(off, "%v", err)
			}
			if next := findRecord(b, off+1); next >= 0 {
				return corrupt(off, "%v, followed by an intact record at offset %d", err, next)
			}
			if err := w.truncateTail(path, int64(off), int64(len(b)-off), err.Error()); err != nil {
				return err
			}
			break
		}
		switch {
		case k == 0 && (r.typ != recHeader || r.version != formatVersion || r.seq != seq):
			return corrupt(off, "bad segment header (type %v, version %d, seq %d)", r.typ, r.version, r.seq)
		case k == 0:
		case k == 1 && first && !r.typ.isBase():
			return corrupt(off, "first segment lacks a base record")
		case r.typ == recHeader || (r.typ.isBase() && k != 1):
			return corrupt(off, "unexpected %v record", r.typ)
		default:
			if err := w.st.replay(&r); err != nil {
				return corrupt(off, "invalid %v record: %v", r.typ, err)
			}
		}
		off += n
	}
	if last {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return fmt.Errorf("wal: open %s for appending: %w", name, err)
		}
		w.f, w.size = f, int64(off)
	}
	return nil
}

// truncateTail cuts a torn tail off the last segment and syncs the cut, so
// that new records never follow garbage.
func (w *WAL) truncateTail(path string, off, dropped int64, reason string) error {
	name := filepath.Base(path)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("wal: truncate torn tail of %s: %w", name, err)
	}
	defer f.Close()
	if err := f.Truncate(off); err != nil {
		return fmt.Errorf("wal: truncate torn tail of %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("wal: truncate torn tail of %s: %w", name, err)
	}
	w.info.TornTail = &TornTail{Segment: name, Offset: off, Dropped: dropped, Reason: reason}
	w.opts.Logf("wal: segment %s offset %d: torn tail (%s), truncated %d bytes", name, off, reason, dropped)
	return nil
}

// Info reports what Open found and repaired.
func (w *WAL) Info() OpenInfo { return w.info }

// Stats returns the WAL's counters.
func (w *WAL) Stats() Stats {
	return Stats{
		Commits:  w.commits.Load(),
		Syncs:    w.syncs.Load(),
		DirSyncs: w.dirSyncs.Load(),
		Bytes:    w.bytes.Load(),
		Segments: int(w.segments.Load()),
	}
}

// State returns a copy of the current state, including changes still
// being made durable by calls that have not returned yet.
func (w *WAL) State() State {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.st.clone()
}

// TermAt returns the term of the entry at index i as State would show it
// (a held entry, the snapshot's last entry, or index 0), without copying
// the state: ok is false if i is neither.
func (w *WAL) TermAt(i spec.Index) (term spec.Term, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.st.termAt(i)
}

// Save durably records a hard state (if hs is non-nil) and entries, the
// first of which has index first; entries may be empty. If first is not
// past the last index, the log's suffix from first on is replaced (a
// follower overwriting conflicting entries), or with no entries deleted
// (first 0 means no change to the log); overwriting entries covered by
// the snapshot, leaving a gap, or lowering the term or changing a cast
// vote is refused. Save returns once the change is on stable storage.
func (w *WAL) Save(hs *HardState, first spec.Index, entries []spec.Entry) error {
	w.mu.Lock()
	if err := w.usable(); err != nil {
		w.mu.Unlock()
		return err
	}
	if hs != nil {
		if err := w.st.checkHardState(*hs); err != nil {
			w.mu.Unlock()
			return fmt.Errorf("wal: save: %w", err)
		}
	}
	if err := w.st.checkEntries(first, entries); err != nil {
		w.mu.Unlock()
		return fmt.Errorf("wal: save: %w", err)
	}
	var recs []byte
	if hs != nil && *hs != w.st.HardState {
		recs = appendHardState(recs, *hs)
		w.st.HardState = *hs
	}
	if first != 0 && first <= w.st.LastIndex() {
		recs = appendTruncate(recs, first-1)
	}
	for k, e := range entries {
		recs = appendEntry(recs, first+spec.Index(k), e)
	}
	w.st.applyEntries(first, entries)
	return w.submit(&request{recs: recs})
}

// Append durably appends entries of the given term with the given values
// at the end of the log and returns the index of the first. Concurrent
// callers are group-committed; each returns once its entries are on stable
// storage.
func (w *WAL) Append(term spec.Term, values ...spec.Value) (spec.Index, error) {
	entries := make([]spec.Entry, len(values))
	for k, v := range values {
		entries[k] = spec.Entry{Term: term, Value: v}
	}
	w.mu.Lock()
	if err := w.usable(); err != nil {
		w.mu.Unlock()
		return 0, err
	}
	first := w.st.LastIndex() + 1
	if err := w.st.checkEntries(first, entries); err != nil {
		w.mu.Unlock()
		return 0, fmt.Errorf("wal: append: %w", err)
	}
	var recs []byte
	for k, e := range entries {
		recs = appendEntry(recs, first+spec.Index(k), e)
	}
	w.st.applyEntries(first, entries)
	return first, w.submit(&request{recs: recs})
}

// SaveSnapshot durably records snap, which must be newer than the current
// snapshot. If the log holds an entry at snap.Index with snap.Term the log
// is kept (call Compact to discard the covered prefix); otherwise the whole
// log is discarded, as a follower does on InstallSnapshot. The WAL keeps
// its own copy of snap.Data.
func (w *WAL) SaveSnapshot(snap Snapshot) error {
	snap.Data = slices.Clone(snap.Data)
	w.mu.Lock()
	if err := w.usable(); err != nil {
		w.mu.Unlock()
		return err
	}
	if err := w.st.checkSnapshot(&snap); err != nil {
		w.mu.Unlock()
		return fmt.Errorf("wal: save snapshot: %w", err)
	}
	w.st.applySnapshot(&snap)
	return w.submit(&request{recs: appendSnapshot(nil, &snap)})
}

// Compact discards the entries up to index, which the snapshot must
// cover, and reclaims disk space: it writes a new segment holding the
// whole remaining state (hard state, snapshot, entries after index) and
// deletes every older segment. Its cost is proportional to that state, so
// call it after a snapshot, when few entries remain after it.
func (w *WAL) Compact(index spec.Index) error {
	w.mu.Lock()
	if err := w.usable(); err != nil {
		w.mu.Unlock()
		return err
	}
	if err := w.st.checkCompact(index); err != nil {
		w.mu.Unlock()
		return fmt.Errorf("wal: compact: %w", err)
	}
	w.st.applyCompact(index)
	return w.submit(&request{base: appendBase(nil, &w.st)})
}

// Close waits for queued changes to be written, stops the writer and
// closes the segment file. It returns the sticky write error, if any.
func (w *WAL) Close() error {
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return ErrClosed
	}
	w.closing = true
	w.cond.Signal()
	w.mu.Unlock()
	<-w.done
	err := w.f.Close()
	if w.err != nil {
		return w.err
	}
	if err != nil {
		return fmt.Errorf("wal: close: %w", err)
	}
	return nil
}

// usable reports why no change may be queued now. Called with mu held.
func (w *WAL) usable() error {
	if w.closing {
		return ErrClosed
	}
	return w.err
}

// submit queues r, releases mu (held by the caller) and waits until r is
// durable.
func (w *WAL) submit(r *request) error {
	r.done = make(chan error, 1)
	w.queue = append(w.queue, r)
	w.cond.Signal()
	w.mu.Unlock()
	return <-r.done
}

// writer takes whatever is queued, writes it with one fsync, and
// acknowledges it; changes queued meanwhile form the next batch.
func (w *WAL) writer() {
	defer close(w.done)
	for {
		w.mu.Lock()
		for len(w.queue) == 0 && !w.closing {
			w.cond.Wait()
		}
		batch := w.queue
		w.queue = nil
		err := w.err
		w.mu.Unlock()
		if len(batch) == 0 {
			return // closing, and nothing left
		}
		if err == nil {
			if err = w.commit(batch); err != nil {
				err = fmt.Errorf("%w (the WAL refuses further changes; reopen it)", err)
				w.mu.Lock()
				w.err = err
				w.mu.Unlock()
			}
		}
		for _, r := range batch {
			if err == nil {
				w.commits.Add(1)
			}
			r.done <- err
		}
	}
}

// commit writes a batch of requests and syncs them.
func (w *WAL) commit(batch []*request) error {
	for _, r := range batch {
		if r.base != nil {
			if err := w.flush(); err != nil {
				return err
			}
			if err := w.roll(r.base); err != nil {
				return err
			}
			w.removeBefore(w.seqs[len(w.seqs)-1])
			continue
		}
		pending := w.size + int64(len(w.wbuf))
		if pending > w.head && pending+int64(len(r.recs)) > w.opts.SegmentSize {
			if err := w.flush(); err != nil {
				return err
			}
			if err := w.roll(nil); err != nil {
				return err
			}
		}
		w.wbuf = append(w.wbuf, r.recs...)
	}
	return w.flush()
}

// flush writes the buffered records and fsyncs the segment.
func (w *WAL) flush() error {
	if len(w.wbuf) > 0 {
		n, err := w.f.Write(w.wbuf)
		w.size += int64(n)
		w.bytes.Add(uint64(n))
		if err != nil {
			return fmt.Errorf("wal: write %s: %w", segName(w.seqs[len(w.seqs)-1]), err)
		}
		w.wbuf = w.wbuf[:0]
		if cap(w.wbuf) > 1<<20 {
			w.wbuf = nil // do not pin the memory of one huge batch
		}
		w.dirty = true
	}
	if !w.dirty {
		return nil
	}
	if w.opts.beforeSync != nil {
		w.opts.beforeSync()
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("wal: fsync %s: %w", segName(w.seqs[len(w.seqs)-1]), err)
	}
	w.syncs.Add(1)
	w.dirty = false
	return nil
}

// roll switches to a new segment whose head is body (after the header).
func (w *WAL) roll(body []byte) error {
	seq := w.seqs[len(w.seqs)-1] + 1
	f, size, err := createSegment(w.dir, seq, body)
	if err != nil {
		return err
	}
	w.syncs.Add(1)
	w.dirSyncs.Add(1)
	w.bytes.Add(uint64(size))
	old := w.f
	w.f, w.size, w.head, w.seqs = f, size, size, append(w.seqs, seq)
	w.segments.Store(int64(len(w.seqs)))
	if err := old.Close(); err != nil {
		return fmt.Errorf("wal: close %s: %w", segName(seq-1), err)
	}
	return nil
}

// removeBefore deletes the segments older than seq, which a new base
// segment has superseded. Failures are logged, not returned: the state is
// already durable in the base segment, and the next Open finishes the job.
func (w *WAL) removeBefore(seq uint64) {
	keep := w.seqs[:0]
	for _, s := range w.seqs {
		if s >= seq {
			keep = append(keep, s)
			continue
		}
		if err := os.Remove(filepath.Join(w.dir, segName(s))); err != nil && !errors.Is(err, os.ErrNotExist) {
			w.opts.Logf("wal: remove superseded segment: %v", err)
		}
	}
	w.seqs = keep
	w.segments.Store(int64(len(w.seqs)))
	if err := syncDir(w.dir); err != nil {
		w.opts.Logf("%v", err)
		return
	}
	w.dirSyncs.Add(1)
}
