package cluster

import (
	"errors"

	"github.com/raftcheck/raftcheck/impl/raft"
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

// openStorage opens server id's storage: in memory when dir is empty.
func openStorage(dir string, id spec.ServerID) (storage, error) {
	if dir != "" {
		return nil, errors.New("Options.Dir: storage on disk (impl/wal) is not wired in yet")
	}
	return memStorage{raft.NewMemoryStorage()}, nil
}

// memStorage keeps the state in memory; it survives Restart because the
// harness keeps it while rebuilding the node.
type memStorage struct{ *raft.MemoryStorage }

func (s memStorage) Reopen() (storage, error) { return s, nil }
func (s memStorage) Close() error             { return nil }
