// Package cluster is the deterministic replay driver of raftcheck: N Raft
// cores (impl/raft) in one process over a controlled network that is, like
// the specification's, a multiset of messages in flight plus an optional
// partition. Every exported step is one action of spec/README.md: after the
// node acts, the harness handles every node's Ready exactly as production
// code must (persist, then send, then apply, then Advance), so the state
// after a step is the state after the spec action, comparable field by
// field with the model (Views, InFlight, State).
//
// Each server's state machine is the list of entries it applied, and its
// snapshot (the spec action Compact, or an InstallSnapshot delivered) is
// that list's prefix: a leader sends it as the specification's
// InstallSnapshot carries it, the views show it in front of the core's
// log, and storage keeps it with the log, so that a Restart starts from
// it.
package cluster

import (
	"errors"
	"fmt"
	"slices"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/spec"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrNotEnabled: the implementation cannot take the step, because its
	// guard does not hold here (the message is not in flight or crosses the
	// partition, the server is not a leader, ...) or because the core
	// refused it. A replayer reports it as a missing action. The cluster is
	// unchanged.
	// It is spec.ErrNotEnabled, which spec.Network wraps.
	ErrNotEnabled = spec.ErrNotEnabled
	// ErrInvalidAction: the action is malformed for this cluster (unknown
	// kind, server out of range, bad groups). The cluster is unchanged.
	ErrInvalidAction = errors.New("invalid action")
	// ErrClosed: the cluster has been closed.
	ErrClosed = errors.New("cluster closed")
)

// Options configure a Cluster. The zero value runs every core on the replay
// path (no production features) with storage in memory.
type Options struct {
	// Dir, if set, keeps each server's persistent state in a write-ahead log
	// (impl/wal) in Dir/S1, Dir/S2, ..., closed and reopened from disk by
	// Restart; otherwise it is kept in memory. Either way exactly what the
	// core asked to persist survives Restart.
	Dir string
	// Faults are the test-only seeded bugs of every core, switched on
	// through raft.NewWithFaults at every start, Restart included. They are
	// compiled only with -tags raftfaults: without the tag New fails with
	// raft.ErrFaultsNotCompiled for any fault.
	Faults raft.Faults
	// MaxCopies, if positive, bounds the copies of one message in flight: a
	// message sent while MaxCopies copies of it are in flight is absorbed,
	// as in the model (spec/README.md, Actions). Duplicate is not bounded.
	MaxCopies int
	// Configure, if set, adjusts each core's configuration before it is
	// built, e.g. to turn production features on. ID, Servers and Restore
	// are set by the cluster.
	Configure func(*raft.Config)
	// Clock, if set, drives Timeout and Heartbeat as the runtime does, by
	// ticks of the core's logical clock (raft.Node.Tick): Timeout(i) ticks
	// server i until its randomized election timeout fires, Heartbeat(i)
	// ticks leader i until its heartbeat interval has elapsed. Otherwise
	// they call Campaign and Heartbeat. Either is the same step of the
	// specification, so conformance with Clock checks the timer code too.
	Clock bool
	// Initial, if set, is the initial configuration of every core
	// (raft.Config.Initial): the servers outside it are joiners, which a
	// leader's AddServer or AddLearner brings in. Setting it also turns on
	// the history's record of each committed entry's quorum
	// (spec.History.Members), as the model does with membership changes.
	// The zero value makes every server a voter.
	Initial spec.Configuration
	// Timers, if positive, drives the cores' timers as the model does with
	// its timers on (model/timers.go): a fixed election timeout of
	// Timers+1 ticks (not randomised), a heartbeat at every tick of a
	// leader, the spec action Tick(id) one raft.Node.Tick of server id, and
	// Timeout(id) the one tick that fires an expired timer (the model's
	// timer has counted Timers ticks; the core's electionElapsed is then
	// Timers, and one more tick campaigns). See clock.go.
	Timers int
}

