package cluster

import (
	"errors"
	"fmt"
	"slices"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/spec"
)

// ErrNotRestorable: Restore was asked for a state the cluster cannot be put
// in directly (see Restore).
var ErrNotRestorable = errors.New("state not restorable")

// Restore puts the cluster directly into the state st of the
// specification, with durable[i] as server i+1's stable storage, as if a
// run had led there: every core is resumed (raft.Config.Resume) holding
// its view's term, vote, log, role, commit index, leader and candidate
// state, the network holds st.Network and st.Partition, and the history is
// st.History. Each server's state machine has applied its committed
// entries, a server's snapshot (View.SnapshotIndex) is the prefix of its
// log up to it, in the core and in storage, and the values in any log or
// message count as proposed. A
// check of every transition out of every reachable state restores the
// source state and takes one step, instead of replaying a path to it.
//
// Restore needs storage in memory (Options.Dir empty). It fails with
// ErrNotRestorable where the specification's state does not determine the
// implementation's: with pipelining on (which AppendEntries a leader has
// in flight to each peer is not in the view). After any
// other failure the cluster is in no defined state: restore it again or
// close it.
func (c *Cluster) Restore(st *spec.State, durable []spec.Durable) error {
	if err := c.restorable(st, durable); err != nil {
		return fmt.Errorf("cluster: restore: %w", err)
	}
	c.net = spec.Network{MaxCopies: c.opts.MaxCopies}
	clear(c.proposed)
	if len(c.restored) != c.n {
		c.restored = make([]restoredServer, c.n)
	}
	for i := range st.Servers {
		if err := c.restoreServer(&st.Servers[i], &durable[i]); err != nil {
			return fmt.Errorf("cluster: restore: %w", err)
		}
	}
	for _, f := range st.Network {
		for range f.Count {
			c.net.Send(f.Message)
		}
		for _, e := range f.Message.Entries {
			c.proposed[e.Value] = true
		}
	}
	if len(st.Partition) > 0 {
		if err := c.net.Partition(st.Partition); err != nil {
			return fmt.Errorf("cluster: restore: %w", err)
		}
	}
	c.history = st.History.Clone()
	return nil
}

// restorable reports why st cannot be restored, if it cannot.
func (c *Cluster) restorable(st *spec.State, durable []spec.Durable) error {
	switch {
	case c.closed:
		return ErrClosed
	case c.opts.Dir != "":
		return fmt.Errorf("%w: storage in write-ahead logs (Options.Dir); restore needs it in memory", ErrNotRestorable)
	case len(st.Servers) != c.n || len(durable) != c.n:
		return fmt.Errorf("%w: %d views and %d stable storages for a %d-server cluster", ErrNotRestorable, len(st.Servers), len(durable), c.n)
	}
	if cfg := c.coreConfig(); cfg.MaxInflight > 0 {
		return fmt.Errorf("%w: with pipelining (max inflight %d) a leader's AppendEntries in flight per peer are not in the specification's state", ErrNotRestorable, cfg.MaxInflight)
	}
	for i := range st.Servers {
		v, d := &st.Servers[i], &durable[i]
		if k := v.SnapshotIndex; k != d.SnapshotIndex || int(k) > len(v.Log) || int(k) > len(d.Log) || !slices.Equal(v.Log[:k], d.Log[:k]) {
			return fmt.Errorf("%w: %v: snapshot index %d in the view, %d on stable storage, over logs of %d and %d entries that differ below it",
				ErrNotRestorable, spec.ServerID(i+1), k, d.SnapshotIndex, len(v.Log), len(d.Log))
		}
	}
	return nil
}

// restoredServer is what Restore last put one server in: its core, and
// the view and stable storage it was resumed from (deep copies, buffers
// reused). touched is set by any step that reaches the core or its storage.
type restoredServer struct {
	node    *raft.Node
	view    spec.View
	durable spec.Durable
	touched bool
}

// touch records that a step reaches server id's core or storage, so that
// the next Restore rebuilds it.
func (c *Cluster) touch(id spec.ServerID) {
	if i := int(id) - 1; i >= 0 && i < len(c.restored) {
		c.restored[i].touched = true
	}
}

// restoreServer resumes server v.ID from its view and stable storage. A
// core that no step has touched since it was restored from the same view
// and storage is kept: a transition conformance run restores one state
// before each of its transitions, and a transition reaches one server, so
// the others need not be rebuilt (a core is a function of what it was
// resumed from and the steps it took).
func (c *Cluster) restoreServer(v *spec.View, d *spec.Durable) error {
	i := int(v.ID) - 1
	if i < 0 || i >= c.n {
		return fmt.Errorf("%w: view of server %d in a %d-server cluster", ErrNotRestorable, v.ID, c.n)
	}
	for _, e := range v.Log {
		c.proposed[e.Value] = true
	}
	rs := &c.restored[i]
	if rs.node != nil && rs.node == c.nodes[i] && !rs.touched && len(rs.view.Diff(v)) == 0 && len(rs.durable.Diff(d)) == 0 {
		return nil
	}
	rs.node = nil // until the core is rebuilt
	st := &memStorage{MemoryStorage: raft.NewMemoryStorage()}
	hs := raft.HardState{Term: d.Term, VotedFor: d.VotedFor}
	if err := st.Save(raft.Update{HardState: &hs, LogFrom: 1, Entries: slices.Clone(d.Log)}); err != nil {
		return fmt.Errorf("%v: storage: %w", v.ID, err)
	}
	k := v.SnapshotIndex // restorable: the same in d, with the same entries below it
	var snap raft.SnapshotMeta
	if k > 0 {
		snap = raft.SnapshotMeta{Index: k, Term: v.Log[k-1].Term, TermStart: termStart(v.Log[:k]), Config: snapshotConfig(v.Log[:k])}
		if err := st.SaveSnapshot(snap, d.Log[:k]); err != nil {
			return fmt.Errorf("%v: storage: %w", v.ID, err)
		}
	}
	c.stores[i], c.snaps[i] = st, slices.Clone(v.Log[:k])
	p := raft.Persistent{HardState: raft.HardState{Term: v.Term, VotedFor: v.VotedFor}, Snapshot: snap, Log: slices.Clone(v.Log[k:])}
	vol := &raft.Volatile{Role: v.Role, CommitIndex: v.CommitIndex, NextIndex: v.NextIndex, MatchIndex: v.MatchIndex, Votes: v.Votes}
	if err := c.newCore(v.ID, p, vol); err != nil {
		return err
	}
	c.applied[i] = slices.Clone(v.Log[:min(int(v.CommitIndex), len(v.Log))])
	rs.node, rs.touched = c.nodes[i], false
	copyView(&rs.view, v)
	rs.durable = spec.Durable{Term: d.Term, VotedFor: d.VotedFor, Log: append(rs.durable.Log[:0], d.Log...), SnapshotIndex: d.SnapshotIndex}
	return nil
}

// copyView makes dst a deep copy of src, reusing dst's slices (a nil slice
// of src may become an empty one, which View.Diff, comparing with
// slices.Equal, does not tell apart).
func copyView(dst, src *spec.View) {
	log, next, match, votes := dst.Log[:0], dst.NextIndex[:0], dst.MatchIndex[:0], dst.Votes[:0]
	*dst = *src
	dst.Log = append(log, src.Log...)
	dst.NextIndex = append(next, src.NextIndex...)
	dst.MatchIndex = append(match, src.MatchIndex...)
	dst.Votes = append(votes, src.Votes...)
}
