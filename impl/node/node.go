// Package node is the runtime of the production Raft implementation: it
// drives one impl/raft core with a real clock, persists its output in an
// impl/wal write-ahead log (through impl/raftwal, the adapter the replay
// driver uses too), exchanges messages over impl/transport, applies
// committed entries to a StateMachine, and takes snapshots to keep the log
// short. README.md describes the design and its guarantees.
//
// A Node runs one goroutine that owns the core; everything else talks to
// it over channels, so the core stays single-threaded as it requires.
package node

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/impl/raftwal"
	"github.com/raftcheck/raftcheck/impl/transport"
	"github.com/raftcheck/raftcheck/impl/wal"
	"github.com/raftcheck/raftcheck/spec"
)

// StateMachine is what a Node replicates. Its methods are called from the
// node's goroutine only, one at a time. Entries with the value NoOp are the
// node's own and change nothing, and so are configuration entries
// (Config != 0, Value empty): the node follows those itself.
type StateMachine interface {
	// Apply applies the committed entry at index; entries come in index
	// order, each exactly once per process lifetime after the last Restore
	// (a restarted process replays from its snapshot on).
	Apply(index spec.Index, e spec.Entry)
	// Snapshot encodes the state after the last applied entry.
	Snapshot() ([]byte, error)
	// Restore replaces the whole state by a snapshot's, taken after
	// applying index. A bad snapshot returns an error (the node stops).
	Restore(index spec.Index, data []byte) error
}

// Config configures a Node. ID, Servers, Listen (or Peers[ID]), Dir and
// StateMachine are required; zero knobs take the defaults given.
type Config struct {
	ID spec.ServerID
	// Servers is the largest server id that exists: the servers of the
	// initial configuration and every one that may join later.
	Servers int
	// Initial is the configuration before any configuration entry; zero
	// makes every server 1..Servers a voter. It must be the same on every
	// server and every start. A server started outside it (a new server,
	// to be added with ChangeMembership) does not campaign and waits for
	// the leader.
	Initial spec.Configuration
	// Listen is the Raft address to listen on; empty means Peers[ID].
	// "127.0.0.1:0" picks a free port (see Addr and SetPeer).
	Listen string
	// Peers maps server ids to Raft addresses; more can be set later with
	// SetPeer (for instance from an address table the state machine
	// replicates). The own entry, if any, is used only as the default
	// Listen.
	Peers map[spec.ServerID]string
	// Dir holds the write-ahead log.
	Dir          string
	StateMachine StateMachine

	TickInterval  time.Duration // one core tick (default 10ms)
	ElectionTick  int           // election timeout in [ElectionTick, 2*ElectionTick) ticks (default 10)
	HeartbeatTick int           // leader heartbeat every HeartbeatTick ticks (default 2)
	MaxBatch      int           // proposals appended together (default 256)
	MaxInflight   int           // unacknowledged AppendEntries per follower (default 64)

	// SnapshotEntries: once this many entries were applied since the last
	// snapshot, the node snapshots the state machine and compacts its log
	// (default 10000; negative: never).
	SnapshotEntries int
	// SnapshotRetry is how long a leader waits before sending a snapshot
	// again to a follower still behind it (default 1s).
	SnapshotRetry time.Duration
	// SnapshotChunk is the size of one InstallSnapshot chunk (default 1 MiB).
	SnapshotChunk int

	// TracePath, if set, is the file the node records its event log in
	// (record.go; the format of traces/validate), appending to it across
	// restarts. Recording takes one Ready per input.
	TracePath string
	// Faults are seeded bugs of the core (impl/raft; tests, and only in a
	// build with -tags raftfaults: Start fails otherwise).
	Faults raft.Faults

	// Logf receives notable events. Nil means log.Printf.
	Logf func(format string, args ...any)
	// Rand is the source of election timeouts (uniform in [0, n)). Nil
	// means math/rand/v2, so that servers started together do not time out
	// together.
	Rand func(n int) int
}