// Cluster is N cores over a controlled network; servers are 1..N. Every
// method is one step: it either happens completely or returns an error
// and changes nothing (except a storage failure, which is reported as
// such). A Cluster is not safe for concurrent use.
type Cluster struct {
	n        int
	opts     Options
	nodes    []*raft.Node // server id-1
	stores   []storage
	applied  [][]spec.Entry // each server's state machine: its snapshot's entries, then those applied since
	snaps    [][]spec.Entry // each server's snapshot: the entries it covers (nil without one)
	net      spec.Network
	proposed map[spec.Value]bool
	history  spec.History
	closed   bool
	// restored is what Restore last put each server in, so that the next
	// Restore can keep a core no step has touched since (restore.go).
	restored []restoredServer
}

// New starts a cluster of n fresh servers.
func New(n int, opts Options) (*Cluster, error) {
	if n < 1 || n > spec.MaxServers {
		return nil, fmt.Errorf("cluster: %w: %d servers (want 1..%d)", ErrInvalidAction, n, spec.MaxServers)
	}
	if err := opts.Faults.Validate(); err != nil {
		return nil, fmt.Errorf("cluster: %w", err) // before any storage is created
	}
	c := &Cluster{n: n, opts: opts, nodes: make([]*raft.Node, n), stores: make([]storage, n),
		applied: make([][]spec.Entry, n), snaps: make([][]spec.Entry, n), proposed: map[spec.Value]bool{}, net: spec.Network{MaxCopies: opts.MaxCopies}}
	c.history.Members = opts.Initial.Voters
	for i := range n {
		st, err := openStorage(opts.Dir, spec.ServerID(i+1))
		if err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("cluster: %w", err)
		}
		c.stores[i] = st
		if err := c.start(spec.ServerID(i + 1)); err != nil {
			_ = c.Close()
			return nil, err
		}
	}
	return c, nil
}

// start builds server id's core from its storage, its state machine
// restored from the snapshot there.
func (c *Cluster) start(id spec.ServerID) error {
	p, err := c.stores[id-1].Load()
	if err != nil {
		return fmt.Errorf("cluster: %v: load: %w", id, err)
	}
	data, err := c.stores[id-1].SnapshotData()
	if err != nil {
		return fmt.Errorf("cluster: %v: load snapshot: %w", id, err)
	}
	if spec.Index(len(data)) != p.Snapshot.Index {
		return fmt.Errorf("cluster: %v: storage holds a snapshot at %d with data of %d entries", id, p.Snapshot.Index, len(data))
	}
	p.Snapshot.TermStart = termStart(data) // the WAL does not keep it
	if err := c.newCore(id, p, nil); err != nil {
		return err
	}
	c.snaps[id-1], c.applied[id-1] = data, slices.Clone(data)
	return nil
}

// newCore builds server id's core holding the persistent state p, resumed
// in the volatile state resume if it is not nil (Restore).
func (c *Cluster) newCore(id spec.ServerID, p raft.Persistent, resume *raft.Volatile) error {
	cfg := c.coreConfig()
	cfg.ID, cfg.Servers, cfg.Restore, cfg.Resume = id, c.n, p, resume
	cfg.Initial = c.opts.Initial
	// Without faults, the production constructor is the one replayed.
	newNode := raft.New
	if c.opts.Faults.Any() {
		newNode = func(cfg raft.Config) (*raft.Node, error) { return raft.NewWithFaults(cfg, c.opts.Faults) }
	}
	r, err := newNode(cfg)
	if err != nil {
		return fmt.Errorf("cluster: %v: %w", id, err)
	}
	c.nodes[id-1] = r
	return nil
}

// coreConfig is every core's configuration as Options.Configure makes
// it, before the cluster sets the server's own fields.
func (c *Cluster) coreConfig() raft.Config {
	var cfg raft.Config
	if c.opts.Configure != nil {
		c.opts.Configure(&cfg)
	}
	if c.opts.Timers > 0 {
		cfg.ElectionTick, cfg.HeartbeatTick = c.opts.Timers+1, 1
		cfg.Rand = func(int) int { return 0 } // fixed timeouts, as the model's
	}
	return cfg
}

// Size returns the number of servers.
func (c *Cluster) Size() int { return c.n }

