package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/raftcheck/raftcheck/impl/kv"
	"github.com/raftcheck/raftcheck/impl/node"
	rcraft "github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/impl/wal"
	"github.com/raftcheck/raftcheck/spec"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
)

// etcdNode runs one go.etcd.io/raft/v3 RawNode with the runtime design of
// impl/node, so that only the Raft library differs: one goroutine owns the
// core; each iteration takes one input, then every queued message and
// proposal (up to maxDrain), and handles one Ready: AppendEntries (and
// heartbeats) are sent before the leader's own fsync, the committed
// entries already on disk are applied before it, the Ready is written to
// impl/wal with one Save (one fsync), then the other messages are sent
// and the remaining committed entries applied. The state machine is
// impl/kv's Store, snapshotted every snapshotEntries entries with half of
// them kept in the log, as impl/node does. It implements kv.Raft, so the
// clients go through the same kv.Server.Do as raftkv's.
type etcdNode struct {
	id    uint64
	rn    *raft.RawNode
	ms    *raft.MemoryStorage
	w     *wal.WAL
	tr    *etcdTransport
	store *kv.Store

	recvc chan pb.Message
	propc chan etcdProposal
	stop  chan struct{}
	done  chan struct{}
	err   error

	role     atomic.Int32 // spec.Role of the last iteration
	snapshot uint64       // index of the last state machine snapshot
	conf     pb.ConfState // the configuration (the benchmark changes none)
}

type etcdProposal struct {
	data []byte
	errc chan error
}

const (
	maxDrain        = 4096  // as impl/node
	snapshotEntries = 10000 // as impl/node's default
)

var errNotLeader = errors.New("not the leader")

// startEtcdNode starts server id of n on ln with its WAL in dir.
func startEtcdNode(id uint64, n int, ln net.Listener, dir string, store *kv.Store) (*etcdNode, error) {
	w, _, err := wal.Open(dir, wal.Options{Logf: func(string, ...any) {}})
	if err != nil {
		return nil, fmt.Errorf("etcd node %d: %w", id, err)
	}
	// The initial configuration is a snapshot at index 1 (as etcd's own
	// tests bootstrap), in the WAL too so that entry 2 follows it.
	voters := make([]uint64, n)
	for k := range voters {
		voters[k] = uint64(k + 1)
	}
	ms := raft.NewMemoryStorage()
	boot := pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 1, Term: 1, ConfState: pb.ConfState{Voters: voters}}}
	if err := ms.ApplySnapshot(boot); err != nil {
		return nil, fmt.Errorf("etcd node %d: bootstrap: %w", id, err)
	}
	if err := w.SaveSnapshot(wal.Snapshot{Index: 1, Term: 1}); err != nil {
		return nil, fmt.Errorf("etcd node %d: bootstrap: %w", id, err)
	}
	rn, err := raft.NewRawNode(&raft.Config{
		ID: id, ElectionTick: 10, HeartbeatTick: 2, Storage: ms, Applied: 1,
		MaxSizePerMsg: 1 << 20, MaxInflightMsgs: 64, PreVote: true, CheckQuorum: true,
		DisableProposalForwarding: true, Logger: discardLogger{},
	})
	if err != nil {
		return nil, fmt.Errorf("etcd node %d: %w", id, err)
	}
	e := &etcdNode{id: id, rn: rn, ms: ms, w: w, store: store,
		recvc: make(chan pb.Message, 4096), propc: make(chan etcdProposal, 1024),
		stop: make(chan struct{}), done: make(chan struct{}), snapshot: 1, conf: boot.Metadata.ConfState}
	e.tr = newEtcdTransport(id, ln, e.receive)
	go e.run()
	return e, nil
}

func (e *etcdNode) receive(m pb.Message) {
	select {
	case e.recvc <- m:
	case <-e.stop:
	}
}

func (e *etcdNode) run() {
	e.err = e.loop()
	if err := e.tr.close(); err != nil && e.err == nil {
		e.err = err
	}
	if err := e.w.Close(); err != nil && e.err == nil {
		e.err = err
	}
	close(e.done)
}

