package raft

import (
	"fmt"
	"math"
	"slices"

	"github.com/raftcheck/raftcheck/spec"
)

// Node is one Raft server as a deterministic state machine: it has no
// goroutines, clock, randomness (beyond Config.Rand) or I/O. Its inputs are
// Tick, Step, Propose, Campaign and Heartbeat; its outputs are collected in
// a Ready (see Ready and Advance). A Node is not safe for concurrent use.
type Node struct {
	cfg Config
	id  spec.ServerID
	n   int
	// faults are the seeded bugs of NewWithFaults; an empty struct
	// answering false to everything without -tags raftfaults.
	faults faultSwitches

	// Persistent state (Figure 2).
	term     spec.Term
	votedFor spec.ServerID
	log      []spec.Entry // entry k at index snap.Index+k+1

	// snap is where the log starts: every entry up to snap.Index has been
	// compacted into a state machine snapshot (Compact, InstallSnapshot).
	snap SnapshotMeta
	// conf is the configuration in effect (membership.go) and confIndex
	// the index of its entry: 0 for the initial configuration, the
	// snapshot index for the snapshot's.
	conf      spec.Configuration
	confIndex spec.Index
	// wantSnap[j] (leaders only): peer j needs an entry that was compacted
	// away; reported in the next Ready.
	wantSnap []bool

	// Volatile state.
	role   spec.Role
	commit spec.Index
	leader spec.ServerID // the leader of term as far as known, or None

	// Candidate state: votes[j] reports a vote granted by server j.
	votes []bool
	// Leader state, indexed by server id (slot 0 and the own slot unused).
	next, match []spec.Index
	// Pipelining (MaxInflight > 0), leaders only: per peer, the last index
	// of every unacknowledged AppendEntries carrying entries, and whether
	// the peer is being probed (no optimistic sending until it acknowledges).
	inflight [][]spec.Index
	probing  []bool

	// Proposals waiting to be appended as one batch (MaxBatch > 1).
	proposals []spec.Value

	electionElapsed, heartbeatElapsed, electionTimeout int

	// Ready bookkeeping. saved is the hard state as of the last Advance;
	// unstable is the lowest log index that may differ from storage (0:
	// none) and sinceReady the same for changes after the last Ready; msgs
	// are messages not yet handed out and advanced; applied is the last
	// index handed out as committed and advanced.
	saved      HardState
	unstable   spec.Index
	sinceReady spec.Index
	msgs       []spec.Message
	applied    spec.Index
	readySeq   uint64
	advanced   uint64
}

// New returns a node built from cfg: a follower holding the persistent
// state cfg.Restore (a fresh server when it is zero), with commitIndex 0.
// This is both a start and a Restart (spec/README.md: persistent state
// survives, volatile state is reset).
func New(cfg Config) (*Node, error) { return build(cfg, faultSwitches{}) }