// Apply takes one action of the shared vocabulary.
func (c *Cluster) Apply(a spec.Action) error {
	if err := a.Validate(c.n); err != nil {
		return fmt.Errorf("cluster: %v: %w: %w", a, ErrInvalidAction, err)
	}
	switch a.Kind {
	case spec.Timeout:
		return c.Timeout(a.Server)
	case spec.Heartbeat:
		return c.Heartbeat(a.Server)
	case spec.ClientRequest:
		return c.Propose(a.Server, a.Value)
	case spec.Deliver:
		return c.Deliver(*a.Message)
	case spec.Drop:
		return c.Drop(*a.Message)
	case spec.Duplicate:
		return c.Duplicate(*a.Message)
	case spec.Partition:
		return c.Partition(a.Groups)
	case spec.Heal:
		return c.Heal()
	case spec.Restart:
		return c.Restart(a.Server)
	case spec.Compact:
		return c.Compact(a.Server)
	case spec.AddServer, spec.RemoveServer, spec.AddLearner:
		return c.ChangeConfig(a.Server, raft.ConfChange{Kind: a.Kind, Target: a.Target})
	case spec.EnterJoint:
		return c.ChangeConfig(a.Server, raft.ConfChange{Kind: a.Kind, Voters: a.Config})
	case spec.LeaveJoint:
		return c.ChangeConfig(a.Server, raft.ConfChange{Kind: a.Kind})
	case spec.Tick:
		return c.Tick(a.Server)
	case spec.Wipe:
		// The model enables it only under its seeded bug rejoin-blank-disk:
		// a removed server's id is retired, never reused by a blank disk.
		return fmt.Errorf("cluster: %v: %w: a removed server's id is retired; the harness never brings a blank disk back under it", a, ErrNotEnabled)
	}
	return fmt.Errorf("cluster: %v: %w: unknown kind", a, ErrInvalidAction) // unreachable after Validate
}

// Timeout is the spec action Timeout(id): id's election timeout fires.
func (c *Cluster) Timeout(id spec.ServerID) error {
	if c.opts.Timers > 0 {
		return c.nodeStep("Timeout", id, c.tickToCampaign)
	}
	if c.opts.Clock {
		return c.nodeStep("Timeout", id, c.tickUntilCampaign)
	}
	return c.nodeStep("Timeout", id, (*raft.Node).Campaign)
}

// Heartbeat is the spec action Heartbeat(id): leader id sends AppendEntries
// to every other server.
func (c *Cluster) Heartbeat(id spec.ServerID) error {
	if c.opts.Clock {
		return c.nodeStep("Heartbeat", id, c.tickUntilHeartbeat)
	}
	return c.nodeStep("Heartbeat", id, (*raft.Node).Heartbeat)
}

// Propose is the spec action ClientRequest(id, v): leader id appends v. As
// the spec's guard says, a value can be proposed only once per cluster.
func (c *Cluster) Propose(id spec.ServerID, v spec.Value) error {
	if v == "" {
		return fmt.Errorf("cluster: ClientRequest(%v): %w: empty value", id, ErrInvalidAction)
	}
	if c.proposed[v] {
		return fmt.Errorf("cluster: ClientRequest(%v, %q): %w: value already proposed", id, v, ErrNotEnabled)
	}
	err := c.nodeStep(fmt.Sprintf("ClientRequest(%q)", v), id, func(r *raft.Node) error { return r.Propose(v) })
	if err == nil {
		c.proposed[v] = true
	}
	return err
}

// ChangeConfig is the spec action AddServer, RemoveServer, AddLearner,
// EnterJoint or LeaveJoint of leader id: its core appends the
// configuration entry of ch if the change's guards hold
// (raft.Node.ProposeConfChange; ErrNotEnabled with the core's reason
// otherwise).
func (c *Cluster) ChangeConfig(id spec.ServerID, ch raft.ConfChange) error {
	return c.nodeStep(ch.String(), id, func(r *raft.Node) error { return r.ProposeConfChange(ch) })
}

