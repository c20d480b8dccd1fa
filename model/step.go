package model

import "github.com/raftcheck/raftcheck/spec"

// The actions' effects. Each takes the successor state (already a copy of
// the current one), checks the action's guard and applies its effect; a
// false return means the guard does not hold. spec/README.md gives each
// rule with its source in the paper.

// timeout is Timeout(i): a follower or candidate whose election timer
// fires starts an election (§5.2): it increments its term, becomes a
// candidate, votes for itself and sends RequestVote to every peer.
func (m *Model) timeout(s *State, id uint8) bool {
	sv := &s.srv[id-1]
	if !m.canTimeout(s, sv, id) {
		return false
	}
	sv.term++
	sv.role = candidate
	sv.voted = id
	sv.votes = m.selfVote(id)
	sv.next, sv.match, sv.probe, sv.infl = [MaxServers]uint8{}, [MaxServers]uint8{}, 0, [MaxServers]uint8{}
	var p msg
	p[mTyp], p[mFrom], p[mTerm] = uint8(spec.RequestVote), id, sv.term
	p[mA], p[mB] = sv.n, sv.lastTerm()
	asked := m.asked(m.configOf(s, sv))
	for j := 1; j <= m.n; j++ {
		if uint8(j) != id && asked&(1<<(j-1)) != 0 {
			p[mTo] = uint8(j)
			s.send(&p, m.cfg.MaxCopies)
		}
	}
	return true
}

// selfVote is a new candidate's tally: its own vote.
func (m *Model) selfVote(id uint8) uint8 {
	if m.bug == bugCountDuplicateVotes {
		return 1
	}
	return 1 << (id - 1)
}

// heartbeat is Heartbeat(i): a leader sends each peer j an AppendEntries
// with every entry from nextIndex[j] on (none if it is up to date), the
// preceding index and term, and its commitIndex (§5.3). Replication and
// commit notification both happen at heartbeats.
func (m *Model) heartbeat(s *State, id uint8) bool {
	sv := &s.srv[id-1]
	if sv.role != leader || int(s.total)+m.peers(s, sv, id) > m.cfg.MaxMsgs {
		return false
	}
	m.sendAppends(s, id, false)
	return true
}

// sendAppends sends each peer of leader id what a heartbeat sends it
// (sendAppend); skipFull leaves out the peers whose pipelining window is
// full (replicate-on-propose does: they get the entries when an
// acknowledgement frees the window).
func (m *Model) sendAppends(s *State, id uint8, skipFull bool) {
	sv := &s.srv[id-1]
	members := m.configOf(s, sv).members()
	for j := 1; j <= m.n; j++ {
		if uint8(j) != id && members&(1<<(j-1)) != 0 && !(skipFull && m.windowFull(sv, uint8(j))) {
			m.sendAppend(s, id, uint8(j))
		}
	}
}

// sendAppend sends peer j of leader id an AppendEntries with the entries
// from nextIndex[j] on (at most MaxBatch of them when batches are bounded),
// the preceding index and term and the leader's commitIndex — or an
// InstallSnapshot when those entries are compacted. With pipelining, a
// peer that is not probed gets the entries optimistically (nextIndex moves
// past them and the request joins the window), and with its window full an
// empty AppendEntries after the last entry sent.
func (m *Model) sendAppend(s *State, id, j uint8) {
	sv := &s.srv[id-1]
	next := min(max(sv.next[j-1], 1), sv.n+1)
	if next <= sv.snap {
		m.sendSnapshot(s, sv, id, j)
		return
	}
	last := sv.n
	if b := uint8(m.cfg.MaxBatch); b > 0 {
		last = min(last, next-1+b)
	}
	pipelined := m.cfg.MaxInflight > 0 && sv.probe&(1<<(j-1)) == 0
	if pipelined && m.windowFull(sv, j) {
		last = next - 1
	}
	var p msg
	p[mTyp], p[mFrom], p[mTo], p[mTerm] = uint8(spec.AppendEntries), id, j, sv.term
	p[mA] = next - 1
	p[mB] = sv.termAt(next - 1)
	p[mC] = sv.commit
	p[mN] = last - (next - 1)
	for k, e := range sv.log[next-1 : last] {
		p[mEnts+k] = uint8(e)
	}
	if pipelined && last >= next {
		sv.infl[j-1] = pushInflight(sv.infl[j-1], last)
		sv.next[j-1] = last + 1
	}
	s.send(&p, m.cfg.MaxCopies)
}

