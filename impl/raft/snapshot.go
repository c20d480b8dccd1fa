package raft

import (
	"errors"
	"fmt"
	"slices"

	"github.com/raftcheck/raftcheck/spec"
)

// ErrUnstable: Compact or InstallSnapshot was called while the node holds
// log changes not yet handed out and advanced; handle the pending Ready
// first, so that storage and the node agree on the log being cut.
var ErrUnstable = errors.New("log changes pending: handle the Ready first")

// Status is a cheap summary of a node's state (View copies the log).
type Status struct {
	ID          spec.ServerID
	Role        spec.Role
	Term        spec.Term
	Leader      spec.ServerID
	CommitIndex spec.Index
	// LastIndex is the index of the last log entry.
	LastIndex spec.Index
	// Applied is the last index handed out as committed and advanced.
	Applied spec.Index
	// Snapshot is where the log starts (zero without a snapshot).
	Snapshot SnapshotMeta
	// Config is the configuration in effect.
	Config spec.Configuration
}

// Status returns the node's summary.
func (r *Node) Status() Status {
	return Status{ID: r.id, Role: r.role, Term: r.term, Leader: r.leader, CommitIndex: r.commit,
		LastIndex: r.lastIndex(), Applied: r.applied, Snapshot: r.snap, Config: r.config()}
}

// Compact discards the log entries up to index, which the caller has saved
// in a state machine snapshot (the runtime does so every
// Config.SnapshotEntries entries, the replay driver at the specification's
// Compact). index must be applied (handed out as committed and advanced)
// and above the current snapshot index. A leader that later needs a
// discarded entry for a peer reports the peer in Ready.Snapshots.
func (r *Node) Compact(index spec.Index) error {
	switch {
	case index <= r.snap.Index || index > r.applied:
		return fmt.Errorf("raft: %v: compact to %d: not in (snapshot index %d, applied %d]", r.id, index, r.snap.Index, r.applied)
	case r.unstable != 0 && r.unstable <= index:
		return fmt.Errorf("raft: %v: compact to %d: %w", r.id, index, ErrUnstable)
	}
	t, start := r.termAt(index), index
	for start-1 > r.snap.Index && r.termAt(start-1) == t {
		start--
	}
	if start-1 == r.snap.Index && start > 1 && r.snap.Term == t {
		start = r.snap.TermStart // the term began before the old snapshot's end (0 if unknown)
	}
	conf, at := r.configAt(index)
	if at == 0 {
		conf = spec.Configuration{} // no configuration entry: the initial one
	}
	r.log = slices.Clone(r.log[index-r.snap.Index:]) // frees the prefix
	r.snap = SnapshotMeta{Index: index, Term: t, TermStart: start, Config: conf}
	r.refreshConfig()
	return nil
}

// InstallSnapshot is the receiver's side of InstallSnapshot (Figure 13),
// called once the whole snapshot from leader `from` in term `term` has
// arrived. It applies the term rule and answers like an AppendEntries: a
// stale term gets a failed AppendEntriesResponse (so the sender steps
// down), and otherwise the reply is a successful AppendEntriesResponse
// with MatchIndex = snap.Index, so the leader needs no new message type.
//
// It reports whether the caller must install the snapshot: true when snap
// is beyond the commit index. The node has then discarded its log up to
// snap.Index (all of it unless it holds snap's last entry, Figure 13 steps
// 6-7) and set commitIndex and the applied index to snap.Index. The caller
// must then make the snapshot durable (MemoryStorage.SaveSnapshot and
// raftwal's SaveSnapshot apply the same log rule) and restore the state
// machine from it, before handling the next Ready, whose Update writes the
// log after the snapshot anew (so that storage holds exactly the entries
// the node kept), and whose messages acknowledge the snapshot.
// The node must have no pending log changes (ErrUnstable).
func (r *Node) InstallSnapshot(from spec.ServerID, term spec.Term, snap SnapshotMeta) (bool, error) {
	if from == spec.None || from == r.id || int(from) > r.n || term == 0 || snap.Index == 0 || snap.Term == 0 || snap.Term > term || snap.TermStart > snap.Index {
		return false, fmt.Errorf("raft: %v: install snapshot %d/%d from %v in term %d: %w", r.id, snap.Index, snap.Term, from, term, ErrInvalidMessage)
	}
	if c := snap.Config; c != (spec.Configuration{}) {
		if err := validateConfiguration(c, r.n); err != nil {
			return false, fmt.Errorf("raft: %v: install snapshot %d/%d: configuration: %w: %w", r.id, snap.Index, snap.Term, err, ErrInvalidMessage)
		}
	}
	if r.unstable != 0 || len(r.proposals) > 0 {
		return false, fmt.Errorf("raft: %v: install snapshot: %w", r.id, ErrUnstable)
	}
	if term < r.term {
		r.send(spec.Message{Type: spec.AppendEntriesResponse, To: from})
		return false, nil
	}
	if term > r.term {
		r.setTerm(term)
		r.becomeFollower()
	}
	if r.role == spec.Leader {
		return false, nil // a second leader of the term: ignore, as for AppendEntries
	}
	if r.role == spec.Candidate {
		r.becomeFollower()
	}
	r.leader = from
	r.resetElectionTimer()
	reply := spec.Message{Type: spec.AppendEntriesResponse, To: from, Success: true, MatchIndex: snap.Index}
	if snap.Index <= r.commit {
		r.send(reply) // everything in it is committed here already
		return false, nil
	}
	if r.keepAfterSnapshot(snap) {
		r.log = slices.Clone(r.log[snap.Index-r.snap.Index:])
	} else {
		r.log = nil
	}
	r.snap = snap
	r.refreshConfig()
	r.commit, r.applied = snap.Index, snap.Index
	r.changed(snap.Index + 1)
	r.send(reply)
	return true, nil
}

// keepAfterSnapshot reports whether installing snap keeps the entries
// after it (Figure 13 step 6: the log holds snap's last entry, same index
// and term) rather than discarding the whole log (step 7).
func (r *Node) keepAfterSnapshot(snap SnapshotMeta) bool {
	switch {
	case r.faults.snapshotKeepsConflictingSuffix():
		return snap.Index <= r.lastIndex() // the seeded bug: whatever the term there
	case r.faults.snapshotDiscardsMatchingSuffix():
		return false
	}
	return snap.Index <= r.lastIndex() && r.termAt(snap.Index) == snap.Term
}