func (c *Config) defaults() error {
	if c.Listen == "" {
		c.Listen = c.Peers[c.ID]
	}
	switch {
	case c.Listen == "":
		return errors.New("listen: no address for this server (set Listen or Peers[ID])")
	case c.Dir == "":
		return errors.New("dir: a data directory is required")
	case c.StateMachine == nil:
		return errors.New("state machine: required")
	}
	setDefault(&c.TickInterval, 10*time.Millisecond)
	setDefault(&c.ElectionTick, 10)
	setDefault(&c.HeartbeatTick, 2)
	setDefault(&c.MaxBatch, 256)
	setDefault(&c.MaxInflight, 64)
	setDefault(&c.SnapshotEntries, 10000)
	setDefault(&c.SnapshotRetry, time.Second)
	setDefault(&c.SnapshotChunk, 1<<20)
	if c.Logf == nil {
		c.Logf = log.Printf
	}
	if c.Rand == nil {
		c.Rand = rand.IntN
	}
	return nil
}

func setDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// Status is a Node's state as of its last loop iteration.
type Status struct {
	raft.Status
	// SnapshotIndex is the index of the last state machine snapshot (0 if
	// none); the core's Status.Snapshot is where its log starts.
	SnapshotIndex spec.Index
	// ConfigPending: the configuration in effect (Config) is not
	// committed yet, so a leader refuses another change
	// (raft.ErrChangeInProgress).
	ConfigPending bool
}

// ErrStopped is returned by calls on a stopped Node.
var ErrStopped = errors.New("node stopped")

type proposal struct {
	v    spec.Value
	errc chan error
}

// Node is a running Raft server. Its methods are safe for concurrent use.
type Node struct {
	cfg  Config
	core *raft.Node // owned by the run goroutine
	st   *raftwal.Storage
	tr   *transport.Transport

	recvc  chan spec.Message
	propc  chan proposal
	confc  chan *confProposal
	snapc  chan transport.InstallSnapshot
	stop   chan struct{}
	done   chan struct{}
	status atomic.Pointer[Status]

	stopOnce sync.Once
	err      error // why run ended, set before done is closed
	senders  sync.WaitGroup

	// Run goroutine only.
	snap     *wal.Snapshot               // latest state machine snapshot
	sending  map[spec.ServerID]time.Time // snapshot transfers started
	incoming *incomingSnapshot
	stepErrs int
	sendErrs int
	noopTerm spec.Term                    // the last term in which this node appended NoOp
	changes  map[spec.Index]*confProposal // membership changes waiting to be applied
	finished []finishedChange             // applied, to answer after the next publish

	// Peers (SetPeer, from any goroutine; setAppliedConfig on the loop).
	peerMu  sync.Mutex
	addrs   map[spec.ServerID]string // every Raft address known
	applied spec.Configuration       // the last committed configuration applied
	removed spec.Members             // members that a committed configuration removed

	rec       *traceLog     // the event log (Config.TracePath), or nil
	installed *spec.Message // the InstallSnapshot the core last took (recording)
	batch     traceBatch    // the Readys of the inputs being recorded (recording)
}

// NoOp is the entry a node appends when it becomes leader. The state
// machine gets it in Apply like any entry and must ignore it; no client
// value may equal it.
const NoOp spec.Value = "\x00"

