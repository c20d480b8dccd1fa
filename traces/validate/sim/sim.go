// Package sim produces event logs (package validate's format) from
// deterministic runs of impl/raft under a random schedule: message loss,
// duplication and reordering, restarts from storage, compaction and
// snapshot transfer. It is the recorder the validator's tests and
// benchmarks use, and the model of the hook a runtime (impl/node) needs:
// after each input to the core, handle the Ready and write one event
// with the input, the messages sent and the state after it.
package sim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/spec"
	"github.com/raftcheck/raftcheck/traces/validate"
)

// Options configure a simulated run.
type Options struct {
	// Servers is the cluster size (1..7).
	Servers int
	// Events is the number of events to record, all servers together.
	Events int
	// Seed makes the schedule; the same options give the same run.
	Seed uint64
	// Configure adjusts every node's raft.Config (production features).
	Configure func(*raft.Config)
	// Faults are switched on in every node (needs -tags raftfaults).
	Faults raft.Faults
	// Ticks drives elections and heartbeats by logical time (Tick, as a
	// runtime does, each node's timer firing on its own) instead of
	// Campaign and Heartbeat calls; the recorder tells from the state and
	// the Ready which step a tick was.
	Ticks bool
	// Snapshots lets servers compact their logs (and leaders send
	// snapshots); Restarts lets servers crash and recover.
	Snapshots, Restarts bool
	// SnapshotData records an InstallSnapshot's data (the entries it
	// covers) in the event logs. Without it the messages carry only
	// last_included_index/term, as a real implementation's would (its
	// snapshot is its state machine), and the validator takes the data
	// from the sender's log.
	SnapshotData bool
}

type inflight struct {
	id   string
	msg  spec.Message
	data []spec.Entry // an InstallSnapshot's data
}

type node struct {
	id      spec.ServerID
	r       *raft.Node
	store   *raft.MemoryStorage
	applied []spec.Entry // the state machine: the entries applied, from index 1
	sent    int
	events  []validate.Event
}

type cluster struct {
	opts   Options
	rng    *rand.Rand
	nodes  []*node
	net    []inflight
	values int
	total  int
}

// Run simulates a run and returns its event logs, logs[i] server i+1's.
func Run(opts Options) ([][]validate.Event, error) {
	if opts.Servers < 1 || opts.Servers > spec.MaxServers {
		return nil, fmt.Errorf("sim: %d servers: want 1..%d", opts.Servers, spec.MaxServers)
	}
	c := &cluster{opts: opts, rng: rand.New(rand.NewPCG(opts.Seed, 0x7ace))}
	for i := range opts.Servers {
		n := &node{id: spec.ServerID(i + 1), store: raft.NewMemoryStorage()}
		if err := c.build(n, raft.Persistent{}); err != nil {
			return nil, err
		}
		c.nodes = append(c.nodes, n)
	}
	for guard := 0; c.total < opts.Events; guard++ {
		if guard > 100*opts.Events+1000 {
			return nil, errors.New("sim: the schedule makes no progress")
		}
		if err := c.act(); err != nil {
			return nil, err
		}
	}
	logs := make([][]validate.Event, len(c.nodes))
	for i, n := range c.nodes {
		logs[i] = n.events
	}
	return logs, nil
}

func (c *cluster) build(n *node, p raft.Persistent) error {
	cfg := raft.Config{ID: n.id, Servers: c.opts.Servers, Restore: p}
	if c.opts.Configure != nil {
		c.opts.Configure(&cfg)
	}
	r, err := raft.NewWithFaults(cfg, c.opts.Faults)
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	n.r = r
	return nil
}

