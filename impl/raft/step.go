package raft

import (
	"fmt"

	"github.com/raftcheck/raftcheck/spec"
)

// Step is the receiving half of the spec action Deliver: the node handles
// one message and queues its reply, following the rules of Figure 2 as
// spec/README.md numbers them. A message no correct server sends
// (ErrInvalidMessage) or that would delete a committed entry
// (ErrCommittedConflict) is refused with an error, leaving the node
// unchanged; Step never panics.
func (r *Node) Step(m spec.Message) error {
	// What an acknowledgement of an AppendEntries covers: its last entry,
	// as sent (trimCompacted may drop entries the snapshot covers).
	end := m.PrevLogIndex + spec.Index(len(m.Entries))
	r.trimCompacted(&m)
	if err := r.check(&m); err != nil {
		return fmt.Errorf("raft: %v: step %v: %w", r.id, m, err)
	}
	r.flushProposals()
	// 1. Term rule (all servers).
	if m.Term > r.term {
		r.setTerm(m.Term)
		r.becomeFollower()
	}
	switch m.Type {
	case spec.RequestVote:
		r.handleRequestVote(&m)
	case spec.RequestVoteResponse:
		r.handleRequestVoteResponse(&m)
	case spec.AppendEntries:
		r.handleAppendEntries(&m, end)
	case spec.AppendEntriesResponse:
		r.handleAppendEntriesResponse(&m)
	}
	return nil
}

// trimCompacted drops from an AppendEntries of the current or a later term
// the entries at or below the snapshot index and moves prevLogIndex up to
// it: those entries are committed, so they match the sender's (Leader
// Completeness), and the node no longer holds them to compare. Nothing
// happens without a snapshot.
func (r *Node) trimCompacted(m *spec.Message) {
	if m.Type != spec.AppendEntries || r.snap.Index == 0 || m.PrevLogIndex >= r.snap.Index || m.Term < r.term || m.Term < r.snap.Term {
		return
	}
	skip := r.snap.Index - m.PrevLogIndex
	if skip >= spec.Index(len(m.Entries)) {
		m.Entries = nil
	} else {
		m.Entries = m.Entries[skip:]
	}
	m.PrevLogIndex, m.PrevLogTerm = r.snap.Index, r.snap.Term
}

// check refuses, before anything changes, messages that are malformed, not
// for this node, or would delete a committed entry.
func (r *Node) check(m *spec.Message) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	if m.To != r.id {
		return fmt.Errorf("%w: addressed to %v", ErrInvalidMessage, m.To)
	}
	if m.Type == spec.InstallSnapshot {
		return fmt.Errorf("%w: a snapshot is installed with InstallSnapshot, after its data has arrived", ErrInvalidMessage)
	}
	if int(m.From) > r.n {
		return fmt.Errorf("%w: sender %d is not a server of a %d-server cluster", ErrInvalidMessage, m.From, r.n)
	}
	if m.Type != spec.AppendEntries {
		return nil
	}
	if m.PrevLogTerm > m.Term {
		return fmt.Errorf("%w: prev_log_term %d above the message term %d", ErrInvalidMessage, m.PrevLogTerm, m.Term)
	}
	if err := checkLog(m.Entries, m.PrevLogTerm, m.Term); err != nil {
		return fmt.Errorf("%w: entries: %w", ErrInvalidMessage, err)
	}
	if err := checkConfigEntries(m.Entries, r.n); err != nil {
		return fmt.Errorf("%w: entries: %w", ErrInvalidMessage, err)
	}
	if r.faults.truncateOnStaleAppend() {
		return nil // the seeded bug deletes entries whatever they are
	}
	if m.Term < r.term || (m.Term == r.term && r.role == spec.Leader) || !r.holds(m.PrevLogIndex, m.PrevLogTerm) {
		return nil // the entries will not be merged
	}
	if k := r.firstConflict(m); k != 0 && k <= r.commit {
		return fmt.Errorf("%w: index %d (commit index %d)", ErrCommittedConflict, k, r.commit)
	}
	return nil
}

