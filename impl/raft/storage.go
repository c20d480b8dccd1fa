package raft

import (
	"fmt"
	"slices"
	"sync"

	"github.com/raftcheck/raftcheck/spec"
)

// HardState is the persistent per-server state of Figure 2 besides the log:
// currentTerm and votedFor. It must be on stable storage before any message
// that depends on it (a vote, an acknowledgement) is sent.
type HardState struct {
	Term     spec.Term     `json:"term"`
	VotedFor spec.ServerID `json:"voted_for"`
}

// Persistent is everything a server recovers after a crash: the hard state,
// the last snapshot's position (zero without one) and the log after it
// (entry k at index Snapshot.Index+k+1).
type Persistent struct {
	HardState
	// Snapshot is where the log starts: the state machine snapshot the
	// caller restores covers every entry up to Snapshot.Index (zero
	// without one).
	Snapshot SnapshotMeta `json:"snapshot,omitzero"`
	Log      []spec.Entry `json:"log"`
}

// SnapshotMeta identifies a snapshot (Figure 13): it covers every entry up
// to and including Index, whose term is Term.
type SnapshotMeta struct {
	Index spec.Index `json:"index"`
	Term  spec.Term  `json:"term"`
	// TermStart, if known (0: unknown), is the index of the first entry
	// of term Term, at most Index: with the conflict hint a follower whose
	// conflicting term reaches into the snapshot hints the index before
	// it, as one that kept every entry would (§5.3).
	TermStart spec.Index `json:"term_start,omitempty"`
	// Config is the configuration in effect at Index: the last
	// configuration entry the snapshot covers (zero if none does, then the
	// initial configuration is in effect).
	Config spec.Configuration `json:"config,omitzero"`
}

// validate checks that p could have been written by a correct node of an
// n-server cluster.
func (p *Persistent) validate(n int) error {
	if int(p.VotedFor) > n {
		return fmt.Errorf("voted_for: %d is not a server of a %d-server cluster", p.VotedFor, n)
	}
	if s := p.Snapshot; (s.Index == 0) != (s.Term == 0) || s.Term > p.Term || s.TermStart > s.Index {
		return fmt.Errorf("snapshot: index %d term %d term start %d (index and term both 0 or both at least 1, term at most the current term %d, term start at most the index)",
			s.Index, s.Term, s.TermStart, p.Term)
	}
	if c := p.Snapshot.Config; c != (spec.Configuration{}) {
		if err := validateConfiguration(c, n); err != nil {
			return fmt.Errorf("snapshot: configuration: %w", err)
		}
	}
	if err := checkConfigEntries(p.Log, n); err != nil {
		return err
	}
	return checkLog(p.Log, p.Snapshot.Term, p.Term)
}

// checkLog reports an entry of log with a term of 0, below its predecessor
// (the first entry's predecessor has term prev), or above maxTerm.
func checkLog(log []spec.Entry, prev, maxTerm spec.Term) error {
	for k, e := range log {
		switch {
		case e.Term == 0:
			return fmt.Errorf("log[%d]: entry term 0", k+1)
		case e.Term < prev:
			return fmt.Errorf("log[%d]: entry term %d below the previous entry's term %d", k+1, e.Term, prev)
		case e.Term > maxTerm:
			return fmt.Errorf("log[%d]: entry term %d above the current term %d", k+1, e.Term, maxTerm)
		}
		prev = e.Term
	}
	return nil
}

// Update is the durable part of a Ready: what the caller must write to
// stable storage before sending the Ready's messages.
type Update struct {
	// HardState is the new hard state, or nil when it is unchanged.
	HardState *HardState
	// LogFrom is 0 when the log is unchanged. Otherwise every stored entry
	// at index LogFrom or above is replaced by Entries (Entries[0] gets index
	// LogFrom): a plain append when LogFrom is one past the stored log, a
	// truncation followed by an append when it is inside it. Entries may be
	// empty: a truncation alone (only with Faults.TruncateOnStaleAppend).
	LogFrom spec.Index
	Entries []spec.Entry
}

// Empty reports whether u asks for nothing to be written.
func (u *Update) Empty() bool { return u.HardState == nil && u.LogFrom == 0 }

// ApplyTo returns log with u's log change made, reusing log's array. It
// fails if u starts beyond the end of log (a gap).
func (u *Update) ApplyTo(log []spec.Entry) ([]spec.Entry, error) { return u.ApplyAfter(0, log) }

// ApplyAfter is ApplyTo for the log after a snapshot ending at index snap
// (log[0] has index snap+1). It fails if u starts beyond the end of log
// (a gap) or rewrites an entry the snapshot covers.
func (u *Update) ApplyAfter(snap spec.Index, log []spec.Entry) ([]spec.Entry, error) {
	if u.LogFrom == 0 {
		return log, nil
	}
	if u.LogFrom <= snap {
		return log, fmt.Errorf("update starts at index %d, covered by the snapshot at %d", u.LogFrom, snap)
	}
	if k := u.LogFrom - snap - 1; k > spec.Index(len(log)) {
		return log, fmt.Errorf("update starts at index %d, past the end of a log of %d entries after index %d", u.LogFrom, len(log), snap)
	}
	return append(log[:u.LogFrom-snap-1], u.Entries...), nil
}

// Storage is where a node's persistent state lives. The caller of a Node
// (not the Node itself, which does no I/O) saves every Ready's Update with
// Save, and on restart builds the node from Load.
type Storage interface {
	// Load returns the persistent state last saved (zero for new storage).
	Load() (Persistent, error)
	// Save makes u durable before it returns.
	Save(u Update) error
}

// MemoryStorage is a Storage in memory, for tests and the replay harness:
// it survives a Node being rebuilt, not a process crash. It is safe for
// concurrent use.
type MemoryStorage struct {
	mu    sync.Mutex
	state Persistent
}

// NewMemoryStorage returns empty storage.
func NewMemoryStorage() *MemoryStorage { return &MemoryStorage{} }

// Load implements Storage; the result shares nothing with the storage.
func (s *MemoryStorage) Load() (Persistent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.state
	p.Log = slices.Clone(p.Log)
	return p, nil
}

// Save implements Storage.
func (s *MemoryStorage) Save(u Update) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	log, err := u.ApplyAfter(s.state.Snapshot.Index, s.state.Log)
	if err != nil {
		return fmt.Errorf("memory storage: %w", err)
	}
	s.state.Log = log
	if u.HardState != nil {
		s.state.HardState = *u.HardState
	}
	return nil
}

// SaveSnapshot records that a state machine snapshot ending at snap (kept
// by the caller) is durable, and discards the log it covers: the entries
// up to snap.Index if the log holds snap's last entry (same index and
// term: a Compact, or Figure 13 InstallSnapshot step 6), otherwise the
// whole log (step 7). snap must be above the current snapshot. It is the
// rule of impl/raftwal's SaveSnapshot with compaction to snap.Index.
func (s *MemoryStorage) SaveSnapshot(snap SnapshotMeta) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.state.Snapshot
	if snap.Index <= cur.Index || snap.Term == 0 || snap.Term < cur.Term {
		return fmt.Errorf("memory storage: snapshot %d/%d not above the current snapshot %d/%d", snap.Index, snap.Term, cur.Index, cur.Term)
	}
	if k := snap.Index - cur.Index; k <= spec.Index(len(s.state.Log)) && s.state.Log[k-1].Term == snap.Term {
		s.state.Log = slices.Clone(s.state.Log[k:])
	} else {
		s.state.Log = nil
	}
	s.state.Snapshot = snap
	return nil
}