// nodeStep runs one input on server id's core and settles the cluster.
func (c *Cluster) nodeStep(what string, id spec.ServerID, f func(*raft.Node) error) error {
	if err := c.usable(); err != nil {
		return err
	}
	if id == spec.None || int(id) > c.n {
		return fmt.Errorf("cluster: %s: %w: %d is not a server of a %d-server cluster", what, ErrInvalidAction, id, c.n)
	}
	c.touch(id)
	if err := f(c.nodes[id-1]); err != nil {
		return fmt.Errorf("cluster: %s on %v: %w: %w", what, id, ErrNotEnabled, err)
	}
	return c.settle()
}

// Compact is the spec action Compact(id): server id snapshots its
// committed log. The core discards the entries up to its commit index
// (raft.Node.Compact), and storage keeps the snapshot — those entries,
// the state machine's prefix — in their place. It fails with
// ErrNotEnabled when nothing is committed beyond the snapshot.
func (c *Cluster) Compact(id spec.ServerID) error {
	if err := c.usable(); err != nil {
		return err
	}
	if id == spec.None || int(id) > c.n {
		return fmt.Errorf("cluster: Compact: %w: %d is not a server of a %d-server cluster", ErrInvalidAction, id, c.n)
	}
	r, i := c.nodes[id-1], id-1
	to := r.Status().CommitIndex
	if int(to) > len(c.applied[i]) {
		return fmt.Errorf("cluster: Compact(%v): %w: commit index %d beyond the %d entries applied", id, ErrNotEnabled, to, len(c.applied[i]))
	}
	c.touch(id)
	if err := r.Compact(to); err != nil {
		return fmt.Errorf("cluster: Compact(%v): %w: %w", id, ErrNotEnabled, err)
	}
	snap := r.Status().Snapshot
	data := slices.Clone(c.applied[i][:to])
	if err := c.stores[i].SaveSnapshot(snap, data); err != nil {
		return fmt.Errorf("cluster: Compact(%v): persist: %w", id, err)
	}
	c.snaps[i] = data
	return c.settle()
}

// Deliver is the spec action Deliver(m): one copy of m leaves the network
// and its receiver handles it. It fails with ErrNotEnabled if m is not in
// flight, crosses the partition, or is refused by the receiver.
func (c *Cluster) Deliver(m spec.Message) error {
	if err := c.inFlight("Deliver", &m); err != nil {
		return err
	}
	if !c.net.SameSide(m.From, m.To) {
		return fmt.Errorf("cluster: Deliver(%v): %w: %v and %v are on different sides of the partition %s",
			m, ErrNotEnabled, m.From, m.To, spec.FormatGroups(c.net.Groups()))
	}
	c.touch(m.To)
	if m.Type == spec.InstallSnapshot {
		return c.installSnapshot(m)
	}
	if err := c.nodes[m.To-1].Step(m); err != nil {
		return fmt.Errorf("cluster: Deliver(%v): %w: %w", m, ErrNotEnabled, err)
	}
	if err := c.net.Take(m); err != nil {
		return fmt.Errorf("cluster: Deliver(%v): %w", m, err)
	}
	return c.settle()
}

// installSnapshot delivers an InstallSnapshot, whole (the specification
// sends it in one message): the core applies Figure 13's rules
// (raft.Node.InstallSnapshot) and, if it installs the snapshot, storage
// makes it durable and the state machine is restored from it before the
// acknowledgement is sent.
func (c *Cluster) installSnapshot(m spec.Message) error {
	i := m.To - 1
	snap := raft.SnapshotMeta{Index: m.LastIncludedIndex, Term: m.LastIncludedTerm, TermStart: termStart(m.Entries), Config: snapshotConfig(m.Entries)}
	install, err := c.nodes[i].InstallSnapshot(m.From, m.Term, snap)
	if err != nil {
		return fmt.Errorf("cluster: Deliver(%v): %w: %w", m, ErrNotEnabled, err)
	}
	if err := c.net.Take(m); err != nil {
		return fmt.Errorf("cluster: Deliver(%v): %w", m, err)
	}
	if install {
		data := slices.Clone(m.Entries)
		if err := c.stores[i].SaveSnapshot(snap, data); err != nil {
			return fmt.Errorf("cluster: Deliver(%v): persist: %w", m, err)
		}
		c.snaps[i], c.applied[i] = data, slices.Clone(data)
	}
	return c.settle()
}