// windowFull reports whether peer j is pipelined with MaxInflight requests
// unacknowledged.
func (m *Model) windowFull(sv *server, j uint8) bool {
	return m.cfg.MaxInflight > 0 && sv.probe&(1<<(j-1)) == 0 && inflightCount(sv.infl[j-1]) >= m.cfg.MaxInflight
}

func inflightCount(w uint8) int {
	switch {
	case w == 0:
		return 0
	case w>>4 == 0:
		return 1
	}
	return 2
}

// pushInflight adds a request's last index to a window (at most 2).
func pushInflight(w, last uint8) uint8 {
	if w == 0 {
		return last
	}
	return w&0xf | last<<4
}

// trimInflight drops from a window the requests acknowledged up to match.
func trimInflight(w, match uint8) uint8 {
	for w != 0 && w&0xf <= match {
		w >>= 4
	}
	return w
}

// sendSnapshot sends peer j of leader id an InstallSnapshot (Figure 13):
// the entries j needs next are compacted, so it gets the snapshot — its
// last included index and term and its data, the compacted entries.
func (m *Model) sendSnapshot(s *State, sv *server, id, j uint8) {
	var p msg
	p[mTyp], p[mFrom], p[mTo], p[mTerm] = uint8(spec.InstallSnapshot), id, j, sv.term
	p[mA], p[mB], p[mN] = sv.snap, sv.termAt(sv.snap), sv.snap
	for k, e := range sv.log[:sv.snap] {
		p[mEnts+k] = uint8(e)
	}
	s.send(&p, m.cfg.MaxCopies)
}

// compactTo is the index Compact(i) snapshots up to: the commit index
// (§7: a server snapshots its committed entries).
func (m *Model) compactTo(sv *server) uint8 {
	if m.bug == bugCompactBeyondCommit {
		return sv.n // the mutation: the uncommitted tail too
	}
	return sv.commit
}

// compact is Compact(i): server i snapshots its committed log, so the
// entries up to its commitIndex are compacted (kept only as the
// snapshot's data, no longer sent in AppendEntries). Bounded by the
// configuration's snapshot budget.
func (m *Model) compact(s *State, id uint8) bool {
	sv := &s.srv[id-1]
	to := m.compactTo(sv)
	if int(s.snapshots) >= m.cfg.MaxSnapshots || to <= sv.snap {
		return false
	}
	sv.snap = to
	s.snapshots++
	return true
}

// clientRequest is ClientRequest(i, v): a leader appends a new entry with
// value v in its current term (§5.3). Each value is proposed once.
func (m *Model) clientRequest(s *State, id, v uint8) bool {
	sv := &s.srv[id-1]
	if sv.role != leader || v == 0 || int(v) > m.cfg.MaxValues || s.used&(1<<(v-1)) != 0 || sv.n >= MaxLog {
		return false
	}
	if !m.roomToPropose(s, sv, id) {
		return false
	}
	s.used |= 1 << (v - 1)
	sv.log[sv.n] = mkEntry(sv.term, v)
	sv.n++
	if m.cfg.ReplicateOnPropose {
		m.sendAppends(s, id, true)
	}
	return true
}

// drop is Drop(m): the network loses one copy of m.
func (m *Model) drop(s *State, k int) bool {
	if k >= int(s.nmsg) || int(s.drops) >= m.cfg.MaxDrops {
		return false
	}
	s.remove(k)
	s.drops++
	return true
}

// duplicate is Duplicate(m): the network delivers one more copy of m
// later.
func (m *Model) duplicate(s *State, k int) bool {
	if k >= int(s.nmsg) || int(s.dups) >= m.cfg.MaxDups || int(s.total) >= m.cfg.MaxMsgs || int(s.cnt[k]) >= m.cfg.MaxCopies {
		return false
	}
	s.cnt[k]++
	s.total++
	s.dups++
	return true
}

// restart is Restart(i): server i crashes and restarts. currentTerm,
// votedFor and the log are persistent and survive; role, commitIndex and
// leader and candidate state are volatile and reset (Figure 2).
func (m *Model) restart(s *State, id uint8) bool {
	if int(s.restarts) >= m.cfg.MaxRestarts {
		return false
	}
	sv := &s.srv[id-1]
	// The state machine is restored from the snapshot: what it covers is
	// known committed (commitIndex 0 without one).
	sv.role, sv.commit, sv.votes = follower, sv.snap, 0
	sv.next, sv.match, sv.probe, sv.infl = [MaxServers]uint8{}, [MaxServers]uint8{}, 0, [MaxServers]uint8{}
	if m.bug == bugForgetVoteOnRestart {
		sv.voted = 0
	}
	s.restarts++
	return true
}