// Start opens the WAL in cfg.Dir, restores the state machine from its
// snapshot, builds the core from the persistent state, starts the
// transport and the node's goroutine.
func Start(cfg Config) (*Node, error) {
	if err := cfg.defaults(); err != nil {
		return nil, fmt.Errorf("node: config: %w", err)
	}
	st, err := raftwal.Open(cfg.Dir, wal.Options{Logf: cfg.Logf})
	if err != nil {
		return nil, fmt.Errorf("node %v: %w", cfg.ID, err)
	}
	fail := func(err error) (*Node, error) {
		_ = st.Close() // the error that made the start fail is the one to report
		return nil, fmt.Errorf("node %v: %w", cfg.ID, err)
	}
	p, snap, err := st.Recover()
	if err != nil {
		return fail(err)
	}
	if snap != nil {
		if err := cfg.StateMachine.Restore(snap.Index, snap.Data); err != nil {
			return fail(fmt.Errorf("restore snapshot at %d: %w", snap.Index, err))
		}
	}
	core, err := raft.NewWithFaults(raft.Config{
		ID: cfg.ID, Servers: cfg.Servers, Initial: cfg.Initial, Restore: p,
		ElectionTick: cfg.ElectionTick, HeartbeatTick: cfg.HeartbeatTick, Rand: cfg.Rand,
		MaxBatch: cfg.MaxBatch, ReplicateOnPropose: true, MaxInflight: cfg.MaxInflight, ConflictHint: true, SnapshotKeepalive: true,
	}, cfg.Faults)
	if err != nil {
		return fail(err)
	}
	n := &Node{
		cfg: cfg, core: core, st: st, snap: snap,
		recvc:   make(chan spec.Message, 4096),
		propc:   make(chan proposal, 1024),
		confc:   make(chan *confProposal),
		changes: map[spec.Index]*confProposal{},
		addrs:   map[spec.ServerID]string{},
		applied: initialConfig(cfg),
		snapc:   make(chan transport.InstallSnapshot, 16),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		sending: map[spec.ServerID]time.Time{},
	}
	if snap != nil && p.Snapshot.Config != (spec.Configuration{}) {
		n.applied = p.Snapshot.Config
	}
	peers := map[spec.ServerID]string{}
	for id, addr := range cfg.Peers {
		if id != cfg.ID && addr != "" {
			peers[id], n.addrs[id] = addr, addr
		}
	}
	n.tr, err = transport.New(transport.Config{ID: cfg.ID, Listen: cfg.Listen, Peers: peers, Handler: n.receive, Logf: cfg.Logf})
	if err != nil {
		return fail(err)
	}
	if cfg.TracePath != "" {
		if n.rec, err = openRecorder(cfg.TracePath, cfg.ID); err == nil {
			err = n.traceRestart(p)
		}
		if err != nil {
			_ = n.tr.Close()
			return fail(err)
		}
	}
	n.publish()
	cfg.Logf("raft node %v: started on %v: term %d, log %d..%d, snapshot at %d", cfg.ID, n.tr.Addr(), p.Term,
		p.Snapshot.Index+1, p.Snapshot.Index+spec.Index(len(p.Log)), p.Snapshot.Index)
	go n.run()
	return n, nil
}

// Addr is the address the node's transport listens on.
func (n *Node) Addr() net.Addr { return n.tr.Addr() }

// Block cuts the link with peer in both directions (tests: partitions).
func (n *Node) Block(peer spec.ServerID) { n.tr.Block(peer) }

// Unblock restores the link with peer.
func (n *Node) Unblock(peer spec.ServerID) { n.tr.Unblock(peer) }

// ID is the node's server id.
func (n *Node) ID() spec.ServerID { return n.cfg.ID }

// Status returns the node's state as of its last loop iteration.
func (n *Node) Status() Status { return *n.status.Load() }

// Done is closed when the node has stopped, by Stop or by a fatal error
// (Err says which).
func (n *Node) Done() <-chan struct{} { return n.done }

// Err is the fatal error that stopped the node, nil after a clean Stop or
// while it runs.
func (n *Node) Err() error {
	select {
	case <-n.done:
		return n.err
	default:
		return nil
	}
}