// act takes one random step of the schedule.
func (c *cluster) act() error {
	n := c.nodes[c.rng.IntN(len(c.nodes))]
	var leader *node
	for _, o := range c.nodes {
		if o.r.Status().Role == spec.Leader && (leader == nil || c.rng.IntN(2) == 0) {
			leader = o
		}
	}
	if c.opts.Ticks && c.rng.IntN(3) == 0 {
		return c.tick(n)
	}
	switch p := c.rng.IntN(100); {
	case p < 55 && len(c.net) > 0:
		return c.deliver()
	case p < 58 && len(c.net) > 0:
		k := c.rng.IntN(len(c.net)) // lose a message
		c.net = slices.Delete(c.net, k, k+1)
	case p < 75 && c.opts.Ticks:
		return nil
	case p < 75 && leader != nil:
		if err := leader.r.Heartbeat(); err != nil {
			return fmt.Errorf("sim: %w", err)
		}
		return c.settle(leader, validate.Event{Kind: validate.Heartbeat})
	case p < 90 && leader != nil:
		return c.propose(leader)
	case p < 90:
		return nil // no leader to act: time passes
	case p < 91 || (p < 93 && leader == nil):
		if c.opts.Ticks || n.r.Status().Role == spec.Leader {
			return nil
		}
		if err := n.r.Campaign(); err != nil {
			return fmt.Errorf("sim: %w", err)
		}
		return c.settle(n, validate.Event{Kind: validate.Timeout})
	case p < 94 && c.opts.Restarts:
		return c.restart(n)
	case p < 97 && c.opts.Snapshots:
		return c.compact(n)
	}
	return nil
}

// tick advances n's logical clock by one tick and records what the tick
// did, if anything: a campaign (the term rose) is a Timeout, a leader's
// messages a Heartbeat.
func (c *cluster) tick(n *node) error {
	before := n.r.Status()
	n.r.Tick()
	after := n.r.Status()
	switch {
	case after.Term > before.Term:
		return c.settle(n, validate.Event{Kind: validate.Timeout})
	case before.Role == spec.Leader && n.r.HasReady():
		return c.settle(n, validate.Event{Kind: validate.Heartbeat})
	case n.r.HasReady():
		return fmt.Errorf("sim: %v: a tick with output that is neither a campaign nor a heartbeat", n.id)
	}
	return nil
}

func (c *cluster) propose(n *node) error {
	k := 1 + c.rng.IntN(3)
	var vs []spec.Value
	for range k {
		c.values++
		v := spec.Value(fmt.Sprintf("v%d", c.values))
		if err := n.r.Propose(v); err != nil {
			return fmt.Errorf("sim: %w", err)
		}
		vs = append(vs, v)
	}
	return c.settle(n, validate.Event{Kind: validate.ClientRequest, Values: vs})
}

// deliver hands a random message in flight to its receiver; sometimes a
// copy stays in flight (duplication).
func (c *cluster) deliver() error {
	k := c.rng.IntN(len(c.net))
	m := c.net[k]
	if c.rng.IntN(10) != 0 {
		c.net = slices.Delete(c.net, k, k+1)
	}
	n := c.nodes[m.msg.To-1]
	if m.msg.Type == spec.InstallSnapshot {
		return c.install(n, m)
	}
	if err := n.r.Step(m.msg); err != nil {
		if errors.Is(err, raft.ErrCommittedConflict) {
			return nil // refused, nothing changed: not a step
		}
		return fmt.Errorf("sim: %w", err)
	}
	return c.settle(n, validate.Event{Kind: validate.Receive, Msg: &validate.Message{ID: m.id, Message: m.msg}})
}

// install is the receiver of an InstallSnapshot: the core decides, the
// caller installs the data in storage and the state machine.
func (c *cluster) install(n *node, m inflight) error {
	meta := raft.SnapshotMeta{Index: m.msg.LastIncludedIndex, Term: m.msg.LastIncludedTerm}
	ok, err := n.r.InstallSnapshot(m.msg.From, m.msg.Term, meta)
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	if ok {
		if err := n.store.SaveSnapshot(meta); err != nil {
			return fmt.Errorf("sim: %w", err)
		}
		n.applied = slices.Clone(m.data)
	}
	return c.settle(n, validate.Event{Kind: validate.Receive, Msg: &validate.Message{ID: m.id, Message: m.msg}})
}

func (c *cluster) restart(n *node) error {
	p, err := n.store.Load()
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	if err := c.build(n, p); err != nil {
		return err
	}
	n.applied = n.applied[:p.Snapshot.Index]
	return c.settle(n, validate.Event{Kind: validate.Restart})
}