// stepDown makes a server a follower of term t, with no vote if the term
// is new, and forgets leader and candidate state.
func stepDown(sv *server, t uint8) {
	if t > sv.term {
		sv.term, sv.voted = t, 0
	}
	sv.role, sv.votes = follower, 0
	sv.next, sv.match, sv.probe, sv.infl = [MaxServers]uint8{}, [MaxServers]uint8{}, 0, [MaxServers]uint8{}
}

// deliver is Deliver(m): the receiver handles one copy of m atomically and
// sends its reply in the same step. A message whose sender and receiver are
// on different sides of the partition cannot be delivered.
func (m *Model) deliver(s *State, k int) bool {
	if k >= int(s.nmsg) {
		return false
	}
	p := s.msgs[k]
	from, to := p[mFrom], p[mTo]
	if s.group[from-1] != s.group[to-1] {
		return false
	}
	s.remove(k)
	sv := &s.srv[to-1]
	typ := p.typ()
	response := typ == spec.RequestVoteResponse || typ == spec.AppendEntriesResponse
	// Figure 2, all servers: a higher term in any message makes the
	// receiver adopt it and become a follower, then handle the message.
	if p[mTerm] > sv.term {
		switch {
		case m.bug == bugIgnoreHigherTermInResponse && response:
			return true
		case m.bug == bugStayLeaderOnHigherTerm && sv.role == leader:
			sv.term, sv.voted = p[mTerm], 0
		default:
			stepDown(sv, p[mTerm])
		}
	}
	switch typ {
	case spec.RequestVote:
		m.handleRequestVote(s, sv, &p)
	case spec.RequestVoteResponse:
		m.handleRequestVoteResponse(s, sv, &p)
	case spec.AppendEntries:
		m.handleAppendEntries(s, sv, &p)
	case spec.AppendEntriesResponse:
		m.handleAppendEntriesResponse(s, sv, &p)
	case spec.InstallSnapshot:
		m.handleInstallSnapshot(s, sv, &p)
	}
	m.observe(s, to)
	return true
}

// reply sends a response from the receiver of req back to its sender.
func (m *Model) reply(s *State, req *msg, typ spec.MsgType, term, a, b uint8) {
	var p msg
	p[mTyp], p[mFrom], p[mTo], p[mTerm], p[mA], p[mB] = uint8(typ), req[mTo], req[mFrom], term, a, b
	s.send(&p, m.cfg.MaxCopies)
}

// handleRequestVote is Figure 2, RequestVote receiver: reply false if the
// request's term is stale; grant if votedFor is None or the candidate and
// the candidate's log is at least as up-to-date (§5.4.1).
func (m *Model) handleRequestVote(s *State, sv *server, p *msg) {
	cand := p[mFrom]
	current := p[mTerm] == sv.term || (m.bug == bugAcceptStaleTerm && p[mTerm] < sv.term)
	logOK := m.bug == bugVoteWithoutLogCheck ||
		p[mB] > sv.lastTerm() || (p[mB] == sv.lastTerm() && p[mA] >= sv.n)
	grant := current && logOK && (sv.voted == 0 || sv.voted == cand)
	if grant {
		sv.voted = cand
	}
	m.reply(s, p, spec.RequestVoteResponse, sv.term, b2u(grant), 0)
}

// handleRequestVoteResponse tallies a vote of the candidate's current term
// (stale replies are dropped) and makes the candidate leader once a
// majority, itself included, has granted it (§5.2). A new leader's
// nextIndex is its last index + 1 and its matchIndex 0.
func (m *Model) handleRequestVoteResponse(s *State, sv *server, p *msg) {
	stale := p[mTerm] < sv.term
	if sv.role != candidate || p[mA] == 0 || (stale && m.bug != bugCountStaleVotes) {
		return
	}
	if m.bug == bugCountDuplicateVotes {
		sv.votes++
		if int(sv.votes) < quorum(m.configOf(s, sv).v) {
			return
		}
	} else {
		c := m.configOf(s, sv)
		if m.bug == bugCountNonmemberVotes || c.voter(p[mFrom]) {
			sv.votes |= 1 << (p[mFrom] - 1)
		}
		if !m.wins(c, sv.votes) {
			return
		}
	}
	sv.role, sv.votes = leader, 0
	for j := range m.n {
		sv.next[j], sv.match[j] = sv.n+1, 0
	}
	sv.next[p[mTo]-1] = 0
	if m.cfg.MaxInflight > 0 {
		sv.probe = uint8(1<<m.n-1) &^ (1 << (p[mTo] - 1)) // every peer is probed first
	}
}

