package node

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/spec"
	"github.com/raftcheck/raftcheck/traces/validate"
)

// Recording (Config.TracePath): the node writes one event per core step
// in the event format of package traces/validate (README.md, "Checking a
// real run"), so that a real run can be validated against the rules of
// spec/README.md. Every input gets a Ready and an event of its own, but
// the inputs queued behind the first one of a loop iteration form one
// batch, as without recording: their Readys' Updates are merged and
// written with one Save (one fsync), and nothing of the batch leaves the
// process (messages, applies) before that Save has returned. The events
// are written before the Save (one write(2) for the batch, unbuffered
// beyond it: a kill -9 loses no event the kernel has), and the first
// Ready's AppendEntries go out at once after its own event, as loop sends
// them before the fsync: a message another server receives is then always
// in the sender's log. Message ids are validate.ContentID on both sides,
// so the wire format is unchanged.

// traceLog writes a node's event log.
type traceLog struct {
	f    *os.File
	id   spec.ServerID
	seq  uint64
	vote spec.ServerID // the vote as last persisted
	buf  bytes.Buffer
	enc  *json.Encoder
}

// openRecorder opens path for appending and continues the numbering from
// its last event, so that one file covers the server's life across
// crashes.
func openRecorder(path string, id spec.ServerID) (*traceLog, error) {
	seq, err := lastSeq(path)
	if err != nil {
		return nil, fmt.Errorf("trace %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	r := &traceLog{f: f, id: id, seq: seq}
	r.enc = json.NewEncoder(&r.buf)
	return r, nil
}

// lastSeq is the seq of the last event in the log at path (0 if there is
// none or no file).
func lastSeq(path string) (uint64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	defer f.Close()
	var last []byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		if b := bytes.TrimSpace(sc.Bytes()); len(b) > 0 {
			last = append(last[:0], b...)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	if last == nil {
		return 0, nil
	}
	var ev struct {
		Seq uint64 `json:"seq"`
	}
	if err := json.Unmarshal(last, &ev); err != nil {
		return 0, fmt.Errorf("last line: %w", err)
	}
	return ev.Seq, nil
}

// write numbers ev and writes it, after any queued events, at once.
func (r *traceLog) write(ev *validate.Event) error {
	if err := r.queue(ev); err != nil {
		return err
	}
	return r.flush()
}

// queue numbers ev and adds it to the events flush writes.
func (r *traceLog) queue(ev *validate.Event) error {
	r.seq++
	ev.Server, ev.Seq = r.id, r.seq
	if err := r.enc.Encode(ev); err != nil {
		return fmt.Errorf("trace: event %d: %w", ev.Seq, err)
	}
	return nil
}

// flush writes the queued events with one write(2).
func (r *traceLog) flush() error {
	if r.buf.Len() == 0 {
		return nil
	}
	_, err := r.f.Write(r.buf.Bytes())
	r.buf.Reset()
	if err != nil {
		return fmt.Errorf("trace: event %d: %w", r.seq, err)
	}
	return nil
}

// state is the node's state after a step, in the format's vocabulary.
func (n *Node) traceState() *validate.State {
	st := n.core.Status()
	last := st.Snapshot.Term
	u := &n.batch.u // entries not in the WAL yet
	if i := st.LastIndex; u.LogFrom != 0 && i >= u.LogFrom && i < u.LogFrom+spec.Index(len(u.Entries)) {
		last = u.Entries[i-u.LogFrom].Term
	} else if i > st.Snapshot.Index {
		if t, err := n.st.TermAt(i); err == nil {
			last = t
		}
	}
	vote, snap, cfg := n.rec.vote, st.Snapshot.Index, st.Config
	return &validate.State{Term: &st.Term, Vote: &vote, Role: &st.Role, LogLen: &st.LastIndex,
		LastTerm: &last, Commit: &st.CommitIndex, Snapshot: &snap, Config: &cfg}
}

// loopTraced is loop with recording: one Ready, and one event, per
// input; the inputs already queued behind the first (messages and
// proposals, up to maxDrain) join its batch, which is written with one
// fsync (flushTraced), as loop batches them.
func (n *Node) loopTraced() error {
	ticker := time.NewTicker(n.cfg.TickInterval)
	defer ticker.Stop()
	for {
		var err error
		select {
		case <-n.stop:
			return nil
		case <-ticker.C:
			err = n.traceTick()
		case m := <-n.recvc:
			err = n.traceReceive(m)
		case p := <-n.propc:
			err = n.traceProposals(p)
		case p := <-n.confc:
			n.takeChange(p)
			if n.core.HasReady() {
				cfg := n.core.Status().Config
				err = n.readyTraced(validate.Event{Kind: validate.Reconfigure, Config: &cfg})
			}
		case s := <-n.snapc:
			n.installed = nil
			if err = n.receiveSnapshot(s); err == nil && n.installed != nil {
				m := *n.installed
				err = n.readyTraced(validate.Event{Kind: validate.Receive, Msg: &validate.Message{ID: validate.ContentID(&m), Message: m}})
			}
		}
		if err == nil {
			err = n.traceNoOp()
		}
		if err == nil {
			err = n.drainTraced()
		}
		if err == nil {
			err = n.flushTraced()
		}
		if err != nil {
			return err
		}
	}
}

// drainTraced takes the messages and proposals queued now into the batch,
// one Ready (and event) each.
func (n *Node) drainTraced() error {
	for range maxDrain {
		var err error
		select {
		case m := <-n.recvc:
			err = n.traceReceive(m)
		case p := <-n.propc:
			err = n.traceProposals(p)
		default:
			return nil
		}
		if err == nil {
			err = n.traceNoOp()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// traceReceive steps m and records it; a message the core refuses
// changes nothing and is no event.
func (n *Node) traceReceive(m spec.Message) error {
	if e := n.core.Step(m); e != nil {
		n.step(m) // logs the refusal; the core refuses again and changes nothing
		return nil
	}
	return n.readyTraced(validate.Event{Kind: validate.Receive, Msg: &validate.Message{ID: validate.ContentID(&m), Message: m}})
}

// traceTick ticks the core; a tick that raised the term is a Timeout, a
// leader's tick with output a Heartbeat, and any other tick no event.
func (n *Node) traceTick() error {
	before := n.core.Status()
	n.core.Tick()
	after := n.core.Status()
	switch {
	case after.Term > before.Term:
		return n.readyTraced(validate.Event{Kind: validate.Timeout})
	case n.core.HasReady():
		// A leader's heartbeat (or snapshot retry); anything else is not
		// a tick the format knows, and the validator will say so.
		return n.readyTraced(validate.Event{Kind: validate.Heartbeat})
	}
	return nil
}

// traceProposals proposes p and the proposals queued behind it, and
// records the accepted ones as one ClientRequest (one batch, as without
// recording).
func (n *Node) traceProposals(p proposal) error {
	var vs []spec.Value
	for k := 0; ; k++ {
		err := n.core.Propose(p.v)
		if err == nil {
			vs = append(vs, p.v)
		}
		p.errc <- err
		if k == maxDrain {
			break
		}
		var ok bool
		select {
		case p, ok = <-n.propc:
		default:
		}
		if !ok {
			break
		}
	}
	if len(vs) == 0 {
		return nil
	}
	return n.readyTraced(validate.Event{Kind: validate.ClientRequest, Values: vs})
}

// traceNoOp appends a new leader's NoOp (handleReady's first step) as a
// ClientRequest of its own.
func (n *Node) traceNoOp() error {
	if st := n.core.Status(); st.Role == spec.Leader && st.Term != n.noopTerm {
		n.noopTerm = st.Term
		if err := n.core.Propose(NoOp); err != nil {
			return fmt.Errorf("propose no-op: %w", err)
		}
		return n.readyTraced(validate.Event{Kind: validate.ClientRequest, Values: []spec.Value{NoOp}})
	}
	return nil
}

// traceBatch is what the Readys of one batch of inputs leave to do once
// their merged Update is durable: the events not written yet, the
// messages, the snapshots to send and the committed entries to apply.
type traceBatch struct {
	n          int // Readys in the batch
	snapBefore spec.Index
	u          raft.Update
	msgs       []spec.Message
	snaps      []spec.ServerID
	commitFrom spec.Index
	committed  []spec.Entry
}

// readyTraced takes the Ready of one input into the batch and records ev.
// The core is advanced at once (the next input needs its next Ready), but
// nothing of the Ready leaves the process before flushTraced has made the
// batch's merged Update durable: the core may have counted this Ready's
// entries as the leader's own copy when it stepped a later input. The
// first Ready of a batch alone sends its AppendEntries at once, after
// its event, as loop does (everything before it is on disk).
func (n *Node) readyTraced(ev validate.Event) error {
	b := &n.batch
	rd := n.core.Ready()
	if rd.HardState != nil {
		n.rec.vote = rd.HardState.VotedFor
	}
	st := n.core.Status()
	if b.n == 0 {
		b.snapBefore = st.Snapshot.Index
	}
	for _, m := range rd.Messages {
		ev.Sent = append(ev.Sent, validate.Message{ID: validate.ContentID(&m), Message: m})
	}
	for _, j := range rd.Snapshots {
		if m, ok := n.snapshotMessage(j, st.Term); ok {
			ev.Sent = append(ev.Sent, validate.Message{ID: validate.ContentID(&m), Message: m})
		}
	}
	if err := mergeUpdate(&b.u, rd.Update); err != nil {
		return err
	}
	ev.State = n.traceState()
	if err := n.takeReady(b, &rd, &ev); err != nil {
		return err
	}
	b.n++
	if err := n.core.Advance(rd); err != nil {
		return fmt.Errorf("advance: %w", err)
	}
	return nil
}

// takeReady records ev and queues rd's output in b (see readyTraced).
func (n *Node) takeReady(b *traceBatch, rd *raft.Ready, ev *validate.Event) error {
	early := b.n == 0 && slices.ContainsFunc(rd.Messages, func(m spec.Message) bool { return m.Type == spec.AppendEntries })
	if early {
		// The event goes before the messages it sent.
		if err := n.rec.write(ev); err != nil {
			return err
		}
	} else if err := n.rec.queue(ev); err != nil {
		return err
	}
	for _, m := range rd.Messages {
		if early && m.Type == spec.AppendEntries {
			n.send(m)
			continue
		}
		m.Entries = slices.Clone(m.Entries) // the core's log may change under a held message
		b.msgs = append(b.msgs, m)
	}
	b.snaps = append(b.snaps, rd.Snapshots...)
	if len(rd.CommittedEntries) > 0 {
		if len(b.committed) == 0 {
			b.commitFrom = rd.CommitFrom
		}
		b.committed = append(b.committed, rd.CommittedEntries...)
	}
	return nil
}

// flushTraced ends a batch: its queued events (one write), its merged
// Update (one Save, one fsync), then the messages, snapshots and applies.
func (n *Node) flushTraced() error {
	b := &n.batch
	if b.n == 0 {
		return nil
	}
	if err := n.rec.flush(); err != nil {
		return err
	}
	if err := n.st.Save(b.u); err != nil {
		return err
	}
	for _, m := range b.msgs {
		n.send(m)
	}
	for _, j := range b.snaps {
		n.sendSnapshot(j)
	}
	n.apply(b.commitFrom, b.committed)
	snapBefore := b.snapBefore
	*b = traceBatch{msgs: b.msgs[:0], snaps: b.snaps[:0], committed: b.committed[:0]}
	return n.afterReadyTraced(snapBefore)
}

// mergeUpdate adds v, the Update of a later Ready, to u: v's hard state
// replaces u's, and v's log change applies on top of u's (u owns its
// entries).
func mergeUpdate(u *raft.Update, v raft.Update) error {
	if v.HardState != nil {
		hs := *v.HardState
		u.HardState = &hs
	}
	switch {
	case v.LogFrom == 0:
	case u.LogFrom == 0 || v.LogFrom <= u.LogFrom:
		u.LogFrom, u.Entries = v.LogFrom, slices.Clone(v.Entries)
	case v.LogFrom <= u.LogFrom+spec.Index(len(u.Entries)):
		u.Entries = append(u.Entries[:v.LogFrom-u.LogFrom], v.Entries...)
	default:
		return fmt.Errorf("trace batch: log change at %d after one of %d entries at %d (a gap)", v.LogFrom, len(u.Entries), u.LogFrom)
	}
	return nil
}

// afterReadyTraced is handleReady's tail: a due snapshot (recorded as a
// Compact when the core's log was cut), then publishing the state.
func (n *Node) afterReadyTraced(snapBefore spec.Index) error {
	if err := n.maybeSnapshot(); err != nil {
		return err
	}
	if st := n.core.Status(); st.Snapshot.Index != snapBefore {
		if err := n.rec.write(&validate.Event{Kind: validate.Compact, Index: st.Snapshot.Index, State: n.traceState()}); err != nil {
			return err
		}
	}
	n.publish()
	n.followConfig(n.status.Load().Config)
	n.answerChanges()
	return nil
}

// snapshotMessage is the InstallSnapshot sendSnapshot sends j, without
// its data; false if the transfer would not start now (a retry too soon).
func (n *Node) snapshotMessage(j spec.ServerID, term spec.Term) (spec.Message, bool) {
	if n.snap == nil {
		return spec.Message{}, false
	}
	if t, ok := n.sending[j]; ok && time.Since(t) < n.cfg.SnapshotRetry {
		return spec.Message{}, false
	}
	return spec.Message{Type: spec.InstallSnapshot, From: n.cfg.ID, To: j, Term: term,
		LastIncludedIndex: n.snap.Index, LastIncludedTerm: n.snap.Term}, true
}

// traceRestart records the start: the state recovered from the WAL (a
// fresh server's too).
func (n *Node) traceRestart(p raft.Persistent) error {
	n.rec.vote = p.VotedFor
	return n.rec.write(&validate.Event{Kind: validate.Restart, State: n.traceState()})
}
