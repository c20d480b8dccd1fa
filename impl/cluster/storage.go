package cluster

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/impl/raftwal"
	"github.com/raftcheck/raftcheck/impl/wal"
	"github.com/raftcheck/raftcheck/spec"
)

// storage is a server's stable storage as the harness uses it: a
// raft.Storage that also keeps the state machine snapshot and can be
// closed and reopened, the way a restarted process reopens its files.
//
// The harness's state machine is the list of entries applied, so a
// snapshot's data is the committed prefix it covers (entry k at index
// k+1), as the specification's InstallSnapshot carries it.
type storage interface {
	raft.Storage
	// SaveSnapshot makes the snapshot snap with data durable and discards
	// the log it covers: up to snap.Index if the log holds snap's last
	// entry, otherwise all of it (Figure 13; a Compact always holds it).
	SaveSnapshot(snap raft.SnapshotMeta, data []spec.Entry) error
	// SnapshotData returns the durable snapshot's data (nil without one).
	SnapshotData() ([]spec.Entry, error)
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
		return &memStorage{MemoryStorage: raft.NewMemoryStorage()}, nil
	}
	st, err := raftwal.Open(filepath.Join(dir, id.String()), wal.Options{})
	if err != nil {
		return nil, fmt.Errorf("storage of %v: %w", id, err)
	}
	return walStorage{st}, nil
}

// memStorage keeps the state in memory; it survives Restart because the
// harness keeps it while rebuilding the node.
type memStorage struct {
	*raft.MemoryStorage
	data []spec.Entry
}

func (s *memStorage) SaveSnapshot(snap raft.SnapshotMeta, data []spec.Entry) error {
	if err := checkSnapshotData(snap, data); err != nil {
		return err
	}
	if err := s.MemoryStorage.SaveSnapshot(snap); err != nil {
		return err
	}
	s.data = slices.Clone(data)
	return nil
}

func (s *memStorage) SnapshotData() ([]spec.Entry, error) { return slices.Clone(s.data), nil }
func (*memStorage) Reopen() error                         { return nil }
func (*memStorage) Close() error                          { return nil }

// walStorage keeps the state in a write-ahead log, the snapshot's data
// encoded as JSON in the WAL's snapshot record.
type walStorage struct{ *raftwal.Storage }

func (s walStorage) SaveSnapshot(snap raft.SnapshotMeta, data []spec.Entry) error {
	if err := checkSnapshotData(snap, data); err != nil {
		return err
	}
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode snapshot at %d: %w", snap.Index, err)
	}
	return s.Storage.SaveSnapshot(wal.Snapshot{Index: snap.Index, Term: snap.Term, Config: snap.Config, Data: b}, snap.Index)
}

func (s walStorage) SnapshotData() ([]spec.Entry, error) {
	_, snap, err := s.Recover()
	if err != nil || snap == nil {
		return nil, err
	}
	var data []spec.Entry
	if err := json.Unmarshal(snap.Data, &data); err != nil {
		return nil, fmt.Errorf("WAL %s: decode snapshot at %d: %w", s.Dir(), snap.Index, err)
	}
	if err := checkSnapshotData(raft.SnapshotMeta{Index: snap.Index, Term: snap.Term}, data); err != nil {
		return nil, fmt.Errorf("WAL %s: %w", s.Dir(), err)
	}
	return data, nil
}

// snapshotConfig is the configuration a snapshot with this data carries:
// its last configuration entry, or zero (the initial configuration).
func snapshotConfig(data []spec.Entry) spec.Configuration {
	return spec.ConfigurationOf(data, spec.Configuration{})
}

// checkSnapshotData checks that data is the prefix a snapshot ending at
// snap covers: snap.Index entries, the last of term snap.Term.
func checkSnapshotData(snap raft.SnapshotMeta, data []spec.Entry) error {
	if snap.Index == 0 || spec.Index(len(data)) != snap.Index || data[len(data)-1].Term != snap.Term {
		return fmt.Errorf("snapshot %d/%d with data of %d entries (want one per index, the last of the snapshot's term)", snap.Index, snap.Term, len(data))
	}
	return nil
}

// termStart is the index of the first entry of the last entry's term in
// data, a snapshot's entries (SnapshotMeta.TermStart; 0 for no entries).
func termStart(data []spec.Entry) spec.Index {
	k := len(data)
	for k > 1 && data[k-2].Term == data[len(data)-1].Term {
		k--
	}
	return spec.Index(k)
}