// Propose hands v to the core. It returns once the core has accepted it
// as leader (it is then in the log at the latest by the next Ready, which
// persists and replicates it) or refused it: a *raft.NotLeaderError
// (errors.Is(err, raft.ErrNotLeader)) names the known leader. Whether and
// when v commits, the state machine sees in Apply.
func (n *Node) Propose(ctx context.Context, v spec.Value) error {
	p := proposal{v: v, errc: make(chan error, 1)}
	select {
	case n.propc <- p:
	case <-ctx.Done():
		return ctx.Err()
	case <-n.done:
		return ErrStopped
	}
	select {
	case err := <-p.errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-n.done:
		return ErrStopped
	}
}

// Stop stops the node and waits for all of its goroutines: the loop, the
// transport and any snapshot transfer. What was acknowledged is on disk;
// proposals not yet persisted are lost, as in a crash. It returns the
// fatal error that stopped the node earlier, if any.
func (n *Node) Stop() error {
	n.stopOnce.Do(func() { close(n.stop) })
	<-n.done
	return n.err
}

// receive is the transport's handler; it runs on the transport's
// goroutines and only queues frames for the loop.
func (n *Node) receive(f transport.Frame) {
	switch f.Kind {
	case transport.KindMessage:
		select {
		case n.recvc <- f.Message:
		case <-n.stop:
		}
	case transport.KindInstallSnapshot:
		s := f.Snapshot
		s.Data = append([]byte(nil), s.Data...) // the transport reuses its buffer
		select {
		case n.snapc <- s:
		case <-n.stop:
		}
	}
}

func (n *Node) run() {
	err := n.loop()
	if err != nil {
		n.cfg.Logf("raft node %v: stopping: %v", n.cfg.ID, err)
	}
	n.stopOnce.Do(func() { close(n.stop) })
	// Transport first: its handlers may be waiting for the loop.
	if cerr := n.tr.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close transport: %w", cerr)
	}
	n.senders.Wait()
	if cerr := n.st.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if n.rec != nil {
		if cerr := n.rec.f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("trace: %w", cerr)
		}
	}
	n.err = err
	close(n.done)
}

// maxDrain bounds how many queued inputs one iteration takes before
// handling the Ready: everything that arrived during the last fsync goes
// into one batch (group commit) without starving the clock.
const maxDrain = 4096

func (n *Node) loop() error {
	if n.rec != nil {
		return n.loopTraced()
	}
	ticker := time.NewTicker(n.cfg.TickInterval)
	defer ticker.Stop()
	for {
		select {
		case <-n.stop:
			return nil
		case <-ticker.C:
			n.core.Tick()
		case m := <-n.recvc:
			n.step(m)
		case p := <-n.propc:
			p.errc <- n.core.Propose(p.v)
		case p := <-n.confc:
			n.takeChange(p)
		case s := <-n.snapc:
			if err := n.receiveSnapshot(s); err != nil {
				return err
			}
		}
	drain:
		for range maxDrain {
			select {
			case m := <-n.recvc:
				n.step(m)
			case p := <-n.propc:
				p.errc <- n.core.Propose(p.v)
			default:
				break drain
			}
		}
		if err := n.handleReady(); err != nil {
			return err
		}
	}
}

func (n *Node) step(m spec.Message) {
	if err := n.core.Step(m); err != nil {
		// A malformed or misdirected message: drop it. Log only the first
		// few, so a misbehaving peer cannot flood the log.
		if n.stepErrs++; n.stepErrs <= 10 {
			n.cfg.Logf("raft node %v: dropped message: %v", n.cfg.ID, err)
		}
	}
}

