package cluster

import (
	"fmt"
	"path/filepath"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/impl/raftwal"
	"github.com/raftcheck/raftcheck/impl/wal"
	"github.com/raftcheck/raftcheck/spec"
)

// storage is a server's stable storage as the harness uses it: a
// raft.Storage that can be closed and reopened, the way a restarted
// process reopens its files.
type storage interface {
	raft.Storage
	// Reopen closes the storage and opens it again from what is durable.
	Reopen() error
	Close() error
}

// openStorage opens server id's storage: in memory when dir is empty,
// otherwise the write-ahead log in dir/S<id> through impl/raftwal, the
// adapter the runtime (impl/node) persists through, so a replayed Restart
// reads back what production would.
func openStorage(dir string, id spec.ServerID) (storage, error) {
	if dir == "" {
		return memStorage{raft.NewMemoryStorage()}, nil
	}
	st, err := raftwal.Open(filepath.Join(dir, id.String()), wal.Options{})
	if err != nil {
		return nil, fmt.Errorf("storage of %v: %w", id, err)
	}
	return st, nil
}

// memStorage keeps the state in memory; it survives Restart because the
// harness keeps it while rebuilding the node.
type memStorage struct{ *raft.MemoryStorage }

func (memStorage) Reopen() error { return nil }
func (memStorage) Close() error  { return nil }