// handleAppendEntries is Figure 2, AppendEntries receiver. A stale request
// is refused. In the current term a candidate returns to follower (§5.2);
// then the consistency check on prevLogIndex/prevLogTerm, the merge that
// truncates only on a conflicting entry, and commitIndex = min(leaderCommit,
// index of last new entry), never lowered.
func (m *Model) handleAppendEntries(s *State, sv *server, p *msg) {
	if p[mTerm] < sv.term && m.bug != bugAcceptStaleTerm {
		m.reply(s, p, spec.AppendEntriesResponse, sv.term, 0, 0)
		return
	}
	if sv.role == leader {
		// Another leader of the same term: unreachable unless Election
		// Safety is already broken; the request is ignored, as etcd raft does.
		return
	}
	if sv.role == candidate {
		stepDown(sv, sv.term)
	}
	prev := p[mA]
	if m.bug == bugCommitFromLeaderCommit {
		// The mutation: leaderCommit is applied before the consistency
		// check, so also when the request is refused.
		sv.commit = max(sv.commit, min(p[mC], sv.n))
	}
	if prev > 0 && (prev > sv.n || sv.termAt(prev) != p[mB]) {
		m.reply(s, p, spec.AppendEntriesResponse, sv.term, 0, m.hint(sv, prev))
		return
	}
	ents := p.ents()
	if m.bug == bugTruncateOnStaleAppend {
		sv.n = prev
	}
	for k, e := range ents {
		idx := prev + uint8(k) // 0-based position of the entry
		if idx < sv.n {
			// Figure 2: a conflict is the same index with a different
			// term; by Log Matching an equal term means an equal entry.
			if sv.log[idx].term() == entry(e).term() {
				continue
			}
			clear(sv.log[idx:sv.n])
			sv.n = idx
		}
		sv.log[sv.n] = entry(e)
		sv.n++
	}
	clear(sv.log[sv.n:])
	// Only a seeded bug truncates committed entries; commitIndex then
	// falls with the log, which commit-monotonic reports.
	sv.commit = min(sv.commit, sv.n)
	lastNew := prev + uint8(len(ents))
	upTo := lastNew
	if m.bug == bugCommitToLastIndex {
		upTo = sv.n // the mutation: the follower's own last index
	}
	sv.commit = max(sv.commit, min(p[mC], upTo))
	m.reply(s, p, spec.AppendEntriesResponse, sv.term, 1, lastNew)
}

// hint is a refusal's hint: min(prevLogIndex-1, last index), or with the
// conflict hint (§5.3), when the log holds an entry of another term T at
// prevLogIndex, the index before the first entry of term T.
func (m *Model) hint(sv *server, prev uint8) uint8 {
	if prev > sv.n {
		return sv.n
	}
	h := prev - 1
	if m.cfg.ConflictHint {
		for t := sv.termAt(prev); h > 0 && sv.termAt(h) == t; {
			h--
		}
	}
	return h
}

// handleInstallSnapshot is Figure 13's receiver: a stale request is
// refused; in the current term a candidate returns to follower; a snapshot
// that covers nothing beyond the commit index is acknowledged only; else
// if the log holds the snapshot's last included entry (same index and
// term) the entries after it are retained (rule 6), otherwise the whole
// log is discarded (rule 7), and the state machine — here the compacted
// prefix — is the snapshot's data. The answer is an AppendEntriesResponse
// with matchIndex = lastIncludedIndex.
func (m *Model) handleInstallSnapshot(s *State, sv *server, p *msg) {
	if p[mTerm] < sv.term {
		m.reply(s, p, spec.AppendEntriesResponse, sv.term, 0, 0)
		return
	}
	if sv.role == leader {
		return // another leader of the same term: ignored, as AppendEntries
	}
	if sv.role == candidate {
		stepDown(sv, sv.term)
	}
	li, lt := p[mA], p[mB]
	if li > sv.commit {
		m.installSnapshot(sv, p.ents(), li, lt)
		if m.bug == bugSnapshotTermFromData {
			sv.term = lt // the mutation: currentTerm from the snapshot's metadata
		}
	}
	m.reply(s, p, spec.AppendEntriesResponse, sv.term, 1, li)
}