// Drop is the spec action Drop(m): one copy of m is lost.
func (c *Cluster) Drop(m spec.Message) error {
	if err := c.inFlight("Drop", &m); err != nil {
		return err
	}
	if err := c.net.Drop(m); err != nil {
		return fmt.Errorf("cluster: Drop(%v): %w", m, err)
	}
	return c.settle()
}

// Duplicate is the spec action Duplicate(m): one more copy of m is in
// flight.
func (c *Cluster) Duplicate(m spec.Message) error {
	if err := c.inFlight("Duplicate", &m); err != nil {
		return err
	}
	if err := c.net.Duplicate(m); err != nil {
		return fmt.Errorf("cluster: Duplicate(%v): %w", m, err)
	}
	return c.settle()
}

// Partition is the spec action Partition(groups): the network, whole
// before, is split; messages between groups stay in flight but cannot be
// delivered until Heal.
func (c *Cluster) Partition(groups [][]spec.ServerID) error {
	if err := c.usable(); err != nil {
		return err
	}
	if err := spec.ValidateGroups(groups, c.n); err != nil {
		return fmt.Errorf("cluster: Partition: %w: %w", ErrInvalidAction, err)
	}
	if err := c.net.Partition(groups); err != nil {
		return fmt.Errorf("cluster: Partition(%s): %w", spec.FormatGroups(groups), err)
	}
	return c.settle()
}

// Heal is the spec action Heal: the partitioned network is whole again.
func (c *Cluster) Heal() error {
	if err := c.usable(); err != nil {
		return err
	}
	if err := c.net.Heal(); err != nil {
		return fmt.Errorf("cluster: Heal: %w", err)
	}
	return c.settle()
}

// Restart is the spec action Restart(id): the server crashes and its core
// is rebuilt from its storage (reopened from disk with Options.Dir), so
// only what it persisted survives. Messages in flight are unaffected.
func (c *Cluster) Restart(id spec.ServerID) error {
	if err := c.usable(); err != nil {
		return err
	}
	if id == spec.None || int(id) > c.n {
		return fmt.Errorf("cluster: Restart: %w: %d is not a server of a %d-server cluster", ErrInvalidAction, id, c.n)
	}
	c.touch(id)
	if err := c.stores[id-1].Reopen(); err != nil {
		return fmt.Errorf("cluster: Restart(%v): %w", id, err)
	}
	if err := c.start(id); err != nil {
		return err
	}
	return c.settle()
}

// Durable returns what every server's storage holds now (Durable()[i] is
// server i+1): the term, vote and log it persisted and its snapshot's last
// index, the log as the specification has it: the snapshot's entries, then
// the log after it.
func (c *Cluster) Durable() ([]spec.Durable, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	out := make([]spec.Durable, c.n)
	for i, st := range c.stores {
		p, err := st.Load()
		if err != nil {
			return nil, fmt.Errorf("cluster: %v: load: %w", spec.ServerID(i+1), err)
		}
		data, err := st.SnapshotData()
		if err != nil {
			return nil, fmt.Errorf("cluster: %v: load snapshot: %w", spec.ServerID(i+1), err)
		}
		out[i] = spec.Durable{Term: p.Term, VotedFor: p.VotedFor, Log: append(data, p.Log...), SnapshotIndex: p.Snapshot.Index}
	}
	return out, nil
}

// Views returns every server's observable state; Views()[i] is server i+1.
// As in the specification, a server's log lists the entries its snapshot
// covers (the snapshot's data) before the core's log after the snapshot,
// and SnapshotIndex is where the core's log starts.
func (c *Cluster) Views() []spec.View {
	vs := make([]spec.View, c.n)
	for i, r := range c.nodes {
		vs[i] = r.View()
		if snap := r.Status().Snapshot; snap.Index > 0 || len(c.snaps[i]) > 0 {
			vs[i].Log = append(slices.Clone(c.snaps[i]), vs[i].Log...)
			vs[i].SnapshotIndex = snap.Index
		}
	}
	return vs
}

