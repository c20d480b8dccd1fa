package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/impl/transport"
	"github.com/raftcheck/raftcheck/spec"
)

// Membership changes at run time (thesis §4). The core decides what a
// change means; the node proposes it, waits until it is applied, and
// keeps the transport's peers in step: a server whose address is known
// is a peer, until a committed configuration no longer has it as a member
// (then its connections are closed and its hello refused; a later
// configuration that has it again makes it a peer again).

// ErrChangeLost is returned by ChangeMembership when the configuration
// entry it appended was overwritten by another leader's entry before it
// committed: the change did not happen.
var ErrChangeLost = errors.New("the configuration entry was overwritten before it committed")

// ErrChangeUnknown is returned by ChangeMembership when the node replaced
// its state by a snapshot that covers the entry, so it cannot tell
// whether its entry or another one committed: read Configuration.
var ErrChangeUnknown = errors.New("the configuration entry was covered by an installed snapshot; its outcome is unknown")

// changeRetry is how often ChangeMembership retries a transient refusal.
const changeRetry = 10 * time.Millisecond

type confProposal struct {
	c    raft.ConfChange
	errc chan error // the core's answer
	done chan error // once the entry is applied (nil) or lost
	at   spec.Index // set by the loop on success
	term spec.Term  // the term of the entry
}

// ChangeMembership proposes membership change c and waits until its
// configuration entry is committed and applied here, or ctx ends. It
// retries while the refusal is transient: the leader has not committed
// an entry of its term yet (raft.ErrNoTermCommit), or c promotes a
// learner that has not caught up with the leader's commit index. Other
// refusals are returned at once: a *raft.NotLeaderError, an error
// wrapping raft.ErrChangeInProgress, or a *raft.BadChangeError. After a
// proposal, ErrChangeLost or ErrChangeUnknown report an entry that did
// not (or may not have) committed; a ctx error wraps the last refusal.
func (n *Node) ChangeMembership(ctx context.Context, c raft.ConfChange) error {
	for {
		p, err := n.proposeChange(ctx, c)
		if err == nil {
			return n.awaitChange(ctx, p)
		}
		if !transientChangeError(c, err) {
			return err
		}
		select {
		case <-time.After(changeRetry):
		case <-ctx.Done():
			return fmt.Errorf("%w (last refusal: %v)", ctx.Err(), err)
		case <-n.done:
			return ErrStopped
		}
	}
}

// transientChangeError reports a refusal that goes away by itself: no
// commit of the leader's term yet, or a learner still catching up (the
// only reason the core refuses AddServer of a learner outside a joint
// change).
func transientChangeError(c raft.ConfChange, err error) bool {
	if errors.Is(err, raft.ErrNoTermCommit) {
		return true
	}
	var bad *raft.BadChangeError
	return errors.As(err, &bad) && c.Kind == spec.AddServer && bad.Config.Learners.Has(c.Target) && !bad.Config.Joint()
}

// proposeChange hands c to the loop and returns the proposal once the
// core has taken it, or the core's refusal.
func (n *Node) proposeChange(ctx context.Context, c raft.ConfChange) (*confProposal, error) {
	p := &confProposal{c: c, errc: make(chan error, 1), done: make(chan error, 1)}
	select {
	case n.confc <- p:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-n.done:
		return nil, ErrStopped
	}
	select {
	case err := <-p.errc:
		return p, err
	case <-n.done:
		return nil, ErrStopped
	}
}

func (n *Node) awaitChange(ctx context.Context, p *confProposal) error {
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%v appended at index %d, not applied yet: %w", p.c, p.at, ctx.Err())
	case <-n.done:
		return ErrStopped
	}
}

// takeChange runs on the loop: it proposes p to the core and, if the core
// appended the entry, remembers where, to answer p once it is applied.
func (n *Node) takeChange(p *confProposal) {
	if err := n.core.ProposeConfChange(p.c); err != nil {
		p.errc <- err
		return
	}
	st := n.core.Status()
	p.at, p.term = st.LastIndex, st.Term
	n.changes[p.at] = p
	p.errc <- nil
}