func (c *cluster) compact(n *node) error {
	st := n.r.Status()
	// Applied exceeds the log only once Faults.TruncateOnStaleAppend has
	// deleted committed entries; impl/raft's Compact then panics.
	top := min(st.Applied, st.LastIndex)
	if top <= st.Snapshot.Index {
		return nil
	}
	idx := st.Snapshot.Index + 1 + spec.Index(c.rng.IntN(int(top-st.Snapshot.Index)))
	if err := n.r.Compact(idx); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	if err := n.store.SaveSnapshot(raft.SnapshotMeta{Index: idx, Term: n.applied[idx-1].Term}); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	return c.settle(n, validate.Event{Kind: validate.Compact, Index: idx})
}

// settle handles the node's Ready in the order of the Ready contract
// (persist, send, apply, advance) and records the event: this is the
// hook a runtime needs.
func (c *cluster) settle(n *node, ev validate.Event) error {
	rd := n.r.Ready()
	if err := n.store.Save(rd.Update); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	st := n.r.Status()
	for _, m := range rd.Messages {
		ev.Sent = append(ev.Sent, n.send(c, m))
	}
	for _, j := range rd.Snapshots {
		data := slices.Clone(n.applied[:st.Snapshot.Index])
		m := spec.Message{Type: spec.InstallSnapshot, From: n.id, To: j, Term: st.Term,
			LastIncludedIndex: st.Snapshot.Index, LastIncludedTerm: st.Snapshot.Term}
		if c.opts.SnapshotData {
			m.Entries = data
		}
		ev.Sent = append(ev.Sent, n.send(c, m))
		c.net[len(c.net)-1].data = data
	}
	if len(rd.CommittedEntries) > 0 {
		if int(rd.CommitFrom) != len(n.applied)+1 {
			return fmt.Errorf("sim: %v applies from %d after %d", n.id, rd.CommitFrom, len(n.applied))
		}
		n.applied = append(n.applied, rd.CommittedEntries...)
	}
	if err := n.r.Advance(rd); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	ev.Server, ev.Seq = n.id, uint64(len(n.events)+1)
	ev.State = project(n.r)
	if rd.LogFrom != 0 && len(rd.Entries) > 0 && rd.LogFrom+spec.Index(len(rd.Entries))-1 == st.LastIndex {
		ev.Entries = rd.Entries
	}
	n.events = append(n.events, ev)
	c.total++
	return nil
}

func (n *node) send(c *cluster, m spec.Message) validate.Message {
	n.sent++
	m.From = n.id
	id := fmt.Sprintf("S%d#%d", n.id, n.sent)
	c.net = append(c.net, inflight{id: id, msg: m})
	return validate.Message{ID: id, Message: m}
}

// project is the state after a step in the format's vocabulary.
func project(r *raft.Node) *validate.State {
	st, vw := r.Status(), r.View()
	last := st.Snapshot.Term
	if len(vw.Log) > 0 {
		last = vw.Log[len(vw.Log)-1].Term
	}
	snap := st.Snapshot.Index
	return &validate.State{Term: &st.Term, Vote: &vw.VotedFor, Role: &st.Role, LogLen: &st.LastIndex,
		LastTerm: &last, Commit: &st.CommitIndex, Snapshot: &snap}
}

// WriteDir writes the logs into dir as s1.ndjson, s2.ndjson, ... and
// returns the file names.
func WriteDir(dir string, logs [][]validate.Event) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	var files []string
	for i, evs := range logs {
		name := filepath.Join(dir, fmt.Sprintf("s%d.ndjson", i+1))
		f, err := os.Create(name)
		if err != nil {
			return nil, fmt.Errorf("sim: %w", err)
		}
		w := validate.NewWriter(f)
		for k := range evs {
			ev := evs[k]
			if err := w.Write(&ev); err != nil {
				f.Close()
				return nil, err
			}
		}
		if err := errors.Join(w.Flush(), f.Close()); err != nil {
			return nil, fmt.Errorf("sim: %w", err)
		}
		files = append(files, name)
	}
	return files, nil
}