// holds reports whether the log has an entry at index i with term t (index
// 0 always matches): the AppendEntries consistency check.
func (r *Node) holds(i spec.Index, t spec.Term) bool {
	return i == 0 || (i <= r.lastIndex() && r.termAt(i) == t)
}

// firstConflict is the index of the first entry of m that conflicts with
// the log (same index, different term), or 0.
func (r *Node) firstConflict(m *spec.Message) spec.Index {
	for k, e := range m.Entries {
		i := m.PrevLogIndex + 1 + spec.Index(k)
		if i > r.lastIndex() {
			return 0
		}
		if r.termAt(i) != e.Term {
			return i
		}
	}
	return 0
}

// 2. RequestVote receiver.
func (r *Node) handleRequestVote(m *spec.Message) {
	granted := false
	if m.Term == r.term && (r.votedFor == spec.None || r.votedFor == m.From) &&
		(r.faults.voteWithoutLogCheck() || r.upToDate(m.LastLogTerm, m.LastLogIndex)) {
		granted = true
		r.votedFor = m.From
		r.resetElectionTimer()
	}
	r.send(spec.Message{Type: spec.RequestVoteResponse, To: m.From, Granted: granted})
}

// 3. RequestVoteResponse: counted only by a candidate of the same term.
func (r *Node) handleRequestVoteResponse(m *spec.Message) {
	if m.Term < r.term || r.role != spec.Candidate || !m.Granted {
		return
	}
	if r.countsVote(m.From) {
		r.votes[m.From] = true // votes of non-voters are not counted (§4.1)
	}
	r.maybeWin()
}

// 4. AppendEntries receiver. end is the index of the request's last entry
// as sent, which a success acknowledges (the specification's
// prevLogIndex + len(entries), also when entries the snapshot covers were
// trimmed from m).
func (r *Node) handleAppendEntries(m *spec.Message, end spec.Index) {
	if m.Term < r.term {
		r.send(spec.Message{Type: spec.AppendEntriesResponse, To: m.From})
		return
	}
	switch r.role {
	case spec.Leader:
		return // a second leader of the term: Election Safety is broken already
	case spec.Candidate:
		r.becomeFollower()
	}
	r.leader = m.From
	r.resetElectionTimer()
	if r.faults.commitFromLeaderCommit() {
		// The fault: leaderCommit is taken before the consistency check,
		// so also from a request that is about to be refused.
		r.commit = max(r.commit, min(m.LeaderCommit, r.lastIndex()))
	}
	if !r.holds(m.PrevLogIndex, m.PrevLogTerm) {
		r.send(spec.Message{Type: spec.AppendEntriesResponse, To: m.From, MatchIndex: r.hint(m)})
		return
	}
	r.merge(m)
	if r.faults.commitFromLeaderCommit() {
		// commitIndex raised before the check may lie past a conflict the
		// merge just cut: it falls with the log, as in the model, and
		// commit-monotonic reports it.
		r.commit = min(r.commit, r.lastIndex())
	}
	last := m.PrevLogIndex + spec.Index(len(m.Entries))
	if r.faults.commitFromLeaderCommit() || r.faults.commitToLastIndex() {
		last = r.lastIndex()
	}
	r.commit = max(r.commit, min(m.LeaderCommit, last))
	r.send(spec.Message{Type: spec.AppendEntriesResponse, To: m.From, Success: true, MatchIndex: end})
}