// build is New with the fault switches fs (NewWithFaults).
func build(cfg Config, fs faultSwitches) (*Node, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("raft: config: %w", err)
	}
	r := &Node{cfg: cfg, id: cfg.ID, n: cfg.Servers, faults: fs}
	r.term, r.votedFor = cfg.Restore.Term, cfg.Restore.VotedFor
	if r.faults.forgetVoteOnRestart() {
		r.votedFor = spec.None // the seeded bug: the vote was not kept
	}
	r.saved = r.hardState()
	r.log = slices.Clone(cfg.Restore.Log)
	// A snapshot holds only committed entries, already applied by the
	// state machine the caller restores from it.
	r.snap = cfg.Restore.Snapshot
	r.commit, r.applied = r.snap.Index, r.snap.Index
	r.refreshConfig()
	r.becomeFollower()
	r.resetElectionTimer()
	if cfg.Resume != nil {
		if err := r.resume(cfg.Resume); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// ID returns the node's server id.
func (r *Node) ID() spec.ServerID { return r.id }

// Leader returns the leader of the node's current term as far as the node
// knows (itself when leading), or None.
func (r *Node) Leader() spec.ServerID { return r.leader }

// View returns the node's observable state in the vocabulary of spec, laid
// out as spec.View prescribes (NextIndex and MatchIndex only for a leader,
// one slot per server with the own slot 0; Votes only for a candidate). It
// shares nothing with the node. After a Compact or InstallSnapshot Log
// holds only the entries after the snapshot and SnapshotIndex is 0: the
// compacted entries are the caller's state machine snapshot, which
// impl/cluster puts back in front of them (and sets SnapshotIndex) to
// report what the specification's view shows.
func (r *Node) View() spec.View {
	v := spec.View{
		ID:          r.id,
		Term:        r.term,
		VotedFor:    r.votedFor,
		Role:        r.role,
		Log:         slices.Clone(r.log),
		CommitIndex: r.commit,
	}
	switch r.role {
	case spec.Leader:
		v.NextIndex = make([]spec.Index, r.n)
		v.MatchIndex = make([]spec.Index, r.n)
		for j := 1; j <= r.n; j++ {
			if spec.ServerID(j) != r.id {
				v.NextIndex[j-1], v.MatchIndex[j-1] = r.next[j], r.match[j]
			}
		}
	case spec.Candidate:
		for j := 1; j <= r.n; j++ {
			if r.votes[j] {
				v.Votes = append(v.Votes, spec.ServerID(j))
			}
		}
	}
	return v
}

// Tick advances logical time by one tick. A leader sends a heartbeat every
// HeartbeatTick ticks; a follower or candidate that has heard from no leader
// and granted no vote for its randomized election timeout campaigns. A
// campaign that cannot start (the term is exhausted) is skipped.
func (r *Node) Tick() {
	r.flushProposals()
	if r.role == spec.Leader {
		r.heartbeatElapsed++
		if r.heartbeatElapsed >= r.cfg.HeartbeatTick {
			r.heartbeatElapsed = 0
			if r.soleVoter() {
				r.maybeCommit() // e.g. its configuration change: no acknowledgement will count
			}
			r.broadcastAppend()
		}
		return
	}
	if !r.isVoter() {
		return // learners, removed servers and joiners do not campaign
	}
	r.electionElapsed++
	if r.electionElapsed >= r.electionTimeout {
		_ = r.Campaign() // only ErrTermExhausted is possible here; stay put
	}
}

// Campaign is the spec action Timeout: the election timeout fires now. The
// node increments its term, votes for itself and sends RequestVote to every
// other voter of its configuration. It fails with ErrLeader on a leader
// and with ErrNotVoter on a server that is not a voter of its
// configuration.
func (r *Node) Campaign() error {
	if r.role == spec.Leader {
		return fmt.Errorf("raft: %v: campaign: %w", r.id, ErrLeader)
	}
	if !r.isVoter() {
		return fmt.Errorf("raft: %v: campaign in %v: %w", r.id, r.config(), ErrNotVoter)
	}
	if r.term == math.MaxUint64 {
		return fmt.Errorf("raft: %v: campaign: %w", r.id, ErrTermExhausted)
	}
	r.setTerm(r.term + 1)
	r.votedFor = r.id
	r.becomeFollower() // clears any earlier candidacy
	r.resetElectionTimer()
	r.role = spec.Candidate
	r.votes = make([]bool, r.n+1)
	r.votes[r.id] = true
	for _, j := range r.voteTargets() {
		r.send(spec.Message{Type: spec.RequestVote, To: j,
			LastLogIndex: r.lastIndex(), LastLogTerm: r.lastTerm()})
	}
	if !r.faults.soleVoterWaits() {
		r.maybeWin() // a one-voter configuration elects itself at once
	}
	return nil
}

// Heartbeat is the spec action Heartbeat: a leader sends AppendEntries to
// every other server now, with all entries from its nextIndex on. It fails
// with a *NotLeaderError on a follower or candidate.
func (r *Node) Heartbeat() error {
	r.flushProposals()
	if r.role != spec.Leader {
		return fmt.Errorf("raft: heartbeat: %w", r.notLeader())
	}
	r.heartbeatElapsed = 0
	r.broadcastAppend()
	return nil
}

// Propose is the spec action ClientRequest: a leader appends the value to
// its log in its current term (with batching, at the latest by the next
// Ready). Replication happens at the next heartbeat, or at once with
// ReplicateOnPropose. It fails with a *NotLeaderError on a follower or
// candidate and with ErrInvalidProposal for an empty value.
func (r *Node) Propose(v spec.Value) error {
	if v == "" {
		return fmt.Errorf("raft: propose: %w: empty value", ErrInvalidProposal)
	}
	if r.role != spec.Leader {
		return fmt.Errorf("raft: propose %q: %w", v, r.notLeader())
	}
	if r.cfg.MaxBatch > 1 {
		r.proposals = append(r.proposals, v)
		if len(r.proposals) >= r.cfg.MaxBatch {
			r.flushProposals()
		}
		return nil
	}
	r.appendAsLeader(v)
	return nil
}

func (r *Node) notLeader() *NotLeaderError {
	return &NotLeaderError{ID: r.id, Role: r.role, Term: r.term, Leader: r.leader}
}

// flushProposals appends the batched proposals as one append. Proposals
// exist only while leading, and every input that can end leadership flushes
// first, so none is lost to a step-down.
func (r *Node) flushProposals() {
	if len(r.proposals) == 0 {
		return
	}
	vs := r.proposals
	r.proposals = nil
	if r.role == spec.Leader {
		r.appendAsLeader(vs...)
	}
}

func (r *Node) appendAsLeader(vs ...spec.Value) {
	es := make([]spec.Entry, len(vs))
	for k, v := range vs {
		es[k] = spec.Entry{Term: r.term, Value: v}
	}
	r.appendLog(es...)
	if r.soleVoter() {
		// Only a sole voter's own append can complete a quorum; otherwise
		// the commit rule runs on acknowledgements (as in the model: an
		// index a configuration change made committable commits at the
		// next one, not at the leader's next append).
		r.maybeCommit()
	}
	if r.cfg.ReplicateOnPropose && r.role == spec.Leader {
		r.replicateNew()
	}
}

// replicateNew sends new entries to every peer at once (ReplicateOnPropose).
func (r *Node) replicateNew() {
	for _, id := range r.peers() {
		// A follower whose window is full gets the new entries when an
		// acknowledgement frees it, or probes at the next heartbeat.
		if !r.windowFull(id) {
			r.sendAppend(id)
		}
	}
}

// --- role changes -------------------------------------------------------

// setTerm moves to a new term: no vote and no known leader in it yet.
func (r *Node) setTerm(t spec.Term) {
	r.term, r.votedFor, r.leader = t, spec.None, spec.None
}

// becomeFollower makes the node a follower of its current term, clearing
// candidate and leader state. The election timer keeps running (Figure 2:
// it restarts only on granting a vote or hearing from the current leader,
// so a server that merely learns of a higher term — from a candidate it
// refuses, say — still times out on schedule), except on leaving
// leadership: a leader's timer was not running.
func (r *Node) becomeFollower() {
	if r.role == spec.Leader {
		r.resetElectionTimer()
	}
	r.role = spec.Follower
	r.votes, r.next, r.match, r.inflight, r.probing, r.wantSnap = nil, nil, nil, nil, nil, nil
	r.proposals = nil
}

func (r *Node) resetElectionTimer() {
	r.electionElapsed = 0
	r.electionTimeout = r.cfg.ElectionTick + r.cfg.Rand(r.cfg.ElectionTick)
}

// maybeWin makes a candidate whose granted votes form a quorum of its
// configuration the leader (§5.2, §4.1; both majorities while joint).
func (r *Node) maybeWin() {
	var granted spec.Members
	for j, v := range r.votes {
		if v {
			granted |= 1 << (j - 1)
		}
	}
	win := r.quorum(granted)
	if r.faults.countNonmemberVotes() {
		win = granted.Size() >= r.config().Voters.Quorum() // the seeded bug: every vote counts
	}
	if r.role == spec.Candidate && win {
		r.becomeLeader()
	}
}

// becomeLeader: nextIndex = last log index + 1 and matchIndex = 0 for every
// peer (Figure 2, "reinitialized after election").
func (r *Node) becomeLeader() {
	r.role, r.leader, r.votes = spec.Leader, r.id, nil
	r.next = make([]spec.Index, r.n+1)
	r.match = make([]spec.Index, r.n+1)
	r.inflight = make([][]spec.Index, r.n+1)
	r.probing = make([]bool, r.n+1)
	r.wantSnap = make([]bool, r.n+1)
	for j := 1; j <= r.n; j++ {
		if spec.ServerID(j) != r.id {
			r.next[j] = r.lastIndex() + 1
			r.probing[j] = true
		}
	}
	r.heartbeatElapsed = 0
}

// --- log ----------------------------------------------------------------

func (r *Node) lastIndex() spec.Index { return r.snap.Index + spec.Index(len(r.log)) }

// lastTerm is the term of the last entry, the snapshot's if the log after
// it is empty.
func (r *Node) lastTerm() spec.Term {
	if len(r.log) == 0 {
		return r.snap.Term
	}
	return r.log[len(r.log)-1].Term
}

// termAt is the term of the entry at index i, or 0 if there is none or it
// was compacted (the snapshot's last entry keeps its term).
func (r *Node) termAt(i spec.Index) spec.Term {
	if i == r.snap.Index {
		return r.snap.Term
	}
	if i < r.snap.Index || i > r.lastIndex() {
		return 0
	}
	return r.log[i-r.snap.Index-1].Term
}

// entries returns the entries with indices in (lo, hi], which must all be
// held (lo >= snap.Index), sharing the log's array.
func (r *Node) entries(lo, hi spec.Index) []spec.Entry {
	return r.log[lo-r.snap.Index : hi-r.snap.Index]
}

// upToDate is spec.UpToDate for the log after the snapshot (§5.4.1).
func (r *Node) upToDate(lastTerm spec.Term, lastIndex spec.Index) bool {
	mine := r.lastTerm()
	return lastTerm > mine || (lastTerm == mine && lastIndex >= r.lastIndex())
}

// changed records that the log may differ from storage from index i on.
func (r *Node) changed(i spec.Index) {
	if r.unstable == 0 || i < r.unstable {
		r.unstable = i
	}
	if r.sinceReady == 0 || i < r.sinceReady {
		r.sinceReady = i
	}
}

func (r *Node) appendLog(es ...spec.Entry) {
	if len(es) == 0 {
		return
	}
	from := r.lastIndex() + 1
	r.changed(from)
	r.log = append(r.log, es...)
	r.noteAppended(from, es)
}

// truncate keeps the entries up to index k (never a compacted one: they
// are committed).
func (r *Node) truncate(k spec.Index) {
	k = max(k, r.snap.Index)
	if k >= r.lastIndex() {
		return
	}
	r.changed(k + 1)
	r.log = r.log[:k-r.snap.Index]
	if r.confIndex > k {
		r.refreshConfig() // the configuration reverts with the log (§4.1)
	}
}

// --- sending ------------------------------------------------------------

// send queues m, stamped with the node as sender and its current term.
func (r *Node) send(m spec.Message) {
	m.From, m.Term = r.id, r.term
	r.msgs = append(r.msgs, m)
}

// broadcastAppend sends every member of the configuration but the node
// itself an AppendEntries (voters of both halves and learners).
func (r *Node) broadcastAppend() {
	for _, j := range r.peers() {
		r.sendAppend(j)
	}
}

// sendAppend sends peer j an AppendEntries as the Heartbeat action says:
// prevLogIndex = nextIndex[j] - 1 and every entry from nextIndex[j] on.
// With pipelining, a peer that has acknowledged is sent new entries
// optimistically (nextIndex moves past them at once), at most MaxInflight
// such requests unacknowledged; with the window full it gets an empty
// AppendEntries at nextIndex[j] - 1, the last entry already sent (as etcd
// raft does). That keeps it from campaigning and carries the commit index;
// a follower holding every entry sent acknowledges all of them at once,
// and one that lost some refuses it, which puts it back to probing and
// resends from its hint. (An empty AppendEntries at matchIndex instead
// would be accepted without moving anything: lost requests would keep the
// window full for ever.)
func (r *Node) sendAppend(j spec.ServerID) {
	if r.next[j] <= r.snap.Index {
		// The entries j needs were compacted: the caller sends it the
		// snapshot (Ready.Snapshots). With SnapshotKeepalive an
		// AppendEntries after the snapshot keeps it from campaigning
		// meanwhile; it is refused until the snapshot is installed, which
		// keeps nextIndex where it is.
		r.wantSnap[j] = true
		if r.cfg.SnapshotKeepalive {
			r.send(r.appendFor(j, r.snap.Index))
		}
		return
	}
	if !r.pipelined(j) {
		r.send(r.appendFor(j, r.next[j]-1))
		return
	}
	if r.windowFull(j) {
		m := r.appendFor(j, r.next[j]-1)
		m.Entries = nil
		r.send(m)
		return
	}
	m := r.appendFor(j, r.next[j]-1)
	if len(m.Entries) > 0 {
		sent := m.PrevLogIndex + spec.Index(len(m.Entries)) // all of the log, or a bounded batch of it
		r.inflight[j] = append(r.inflight[j], sent)
		r.next[j] = sent + 1
	}
	r.send(m)
}

func (r *Node) pipelined(j spec.ServerID) bool { return r.cfg.MaxInflight > 0 && !r.probing[j] }

// windowFull reports whether j is pipelined with MaxInflight requests
// unacknowledged.
func (r *Node) windowFull(j spec.ServerID) bool {
	return r.pipelined(j) && len(r.inflight[j]) >= r.cfg.MaxInflight
}

// appendFor builds an AppendEntries to j after index prev, carrying every
// entry after it (at most MaxAppendEntries). A prev below the snapshot is
// raised to it (the entries before it are gone; a follower that lacks them
// refuses, and then gets the snapshot).
func (r *Node) appendFor(j spec.ServerID, prev spec.Index) spec.Message {
	prev = max(min(prev, r.lastIndex()), r.snap.Index)
	m := spec.Message{Type: spec.AppendEntries, To: j, PrevLogIndex: prev,
		PrevLogTerm: r.termAt(prev), LeaderCommit: r.commit}
	last := r.lastIndex()
	if b := spec.Index(r.cfg.MaxAppendEntries); b > 0 {
		last = min(last, prev+b)
	}
	if prev < last {
		m.Entries = slices.Clone(r.entries(prev, last))
	}
	return m
}
