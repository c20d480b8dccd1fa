package node

import (
	"errors"
	"fmt"
	"time"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/impl/transport"
	"github.com/raftcheck/raftcheck/impl/wal"
	"github.com/raftcheck/raftcheck/spec"
)

// maybeSnapshot snapshots the state machine once SnapshotEntries entries
// were applied since the last snapshot, saves it in the WAL, and compacts
// the WAL and the core. Half of SnapshotEntries is kept in the log below
// the snapshot, so that a follower slightly behind still gets entries
// rather than a whole snapshot. Run goroutine only, after Advance (no log
// change is pending then).
func (n *Node) maybeSnapshot() error {
	if n.cfg.SnapshotEntries < 0 {
		return nil
	}
	st := n.core.Status()
	last := spec.Index(0)
	if n.snap != nil {
		last = n.snap.Index
	}
	if st.Applied < last+spec.Index(n.cfg.SnapshotEntries) {
		return nil
	}
	data, err := n.cfg.StateMachine.Snapshot()
	if err != nil {
		return fmt.Errorf("snapshot at %d: %w", st.Applied, err)
	}
	term, err := n.st.TermAt(st.Applied)
	if err != nil {
		return fmt.Errorf("snapshot at %d: %w", st.Applied, err)
	}
	snap := &wal.Snapshot{Index: st.Applied, Term: term, Config: n.core.ConfigurationAt(st.Applied), Data: data}
	compactTo := st.Applied - min(st.Applied, spec.Index(n.cfg.SnapshotEntries/2))
	if compactTo <= st.Snapshot.Index {
		compactTo = 0 // nothing new to discard
	}
	if err := n.st.SaveSnapshot(*snap, compactTo); err != nil {
		return err
	}
	n.snap = snap
	if compactTo > 0 {
		if err := n.core.Compact(compactTo); err != nil {
			return fmt.Errorf("compact core: %w", err)
		}
	}
	return nil
}

// sendSnapshot sends follower j the latest snapshot, in chunks, from a
// goroutine of its own (the transport never blocks, but encoding a large
// snapshot should not hold up the loop). A transfer is retried only after
// SnapshotRetry: a lost chunk leaves the follower behind, and the core
// keeps reporting it.
func (n *Node) sendSnapshot(j spec.ServerID) {
	if n.snap == nil {
		return // cannot happen: the core compacts only after a snapshot
	}
	if t, ok := n.sending[j]; ok && time.Since(t) < n.cfg.SnapshotRetry {
		return
	}
	n.sending[j] = time.Now()
	snap, term := n.snap, n.core.Status().Term
	n.cfg.Logf("raft node %v: sending snapshot at %d (%d bytes) to %v", n.cfg.ID, snap.Index, len(snap.Data), j)
	n.senders.Add(1)
	go func() {
		defer n.senders.Done()
		chunk := n.cfg.SnapshotChunk
		for off := 0; ; off += chunk {
			end := min(off+chunk, len(snap.Data))
			f := &transport.Frame{Kind: transport.KindInstallSnapshot, Snapshot: transport.InstallSnapshot{
				Term: term, Leader: n.cfg.ID, To: j, LastIncludedIndex: snap.Index, LastIncludedTerm: snap.Term, Config: snap.Config,
				Offset: uint64(off), Data: snap.Data[off:end], Done: end == len(snap.Data),
			}}
			if err := n.tr.SendFrame(f); err != nil {
				if !errors.Is(err, transport.ErrClosed) {
					n.cfg.Logf("raft node %v: snapshot to %v: %v", n.cfg.ID, j, err)
				}
				return
			}
			if end == len(snap.Data) {
				return
			}
		}
	}()
}

// incomingSnapshot is a snapshot being received, chunk by chunk.
type incomingSnapshot struct {
	leader   spec.ServerID
	term     spec.Term
	index    spec.Index
	lastTerm spec.Term
	config   spec.Configuration
	data     []byte
}

// receiveSnapshot takes one InstallSnapshot chunk. Chunks must arrive in
// order (one TCP connection per peer keeps them so); a chunk at offset 0
// starts over, any other chunk that does not continue the transfer is
// dropped, and the leader resends the whole snapshot later. The complete
// snapshot is handed to the core, and if the core accepts it, saved in the
// WAL and restored into the state machine before any reply is sent.
func (n *Node) receiveSnapshot(c transport.InstallSnapshot) error {
	in := n.incoming
	if c.Offset == 0 {
		in = &incomingSnapshot{leader: c.Leader, term: c.Term, index: c.LastIncludedIndex, lastTerm: c.LastIncludedTerm, config: c.Config}
		n.incoming = in
	} else if in == nil || in.leader != c.Leader || in.term != c.Term || in.index != c.LastIncludedIndex ||
		in.lastTerm != c.LastIncludedTerm || in.config != c.Config || uint64(len(in.data)) != c.Offset {
		return nil
	}
	in.data = append(in.data, c.Data...)
	if !c.Done {
		return nil
	}
	n.incoming = nil
	// The core requires storage and itself to agree on the log it cuts.
	if err := n.handleReady(); err != nil {
		return err
	}
	meta := raft.SnapshotMeta{Index: in.index, Term: in.lastTerm, Config: in.config}
	install, err := n.core.InstallSnapshot(in.leader, in.term, meta)
	if err != nil {
		n.cfg.Logf("raft node %v: refused snapshot from %v: %v", n.cfg.ID, in.leader, err)
		return nil
	}
	n.installed = &spec.Message{Type: spec.InstallSnapshot, From: in.leader, To: n.cfg.ID, Term: in.term,
		LastIncludedIndex: in.index, LastIncludedTerm: in.lastTerm}
	if !install {
		return nil
	}
	if err := n.cfg.StateMachine.Restore(in.index, in.data); err != nil {
		// The state machine may be half replaced: stop rather than
		// serve it. The WAL is untouched, so a restart is clean.
		return fmt.Errorf("restore snapshot at %d from %v: %w", in.index, in.leader, err)
	}
	snap := &wal.Snapshot{Index: in.index, Term: in.lastTerm, Config: in.config, Data: in.data}
	if err := n.st.SaveSnapshot(*snap, in.index); err != nil {
		return err
	}
	n.snap = snap
	n.installedSnapshot(in.index, in.config)
	n.publish()
	n.cfg.Logf("raft node %v: installed snapshot at %d from %v", n.cfg.ID, in.index, in.leader)
	return nil
}