func (e *etcdNode) loop() error {
	ticker := time.NewTicker(10 * time.Millisecond)
	defer ticker.Stop()
	for {
		select {
		case <-e.stop:
			return nil
		case <-ticker.C:
			e.rn.Tick()
		case m := <-e.recvc:
			_ = e.rn.Step(m) // a refused message is dropped, as impl/node does
		case p := <-e.propc:
			p.errc <- e.propose(p.data)
		}
	drain:
		for range maxDrain {
			select {
			case m := <-e.recvc:
				_ = e.rn.Step(m)
			case p := <-e.propc:
				p.errc <- e.propose(p.data)
			default:
				break drain
			}
		}
		if e.rn.HasReady() {
			if err := e.handleReady(); err != nil {
				return err
			}
		}
	}
}

func (e *etcdNode) propose(data []byte) error {
	if e.rn.BasicStatus().RaftState != raft.StateLeader {
		return errNotLeader
	}
	return e.rn.Propose(data)
}

// handleReady is impl/node's handleReady for an etcd Ready.
func (e *etcdNode) handleReady() error {
	rd := e.rn.Ready()
	if rd.SoftState != nil {
		e.role.Store(int32(roleOf(rd.SoftState.RaftState)))
	}
	var after []pb.Message
	var before []pb.Message
	for _, m := range rd.Messages {
		if m.Type == pb.MsgApp || m.Type == pb.MsgHeartbeat {
			before = append(before, m)
		} else {
			after = append(after, m)
		}
	}
	e.tr.send(before)
	durable := len(rd.CommittedEntries)
	if len(rd.Entries) > 0 {
		for k, c := range rd.CommittedEntries {
			if c.Index >= rd.Entries[0].Index {
				durable = k
				break
			}
		}
	}
	e.apply(rd.CommittedEntries[:durable])
	if err := e.save(&rd); err != nil {
		return err
	}
	e.tr.send(after)
	e.apply(rd.CommittedEntries[durable:])
	e.rn.Advance(rd)
	return e.maybeSnapshot()
}

// save writes rd's hard state and entries with one WAL Save (one fsync),
// then hands them to the MemoryStorage.
func (e *etcdNode) save(rd *raft.Ready) error {
	if !raft.IsEmptySnap(rd.Snapshot) {
		if err := e.installSnapshot(rd.Snapshot); err != nil {
			return err
		}
	}
	var hs *wal.HardState
	if !raft.IsEmptyHardState(rd.HardState) {
		hs = &wal.HardState{Term: spec.Term(rd.HardState.Term), VotedFor: spec.ServerID(rd.HardState.Vote)}
		if err := e.ms.SetHardState(rd.HardState); err != nil {
			return fmt.Errorf("etcd node %d: %w", e.id, err)
		}
	}
	var first spec.Index
	entries := make([]spec.Entry, len(rd.Entries))
	for k, x := range rd.Entries {
		entries[k] = spec.Entry{Term: spec.Term(x.Term), Value: spec.Value(x.Data)}
	}
	if len(entries) > 0 {
		first = spec.Index(rd.Entries[0].Index)
	}
	if rd.MustSync { // a commit index alone needs no fsync, as in etcd's server
		if err := e.w.Save(hs, first, entries); err != nil {
			return fmt.Errorf("etcd node %d: %w", e.id, err)
		}
	}
	if err := e.ms.Append(rd.Entries); err != nil {
		return fmt.Errorf("etcd node %d: %w", e.id, err)
	}
	return nil
}

// apply hands committed entries to the store; etcd's empty entries (a new
// leader's) are the store's no-ops.
func (e *etcdNode) apply(es []pb.Entry) {
	for _, x := range es {
		v := spec.Value(x.Data)
		if x.Type != pb.EntryNormal || len(x.Data) == 0 {
			v = node.NoOp
		}
		e.store.Apply(spec.Index(x.Index), spec.Entry{Term: spec.Term(x.Term), Value: v})
	}
}