// InFlight returns the messages in flight with their counts, in the
// canonical order of spec.SortInFlight (nil when there are none).
func (c *Cluster) InFlight() []spec.InFlight { return c.net.InFlight() }

// Groups returns the partition (normalized as in spec.State.Partition), or
// nil when the network is whole.
func (c *Cluster) Groups() [][]spec.ServerID { return c.net.Groups() }

// Applied returns the entries server id's state machine holds, in index
// order: those its snapshot covers (restored at a start or an install),
// then those it applied since.
func (c *Cluster) Applied(id spec.ServerID) []spec.Entry {
	if id == spec.None || int(id) > c.n {
		return nil
	}
	return slices.Clone(c.applied[id-1])
}

// State returns the whole cluster in the vocabulary of spec, with the
// history kept by spec.History.Observe after every step, so that the
// properties (spec.Invariants, spec.TransitionProperties) can be checked
// on the implementation exactly as on the model.
func (c *Cluster) State() spec.State {
	s := spec.State{Servers: c.Views(), Network: c.InFlight(), Partition: c.Groups(), History: c.history.Clone()}
	if len(s.Network) == 0 {
		s.Network = nil
	}
	return s
}

// Close releases the storage. The cluster cannot be used afterwards.
func (c *Cluster) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	var errs []error
	for i, st := range c.stores {
		if st != nil {
			if err := st.Close(); err != nil {
				errs = append(errs, fmt.Errorf("cluster: close storage of %v: %w", spec.ServerID(i+1), err))
			}
		}
	}
	return errors.Join(errs...)
}

func (c *Cluster) usable() error {
	if c.closed {
		return fmt.Errorf("cluster: %w", ErrClosed)
	}
	return nil
}

// inFlight checks that the cluster is usable and m is in flight.
func (c *Cluster) inFlight(what string, m *spec.Message) error {
	if err := c.usable(); err != nil {
		return err
	}
	if !c.net.Has(*m) {
		return fmt.Errorf("cluster: %s(%v): %w: message not in flight", what, *m, ErrNotEnabled)
	}
	return nil
}

// sendSnapshots sends the snapshot of leader r, server id, to each peer of
// peers (Ready.Snapshots), as the specification's InstallSnapshot: the
// leader's term, the snapshot's last included index and term, and its data.
func (c *Cluster) sendSnapshots(r *raft.Node, id spec.ServerID, peers []spec.ServerID) error {
	if len(peers) == 0 {
		return nil
	}
	st, data := r.Status(), c.snaps[id-1]
	if err := checkSnapshotData(st.Snapshot, data); err != nil {
		return fmt.Errorf("cluster: %v: send snapshot: %w", id, err)
	}
	for _, j := range peers {
		c.net.Send(spec.Message{Type: spec.InstallSnapshot, From: id, To: j, Term: st.Term,
			LastIncludedIndex: st.Snapshot.Index, LastIncludedTerm: st.Snapshot.Term, Entries: slices.Clone(data)})
	}
	return nil
}

// settle handles every node's Ready as production code must: persist the
// update, then send the messages, then apply the committed entries, then
// Advance. It ends the step by updating the history.
func (c *Cluster) settle() error {
	for i, r := range c.nodes {
		if !r.HasReady() {
			continue
		}
		id := spec.ServerID(i + 1)
		c.touch(id)
		rd := r.Ready()
		if err := c.stores[i].Save(rd.Update); err != nil {
			return fmt.Errorf("cluster: %v: persist: %w", id, err)
		}
		for _, m := range rd.Messages {
			c.net.Send(m)
		}
		if err := c.sendSnapshots(r, id, rd.Snapshots); err != nil {
			return err
		}
		if len(rd.CommittedEntries) > 0 {
			if int(rd.CommitFrom) != len(c.applied[i])+1 {
				return fmt.Errorf("cluster: %v: committed entries start at %d after %d applied", id, rd.CommitFrom, len(c.applied[i]))
			}
			c.applied[i] = append(c.applied[i], rd.CommittedEntries...)
		}
		if err := r.Advance(rd); err != nil {
			return fmt.Errorf("cluster: %v: %w", id, err)
		}
	}
	c.history.Observe(c.Views())
	return nil
}