// appliedEntry runs on the loop for every entry applied: it answers the
// change waiting for index i and follows a configuration entry.
func (n *Node) appliedEntry(i spec.Index, e spec.Entry) {
	if p, ok := n.changes[i]; ok {
		delete(n.changes, i)
		var err error
		if e.Term != p.term || e.Config == 0 {
			err = fmt.Errorf("%v at index %d: %w", p.c, i, ErrChangeLost)
		}
		n.finished = append(n.finished, finishedChange{p, err})
	}
	if e.Config != 0 {
		n.setAppliedConfig(e.Configuration())
	}
}

// finishedChange is a change whose entry was applied (err nil) or lost,
// answered once the status that shows it is published.
type finishedChange struct {
	p   *confProposal
	err error
}

// answerChanges answers the changes finished since the last call; the
// loop calls it after publishing the status, so that a caller sees the
// new configuration, committed, in Status as soon as it is answered.
func (n *Node) answerChanges() {
	for _, f := range n.finished {
		f.p.done <- f.err
	}
	n.finished = n.finished[:0]
}

// installedSnapshot runs on the loop after a snapshot up to index was
// installed: changes it covers have an unknown outcome.
func (n *Node) installedSnapshot(index spec.Index, c spec.Configuration) {
	for i, p := range n.changes {
		if i <= index {
			delete(n.changes, i)
			p.done <- fmt.Errorf("%v at index %d: %w", p.c, i, ErrChangeUnknown)
		}
	}
	if c != (spec.Configuration{}) {
		n.setAppliedConfig(c)
	}
}

// Configuration returns the node's configuration in effect (the last
// configuration entry in its log, committed or not), as of its last loop
// iteration.
func (n *Node) Configuration() spec.Configuration { return n.Status().Config }

// SetPeer sets the Raft address of server id. Unless a committed
// configuration has removed id, it becomes a peer of the transport at
// once. It is safe to call from any goroutine, the state machine's Apply
// included (so an address table replicated through the log can feed it).
func (n *Node) SetPeer(id spec.ServerID, addr string) error {
	if id == n.cfg.ID {
		return nil // the own address is the listener's
	}
	n.peerMu.Lock()
	defer n.peerMu.Unlock()
	n.addrs[id] = addr
	if n.removed.Has(id) {
		return nil
	}
	return n.tr.SetPeer(id, addr)
}

// setAppliedConfig follows a committed configuration: the servers that
// were members and are no longer stop being peers (their connections
// close), and members that had been removed are peers again.
func (n *Node) setAppliedConfig(c spec.Configuration) {
	n.peerMu.Lock()
	defer n.peerMu.Unlock()
	members := c.Members()
	gone := n.applied.Members() &^ members
	n.applied = c
	for _, id := range gone.IDs() {
		if id != n.cfg.ID && !n.removed.Has(id) {
			n.removed |= 1 << (id - 1)
			if n.tr.RemovePeer(id) {
				n.cfg.Logf("raft node %v: %v is no longer a member (%v): connections closed", n.cfg.ID, id, c)
			}
		}
	}
	n.readmit(members)
}

// readmit makes the removed servers among members peers again. n.peerMu
// is held.
func (n *Node) readmit(members spec.Members) {
	for _, id := range (n.removed & members).IDs() {
		n.removed &^= 1 << (id - 1)
		if addr, ok := n.addrs[id]; ok {
			if err := n.tr.SetPeer(id, addr); err != nil && !errors.Is(err, transport.ErrClosed) {
				n.cfg.Logf("raft node %v: peer %v: %v", n.cfg.ID, id, err)
			}
		}
	}
}

// followConfig runs on the loop after each Ready: a removed server that
// the configuration in effect has again (appended, maybe not committed)
// is a peer again at once, since the leader may need its acknowledgement
// to commit that very entry.
func (n *Node) followConfig(c spec.Configuration) {
	n.peerMu.Lock()
	defer n.peerMu.Unlock()
	if n.removed&c.Members() != 0 {
		n.readmit(c.Members())
	}
}