// hint is the failure hint, the highest index the leader may try next as
// prevLogIndex: min(prevLogIndex-1, len(log)). With ConflictHint it is the
// hint of §5.3: when the log holds an entry at prevLogIndex, of a term T
// other than prevLogTerm, every entry of term T conflicts with the leader's
// log from there on, so the hint is the index before the first entry of
// term T — a stale tail is skipped term by term, one round trip each,
// instead of entry by entry; when the log is shorter, its last index.
func (r *Node) hint(m *spec.Message) spec.Index {
	if m.PrevLogIndex > r.lastIndex() {
		return r.lastIndex()
	}
	h := m.PrevLogIndex - 1 // PrevLogIndex >= 1: index 0 always matches
	if r.cfg.ConflictHint {
		t := r.termAt(m.PrevLogIndex)
		for h > r.snap.Index && r.termAt(h) == t {
			h--
		}
		if h > 0 && h == r.snap.Index && r.snap.Term == t && r.snap.TermStart > 0 {
			h = r.snap.TermStart - 1 // the term reaches into the snapshot
		}
	}
	return h
}

// merge adds m's entries after the matching prevLogIndex: a conflicting
// entry is deleted with all that follow it, missing entries are appended,
// entries already present are kept (truncation only on conflict).
func (r *Node) merge(m *spec.Message) {
	if r.faults.truncateOnStaleAppend() {
		r.truncate(m.PrevLogIndex)
		r.appendLog(m.Entries...)
		return
	}
	for k, e := range m.Entries {
		i := m.PrevLogIndex + 1 + spec.Index(k)
		if i <= r.lastIndex() {
			if r.termAt(i) == e.Term {
				continue
			}
			r.truncate(i - 1)
		}
		r.appendLog(m.Entries[k:]...)
		return
	}
}

// 5. AppendEntriesResponse: handled only by a leader of the same term.
func (r *Node) handleAppendEntriesResponse(m *spec.Message) {
	if m.Term < r.term || r.role != spec.Leader {
		return
	}
	j := m.From
	if !m.Success {
		// nextIndex = max(matchIndex+1, min(nextIndex, hint+1)), written so
		// that a corrupt hint near the top of the range cannot overflow.
		if m.MatchIndex < r.next[j]-1 {
			r.next[j] = m.MatchIndex + 1
		}
		r.next[j] = max(r.next[j], r.match[j]+1)
		if r.cfg.MaxInflight > 0 {
			r.probing[j], r.inflight[j] = true, nil
			if r.next[j] > r.snap.Index {
				r.sendAppend(j) // production: retry at once instead of at the next heartbeat
			} // else it needs the snapshot: the next heartbeat reports it (no retry loop)
		}
		return
	}
	if m.MatchIndex > r.lastIndex() {
		return // more than the leader holds: corrupt
	}
	r.match[j] = max(r.match[j], m.MatchIndex) // never lowered by a reordered reply
	if r.cfg.MaxInflight == 0 {
		r.next[j] = r.match[j] + 1
		r.maybeCommit()
		return
	}
	r.next[j] = max(r.next[j], r.match[j]+1)
	r.probing[j] = false
	k := 0
	for k < len(r.inflight[j]) && r.inflight[j][k] <= r.match[j] {
		k++
	}
	r.inflight[j] = r.inflight[j][k:]
	r.maybeCommit()
	if r.role != spec.Leader {
		return // removed by the change it committed (§4.2.2)
	}
	if r.next[j] <= r.lastIndex() && !r.windowFull(j) {
		r.sendAppend(j) // production: keep the pipeline full
	}
}

// maybeCommit advances commitIndex to the largest N with log[N].term =
// currentTerm stored by a quorum of the configuration in effect (the
// leader counting its own log if it is a voter; §5.4.2, §4.1);
// Faults.Figure8Commit drops the term condition. A leader that is not a
// voter of its configuration steps down once it commits it (§4.2.2).
func (r *Node) maybeCommit() {
	for i := r.lastIndex(); i > r.commit; i-- {
		if r.termAt(i) != r.term && !r.faults.figure8Commit() {
			continue
		}
		var acks spec.Members
		for j := 1; j <= r.n; j++ {
			if id := spec.ServerID(j); id == r.id || r.match[j] >= i {
				acks |= 1 << (j - 1) // the own slot counts only if a voter (HasQuorum)
			}
		}
		if r.quorum(acks) {
			r.commit = i
			r.maybeStepDown()
			return
		}
	}
}
