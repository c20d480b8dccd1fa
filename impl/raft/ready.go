package raft

import (
	"fmt"
	"slices"

	"github.com/raftcheck/raftcheck/spec"
)

// Ready is a batch of a node's output. The caller handles it in this
// order:
//
//  1. make Update durable (Storage.Save) — term, vote and log;
//  2. only then send Messages: votes and acknowledgements in them promise
//     that the state they report is on stable storage (Figure 2: "updated
//     on stable storage before responding to RPCs");
//  3. apply CommittedEntries (indices CommitFrom, CommitFrom+1, ...) to the
//     state machine, in order (they are durable after step 1);
//  4. call Advance with this Ready.
//
// The node may take further input between Ready and Advance; what that
// changes goes into the next Ready.
type Ready struct {
	Update
	// Messages are to be sent after Update is durable.
	Messages []spec.Message
	// CommittedEntries are the newly committed entries, to be applied.
	CommittedEntries []spec.Entry
	// CommitFrom is the index of CommittedEntries[0].
	CommitFrom spec.Index
	// Snapshots are the peers a leader cannot replicate to because the
	// entries they need were compacted (Compact): the caller sends each a
	// snapshot at or above the node's snapshot index (Figure 13), and the
	// follower's InstallSnapshot answers with an ordinary successful
	// AppendEntriesResponse (impl/cluster sends the specification's
	// InstallSnapshot).
	Snapshots []spec.ServerID

	seq uint64
}

// Empty reports whether the Ready carries nothing.
func (rd *Ready) Empty() bool {
	return rd.Update.Empty() && len(rd.Messages) == 0 && len(rd.CommittedEntries) == 0 && len(rd.Snapshots) == 0
}

// HasReady reports whether Ready would return a non-empty batch.
func (r *Node) HasReady() bool {
	return r.hardState() != r.saved || r.unstable != 0 || len(r.msgs) > 0 ||
		len(r.proposals) > 0 || r.applied < r.committedInLog() || slices.Contains(r.wantSnap, true)
}

// Ready returns the node's pending output (see Ready for what to do with
// it). It first appends any batched proposals. The returned batch shares
// nothing with the node.
func (r *Node) Ready() Ready {
	r.flushProposals()
	r.readySeq++
	rd := Ready{seq: r.readySeq}
	if hs := r.hardState(); hs != r.saved {
		rd.HardState = &hs
	}
	if r.unstable != 0 {
		rd.LogFrom = r.unstable
		rd.Entries = slices.Clone(r.entries(r.unstable-1, r.lastIndex()))
	}
	rd.Messages = slices.Clone(r.msgs)
	if hi := r.committedInLog(); r.applied < hi {
		rd.CommitFrom = r.applied + 1
		rd.CommittedEntries = slices.Clone(r.entries(r.applied, hi))
	}
	for j, want := range r.wantSnap {
		if want {
			rd.Snapshots = append(rd.Snapshots, spec.ServerID(j))
			r.wantSnap[j] = false
		}
	}
	r.sinceReady = 0
	return rd
}

// Advance tells the node that rd, the last Ready it returned, has been
// handled: its Update is durable, its messages sent and its committed
// entries applied. It fails with ErrStaleReady for any other Ready.
func (r *Node) Advance(rd Ready) error {
	if rd.seq == 0 || rd.seq != r.readySeq || r.advanced == rd.seq {
		return fmt.Errorf("raft: %v: advance: %w (got batch %d, last handed out %d, last advanced %d)",
			r.id, ErrStaleReady, rd.seq, r.readySeq, r.advanced)
	}
	r.advanced = rd.seq
	if rd.HardState != nil {
		r.saved = *rd.HardState
	}
	r.unstable = r.sinceReady
	r.msgs = slices.Clone(r.msgs[len(rd.Messages):])
	if len(rd.CommittedEntries) > 0 {
		r.applied = rd.CommitFrom + spec.Index(len(rd.CommittedEntries)) - 1
	}
	return nil
}

// hardState is the hard state to persist. With Faults.ForgetVoteOnRestart
// the vote is kept in memory only, as in the implementations that bug
// stands for.
func (r *Node) hardState() HardState {
	if r.faults.forgetVoteOnRestart() {
		return HardState{Term: r.term}
	}
	return HardState{Term: r.term, VotedFor: r.votedFor}
}

// committedInLog is the last committed index the log holds. It is below
// commitIndex only after Faults.TruncateOnStaleAppend deleted committed
// entries.
func (r *Node) committedInLog() spec.Index { return min(r.commit, r.lastIndex()) }
