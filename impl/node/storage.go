package node

import (
	"fmt"
	"slices"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/impl/wal"
	"github.com/raftcheck/raftcheck/spec"
)

// storage is the node's durable state: impl/wal seen through the core's
// Update vocabulary, plus the latest state machine snapshot.
type storage struct {
	dir string
	w   *wal.WAL
}

// openStorage opens the WAL in dir and returns what the core and the state
// machine restart from: the persistent state and the latest snapshot (nil
// if none).
func openStorage(dir string, logf func(string, ...any)) (*storage, raft.Persistent, *wal.Snapshot, error) {
	w, st, err := wal.Open(dir, wal.Options{Logf: logf})
	if err != nil {
		return nil, raft.Persistent{}, nil, fmt.Errorf("open WAL %s: %w", dir, err)
	}
	p := raft.Persistent{HardState: raft.HardState{Term: st.HardState.Term, VotedFor: st.HardState.VotedFor}}
	from := st.FirstIndex // index of st.Entries[0]
	if st.Snapshot != nil {
		p.Snapshot = raft.SnapshotMeta{Index: st.Snapshot.Index, Term: st.Snapshot.Term}
		if st.Snapshot.Index >= from { // entries the snapshot covers are not the core's
			skip := min(int(st.Snapshot.Index-from+1), len(st.Entries))
			st.Entries, from = st.Entries[skip:], st.Snapshot.Index+1
		}
	}
	if from != p.Snapshot.Index+1 {
		w.Close()
		return nil, raft.Persistent{}, nil, fmt.Errorf("WAL %s: log starts at index %d but the snapshot ends at %d", dir, from, p.Snapshot.Index)
	}
	p.Log = slices.Clone(st.Entries)
	return &storage{dir: dir, w: w}, p, st.Snapshot, nil
}

// save makes u durable with one WAL Save (one fsync for the whole Ready:
// group commit).
func (s *storage) save(u raft.Update) error {
	if u.Empty() {
		return nil
	}
	if u.LogFrom != 0 && len(u.Entries) == 0 {
		// A truncation alone: only a test fault of the core produces one.
		return fmt.Errorf("WAL %s: truncation without entries at %d is not supported", s.dir, u.LogFrom)
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

// saveSnapshot records snap durably and, if compactTo > 0, discards the
// entries up to compactTo (at most snap.Index) from disk.
func (s *storage) saveSnapshot(snap wal.Snapshot, compactTo spec.Index) error {
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

func (s *storage) close() error {
	if err := s.w.Close(); err != nil {
		return fmt.Errorf("close WAL %s: %w", s.dir, err)
	}
	return nil
}
