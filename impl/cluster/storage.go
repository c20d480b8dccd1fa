package cluster

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/impl/wal"
	"github.com/raftcheck/raftcheck/spec"
)

// storage is a server's stable storage as the harness uses it: a
// raft.Storage that can be closed and reopened, the way a restarted
// process reopens its files.
type storage interface {
	raft.Storage
	// Reopen closes the storage and opens it again from what is durable.
	Reopen() (storage, error)
	Close() error
}

// openStorage opens server id's storage: in memory when dir is empty,
// otherwise the write-ahead log (impl/wal) in dir/S<id>.
func openStorage(dir string, id spec.ServerID) (storage, error) {
	if dir == "" {
		return memStorage{raft.NewMemoryStorage()}, nil
	}
	return openWAL(filepath.Join(dir, id.String()))
}

// memStorage keeps the state in memory; it survives Restart because the
// harness keeps it while rebuilding the node.
type memStorage struct{ *raft.MemoryStorage }

func (s memStorage) Reopen() (storage, error) { return s, nil }
func (s memStorage) Close() error             { return nil }

// walStorage adapts impl/wal to raft.Storage. A Restart closes the WAL and
// opens it again from disk, so only what was fsynced survives.
type walStorage struct {
	dir    string
	w      *wal.WAL
	closed bool
}

func openWAL(dir string) (*walStorage, error) {
	w, _, err := wal.Open(dir, wal.Options{})
	if err != nil {
		return nil, fmt.Errorf("open WAL %s: %w", dir, err)
	}
	return &walStorage{dir: dir, w: w}, nil
}

// Load implements raft.Storage. The core keeps its whole log, so a WAL
// holding a snapshot or a compacted prefix is refused.
func (s *walStorage) Load() (raft.Persistent, error) {
	st := s.w.State()
	if st.Snapshot != nil || st.FirstIndex != 1 {
		return raft.Persistent{}, fmt.Errorf("WAL %s: holds a snapshot or a compacted log (first index %d), which the core does not support", s.dir, st.FirstIndex)
	}
	return raft.Persistent{
		HardState: raft.HardState{Term: st.HardState.Term, VotedFor: st.HardState.VotedFor},
		Log:       slices.Clone(st.Entries),
	}, nil
}

// Save implements raft.Storage with one WAL Save (one fsync).
func (s *walStorage) Save(u raft.Update) error {
	if u.Empty() {
		return nil
	}
	var hs *wal.HardState
	if u.HardState != nil {
		hs = &wal.HardState{Term: u.HardState.Term, VotedFor: u.HardState.VotedFor}
	}
	first, entries := u.LogFrom, u.Entries
	if err := s.w.Save(hs, first, entries); err != nil {
		return fmt.Errorf("WAL %s: %w", s.dir, err)
	}
	return nil
}

func (s *walStorage) Reopen() (storage, error) {
	if err := s.Close(); err != nil {
		return nil, err
	}
	return openWAL(s.dir)
}

func (s *walStorage) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.w.Close(); err != nil && !errors.Is(err, wal.ErrClosed) {
		return fmt.Errorf("close WAL %s: %w", s.dir, err)
	}
	return nil
}
