// Package raftwal keeps the core's persistent state (impl/raft's Storage)
// in the write-ahead log of impl/wal, together with the latest state
// machine snapshot. It is the one adapter between the two: the runtime
// (impl/node) persists through it, and the replay driver (impl/cluster)
// does too when it runs on disk, so that replay exercises the adapter
// production uses.
package raftwal

import (
	"errors"
	"fmt"
	"slices"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/impl/wal"
	"github.com/raftcheck/raftcheck/spec"
)

// ErrClosed is returned by calls on a closed Storage.
var ErrClosed = errors.New("raftwal: storage closed")

// Storage is a raft.Storage kept in a write-ahead log. Save writes one
// Ready's Update with one WAL Save, so one fsync (group commit); Load
// returns what is durable, in the core's vocabulary. It is meant for one
// goroutine, the one driving the core.
type Storage struct {
	dir    string
	opts   wal.Options
	w      *wal.WAL
	closed bool
}

var _ raft.Storage = (*Storage)(nil)

// Open opens (creating it if needed) the write-ahead log in dir, with
// opts passed to wal.Open, recovering what a crash left on disk.
func Open(dir string, opts wal.Options) (*Storage, error) {
	w, _, err := wal.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("open WAL %s: %w", dir, err)
	}
	return &Storage{dir: dir, opts: opts, w: w}, nil
}

// Dir returns the directory of the log.
func (s *Storage) Dir() string { return s.dir }

// Load implements raft.Storage: the hard state, where the log starts (the
// snapshot's position) and the log after it.
func (s *Storage) Load() (raft.Persistent, error) {
	p, _, err := s.Recover()
	return p, err
}

// Recover returns what a restarting server starts from: the core's
// persistent state (as Load) and the state machine snapshot it covers, or
// nil if there is none. The WAL may still hold entries the snapshot covers
// (Compact keeps some); they are not the core's and are left out.
func (s *Storage) Recover() (raft.Persistent, *wal.Snapshot, error) {
	if err := s.usable(); err != nil {
		return raft.Persistent{}, nil, err
	}
	st := s.w.State()
	p := raft.Persistent{HardState: raft.HardState{Term: st.HardState.Term, VotedFor: st.HardState.VotedFor}}
	from := st.FirstIndex // index of st.Entries[0]
	if st.Snapshot != nil {
		p.Snapshot = raft.SnapshotMeta{Index: st.Snapshot.Index, Term: st.Snapshot.Term, Config: st.Snapshot.Config}
		if st.Snapshot.Index >= from {
			skip := min(int(st.Snapshot.Index-from+1), len(st.Entries))
			st.Entries, from = st.Entries[skip:], st.Snapshot.Index+1
		}
	}
	if from != p.Snapshot.Index+1 {
		return raft.Persistent{}, nil, fmt.Errorf("WAL %s: log starts at index %d but the snapshot ends at %d", s.dir, from, p.Snapshot.Index)
	}
	p.Log = slices.Clip(st.Entries) // State is a copy: nothing is shared
	return p, st.Snapshot, nil
}

// Save implements raft.Storage with one WAL Save (one fsync for the whole
// Ready). Every Update the core produces is written, a truncation without
// entries included (the log is cut at LogFrom).
func (s *Storage) Save(u raft.Update) error {
	if u.Empty() {
		return nil
	}
	if err := s.usable(); err != nil {
		return err
	}
	var hs *wal.HardState
	if u.HardState != nil {
		hs = &wal.HardState{Term: u.HardState.Term, VotedFor: u.HardState.VotedFor}
	}
	if err := s.w.Save(hs, u.LogFrom, u.Entries); err != nil {
		return fmt.Errorf("WAL %s: save: %w", s.dir, err)
	}
	return nil
}

// SaveSnapshot records snap durably and, if compactTo > 0, discards the
// entries up to compactTo (at most snap.Index) from disk. The core is
// compacted by its caller (raft.Node.Compact), after this has returned.
func (s *Storage) SaveSnapshot(snap wal.Snapshot, compactTo spec.Index) error {
	if err := s.usable(); err != nil {
		return err
	}
	if err := s.w.SaveSnapshot(snap); err != nil {
		return fmt.Errorf("WAL %s: save snapshot at %d: %w", s.dir, snap.Index, err)
	}
	if compactTo > 0 {
		if err := s.w.Compact(compactTo); err != nil {
			return fmt.Errorf("WAL %s: compact to %d: %w", s.dir, compactTo, err)
		}
	}
	return nil
}

// TermAt returns the term of the entry at index i, held in the log or the
// last one the snapshot covers.
func (s *Storage) TermAt(i spec.Index) (spec.Term, error) {
	if err := s.usable(); err != nil {
		return 0, err
	}
	// WAL.TermAt, not State: State copies the whole log, and recording
	// asks for the last term after every step (often of an entry not
	// written yet, so the error path must be cheap too).
	if t, ok := s.w.TermAt(i); ok && i > 0 {
		return t, nil
	}
	return 0, fmt.Errorf("WAL %s: no entry at %d", s.dir, i)
}

// Reopen closes the log and opens it again from disk, as a restarted
// process does: only what was made durable survives. If the open fails
// the storage stays closed.
func (s *Storage) Reopen() error {
	if err := s.Close(); err != nil {
		return err
	}
	w, _, err := wal.Open(s.dir, s.opts)
	if err != nil {
		return fmt.Errorf("reopen WAL %s: %w", s.dir, err)
	}
	s.w, s.closed = w, false
	return nil
}

// Close waits for queued writes and closes the log; it returns the WAL's
// sticky write error, if any. Closing twice is allowed.
func (s *Storage) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.w.Close(); err != nil && !errors.Is(err, wal.ErrClosed) {
		return fmt.Errorf("close WAL %s: %w", s.dir, err)
	}
	return nil
}

func (s *Storage) usable() error {
	if s.closed {
		return fmt.Errorf("WAL %s: %w", s.dir, ErrClosed)
	}
	return nil
}