// installSnapshot replaces sv's log up to li by the snapshot's data,
// keeping the entries after li when sv holds the snapshot's last entry.
func (m *Model) installSnapshot(sv *server, data []uint8, li, lt uint8) {
	keep := sv.n >= li && sv.termAt(li) == lt
	switch m.bug {
	case bugSnapshotKeepsConflictingSuffix:
		keep = sv.n >= li
	case bugSnapshotDiscardsMatchingSuffix:
		keep = false
	}
	if !keep {
		clear(sv.log[:])
		sv.n = li
	}
	for k, e := range data {
		sv.log[k] = entry(e)
	}
	sv.snap = max(sv.snap, li)
	sv.commit = max(sv.commit, li)
}

// handleAppendEntriesResponse is Figure 2, leaders: on success raise
// matchIndex (never lowered by a reordered reply) and set nextIndex past
// it, then commit the highest index N of the current term that a majority
// has matched (§5.3, §5.4.2). On failure move nextIndex back to the
// follower's hint, never below matchIndex+1.
func (m *Model) handleAppendEntriesResponse(s *State, sv *server, p *msg) {
	if p[mTerm] < sv.term || sv.role != leader {
		return
	}
	j := p[mFrom] - 1
	if p[mB] > sv.n {
		// Claims more than this leader's log: no reply to its requests can
		// (unreachable in Raft; defends against corrupt input).
		return
	}
	if p[mA] == 0 {
		sv.next[j] = max(sv.match[j]+1, min(sv.next[j], p[mB]+1))
		if m.cfg.MaxInflight > 0 {
			// Back to probing, and retry at once (unless the entries
			// are compacted: the next heartbeat sends the snapshot).
			sv.probe |= 1 << j
			sv.infl[j] = 0
			if sv.next[j] > sv.snap {
				m.sendAppend(s, p[mTo], p[mFrom])
			}
		}
		return
	}
	if m.bug == bugMatchIndexRegress {
		sv.match[j] = p[mB]
	} else {
		sv.match[j] = max(sv.match[j], p[mB])
	}
	if m.cfg.MaxInflight == 0 {
		sv.next[j] = sv.match[j] + 1
		m.advanceCommit(s, sv, p[mTo])
		return
	}
	sv.next[j] = max(sv.next[j], sv.match[j]+1)
	sv.probe &^= 1 << j
	sv.infl[j] = trimInflight(sv.infl[j], sv.match[j])
	m.advanceCommit(s, sv, p[mTo])
	if sv.role != leader {
		return // removed by the change it committed (§4.2.2)
	}
	if sv.next[j] <= sv.n && !m.windowFull(sv, p[mFrom]) {
		m.sendAppend(s, p[mTo], p[mFrom]) // keep the pipeline full
	}
}

// advanceCommit is the leader's commit rule: the largest N with
// log[N].term == currentTerm whose holders (the leader's own log counts if
// it votes) form a quorum of its configuration — a majority, of each half
// while joint.
func (m *Model) advanceCommit(s *State, sv *server, self uint8) {
	lo := sv.commit + 1
	if m.bug == bugMatchIndexRegress {
		lo = 1
	}
	c := m.configOf(s, sv)
	for n := sv.n; n >= lo; n-- {
		if sv.log[n-1].term() != sv.term && m.bug != bugFigure8Commit {
			if m.bug == bugMatchIndexRegress {
				continue
			}
			break // earlier entries have lower terms still
		}
		acks := uint8(1) << (self - 1) // the leader's own log (hasQuorum counts it only if it votes)
		for j := range m.n {
			if uint8(j+1) != self && sv.match[j] >= n {
				acks |= 1 << j
			}
		}
		if m.hasQuorum(c, acks) {
			sv.commit = n
			m.stepDownIfRemoved(s, sv, self)
			return
		}
	}
}

// observe updates the history after server id changed (spec.History.Observe
// restricted to that server): a leader of a term without one is recorded,
// and a committed prefix that extends the committed history consistently
// is appended to it.
func (m *Model) observe(s *State, id uint8) {
	sv := &s.srv[id-1]
	if sv.role == leader && s.leaderOf[sv.term] == 0 {
		s.leaderOf[sv.term] = id
	}
	if sv.commit <= s.hlen {
		return
	}
	for k := range s.hlen {
		if sv.log[k] != s.hist[k] {
			return
		}
	}
	var q conf
	if m.reconf {
		q = m.configOf(s, sv)
	}
	for k := s.hlen; k < sv.commit; k++ {
		s.hist[k], s.htermAt[k], s.hcfg[k], s.hout[k] = sv.log[k], sv.term, q.v, q.o
	}
	s.hlen = sv.commit
}