// handleReady handles the core's output as the Ready contract says, with
// two refinements. First (Raft §10.2.1), a leader's AppendEntries go out
// before its own log write, so the leader's fsync runs in parallel with
// the followers'. This is safe because an AppendEntries promises nothing
// about the sender's disk, and the leader counts its own copy towards a
// majority only when it steps an acknowledgement, which this goroutine
// does only after the write below has returned. Votes and
// acknowledgements still wait for the write. Second, the committed
// entries below this Ready's log change are applied before the write:
// they are on the local disk already (an earlier Ready wrote them and
// this one leaves them as they are), so the clients waiting for them
// need not wait for this fsync too. Under load a leader's Ready typically
// carries the commit of one batch and the append of the next; before,
// every write waited for the fsync of the batch after its own.
func (n *Node) handleReady() error {
	if st := n.core.Status(); st.Role == spec.Leader && st.Term != n.noopTerm {
		// A new leader commits nothing from earlier terms until it has
		// committed an entry of its own term (§5.4.2), so it appends one
		// at once (§8) rather than wait for a client.
		n.noopTerm = st.Term
		if err := n.core.Propose(NoOp); err != nil {
			return fmt.Errorf("propose no-op: %w", err)
		}
	}
	if !n.core.HasReady() {
		return nil
	}
	rd := n.core.Ready()
	var after []spec.Message
	for _, m := range rd.Messages {
		if m.Type == spec.AppendEntries {
			n.send(m)
		} else {
			after = append(after, m)
		}
	}
	durable := durableCommitted(&rd)
	n.apply(rd.CommitFrom, rd.CommittedEntries[:durable])
	if err := n.st.Save(rd.Update); err != nil {
		return err // the WAL refuses further writes: stop, as after a crash
	}
	for _, m := range after {
		n.send(m)
	}
	for _, j := range rd.Snapshots {
		n.sendSnapshot(j)
	}
	n.apply(rd.CommitFrom+spec.Index(durable), rd.CommittedEntries[durable:])
	if err := n.core.Advance(rd); err != nil {
		return fmt.Errorf("advance: %w", err)
	}
	if err := n.maybeSnapshot(); err != nil {
		return err
	}
	n.publish()
	n.followConfig(n.status.Load().Config)
	n.answerChanges()
	return nil
}

// durableCommitted is how many of rd's committed entries are on the local
// disk before rd's Update is written: those below its log change.
func durableCommitted(rd *raft.Ready) int {
	k := len(rd.CommittedEntries)
	if rd.LogFrom != 0 && rd.LogFrom < rd.CommitFrom+spec.Index(k) {
		k = int(max(rd.LogFrom, rd.CommitFrom) - rd.CommitFrom)
	}
	return k
}

// apply hands es, the committed entries from index from on, to the state
// machine in order.
func (n *Node) apply(from spec.Index, es []spec.Entry) {
	for k, e := range es {
		n.cfg.StateMachine.Apply(from+spec.Index(k), e)
		n.appliedEntry(from+spec.Index(k), e)
	}
}

func (n *Node) send(m spec.Message) {
	err := n.tr.Send(m)
	switch {
	case err == nil, errors.Is(err, transport.ErrClosed):
	case errors.Is(err, transport.ErrUnknownPeer):
		// An answer to a server whose address is not known yet, or to a
		// removed one: normal around membership changes, so logged
		// sparingly.
		if n.sendErrs++; n.sendErrs <= 10 || n.sendErrs%1000 == 0 {
			n.cfg.Logf("raft node %v: send %v (%d such so far): %v", n.cfg.ID, m.Type, n.sendErrs, err)
		}
	default:
		n.cfg.Logf("raft node %v: send %v: %v", n.cfg.ID, m.Type, err)
	}
}

// initialConfig is cfg.Initial, or every server a voter when it is zero
// (as the core reads it).
func initialConfig(cfg Config) spec.Configuration {
	if cfg.Initial.Voters == 0 {
		return spec.Configuration{Voters: spec.AllServers(cfg.Servers)}
	}
	return cfg.Initial
}

func (n *Node) publish() {
	s := Status{Status: n.core.Status()}
	s.ConfigPending = n.core.ConfigurationAt(s.CommitIndex) != s.Config
	if n.snap != nil {
		s.SnapshotIndex = n.snap.Index
	}
	n.status.Store(&s)
}