// maybeSnapshot is impl/node's: every snapshotEntries applied entries a
// store snapshot goes to the WAL, and the WAL and the MemoryStorage are
// compacted to half of that below it.
func (e *etcdNode) maybeSnapshot() error {
	applied := uint64(e.store.Applied())
	if applied < e.snapshot+snapshotEntries {
		return nil
	}
	data, err := e.store.Snapshot()
	if err != nil {
		return fmt.Errorf("etcd node %d: snapshot: %w", e.id, err)
	}
	term, err := e.ms.Term(applied)
	if err != nil {
		return fmt.Errorf("etcd node %d: snapshot: %w", e.id, err)
	}
	if _, err := e.ms.CreateSnapshot(applied, &e.conf, data); err != nil {
		return fmt.Errorf("etcd node %d: snapshot: %w", e.id, err)
	}
	compactTo := applied - snapshotEntries/2
	if err := e.w.SaveSnapshot(wal.Snapshot{Index: spec.Index(applied), Term: spec.Term(term), Data: data}); err != nil {
		return fmt.Errorf("etcd node %d: %w", e.id, err)
	}
	if err := e.w.Compact(spec.Index(compactTo)); err != nil {
		return fmt.Errorf("etcd node %d: %w", e.id, err)
	}
	if err := e.ms.Compact(compactTo); err != nil {
		return fmt.Errorf("etcd node %d: %w", e.id, err)
	}
	e.snapshot = applied
	return nil
}

// installSnapshot takes a snapshot the leader sent (a follower too far
// behind): state machine, WAL, MemoryStorage.
func (e *etcdNode) installSnapshot(snap pb.Snapshot) error {
	m := snap.Metadata
	if err := e.store.Restore(spec.Index(m.Index), snap.Data); err != nil {
		return fmt.Errorf("etcd node %d: restore: %w", e.id, err)
	}
	if err := e.w.SaveSnapshot(wal.Snapshot{Index: spec.Index(m.Index), Term: spec.Term(m.Term), Data: snap.Data}); err != nil {
		return fmt.Errorf("etcd node %d: %w", e.id, err)
	}
	if err := e.ms.ApplySnapshot(snap); err != nil {
		return fmt.Errorf("etcd node %d: %w", e.id, err)
	}
	e.snapshot = m.Index
	return nil
}

func roleOf(s raft.StateType) spec.Role {
	switch s {
	case raft.StateLeader:
		return spec.Leader
	case raft.StateCandidate, raft.StatePreCandidate:
		return spec.Candidate
	}
	return spec.Follower
}

// Propose implements kv.Raft: it returns once the core took v as leader
// or refused it.
func (e *etcdNode) Propose(ctx context.Context, v spec.Value) error {
	p := etcdProposal{data: []byte(v), errc: make(chan error, 1)}
	select {
	case e.propc <- p:
	case <-ctx.Done():
		return ctx.Err()
	case <-e.done:
		return errors.New("stopped")
	}
	select {
	case err := <-p.errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Status implements kv.Raft: only the role is filled in.
func (e *etcdNode) Status() node.Status {
	return node.Status{Status: rcraft.Status{ID: spec.ServerID(e.id), Role: spec.Role(e.role.Load())}}
}

// ChangeMembership implements kv.Raft; the benchmark changes no membership.
func (e *etcdNode) ChangeMembership(context.Context, rcraft.ConfChange) error {
	return errors.New("not supported by the benchmark")
}

// Stop stops the node and waits for its goroutines.
func (e *etcdNode) Stop() error {
	close(e.stop)
	<-e.done
	return e.err
}

// discardLogger silences etcd raft's logging.
type discardLogger struct{}

func (discardLogger) Debug(...any)              {}
func (discardLogger) Debugf(string, ...any)     {}
func (discardLogger) Error(...any)              {}
func (discardLogger) Errorf(string, ...any)     {}
func (discardLogger) Info(...any)               {}
func (discardLogger) Infof(string, ...any)      {}
func (discardLogger) Warning(...any)            {}
func (discardLogger) Warningf(string, ...any)   {}
func (discardLogger) Fatal(v ...any)            { panic(fmt.Sprint(v...)) }
func (discardLogger) Fatalf(f string, v ...any) { panic(fmt.Sprintf(f, v...)) }
func (discardLogger) Panic(v ...any)            { panic(fmt.Sprint(v...)) }
func (discardLogger) Panicf(f string, v ...any) { panic(fmt.Sprintf(f, v...)) }
