package validate

import (
	"slices"

	"github.com/raftcheck/raftcheck/spec"
)

// server is the reference state of one server: the variables of
// spec/README.md ("State variables") with the whole log, compacted
// entries included (as spec.View keeps them), and the leader's matchIndex
// as learned from the responses it received. nextIndex is not kept: what a
// leader sends is checked against its log, not predicted.
type server struct {
	id      spec.ServerID
	n       int
	initial spec.Configuration
	term    spec.Term
	vote    spec.ServerID
	role    spec.Role
	log     []spec.Entry
	commit  spec.Index
	snap    spec.Index
	votes   spec.Members
	match   [spec.MaxServers + 1]spec.Index
	// cfgAt is the index of the last configuration entry (0: none).
	cfgAt spec.Index
	// appended reports entries as the log gains them (log matching).
	appended func(i spec.Index, e spec.Entry, prev spec.Term) *Failure
}

func (s *server) lastIndex() spec.Index { return spec.Index(len(s.log)) }

// termAt is the term of the entry at index i (0 for index 0 or beyond the
// log).
func (s *server) termAt(i spec.Index) spec.Term {
	if i == 0 || i > s.lastIndex() {
		return 0
	}
	return s.log[i-1].Term
}

// config is the configuration in effect: the last configuration entry of
// the log, else the initial one (membership rule 1).
func (s *server) config() spec.Configuration {
	if s.cfgAt == 0 {
		return s.initial
	}
	return s.log[s.cfgAt-1].Configuration()
}

func (s *server) becomeFollower() {
	s.role, s.votes, s.match = spec.Follower, 0, [spec.MaxServers + 1]spec.Index{}
}

func (s *server) becomeLeader() {
	s.role, s.votes, s.match = spec.Leader, 0, [spec.MaxServers + 1]spec.Index{}
}

// appendLog adds es at the end of the log.
func (s *server) appendLog(es ...spec.Entry) *Failure {
	for _, e := range es {
		i := s.lastIndex() + 1
		if f := s.appended(i, e, s.termAt(i-1)); f != nil {
			return f
		}
		s.log = append(s.log, e)
		if e.Config != 0 {
			s.cfgAt = i
		}
	}
	return nil
}

// truncate keeps the first k entries. Deleting a committed entry is a
// violation of the AppendEntries receiver's rule (it deletes only
// conflicting, hence uncommitted, entries).
func (s *server) truncate(k spec.Index, rule string) *Failure {
	if k < s.commit {
		return fail(rule, "deletes entries from index %d, at or below the commit index %d", k+1, s.commit)
	}
	s.log = s.log[:k]
	if s.cfgAt > k {
		s.cfgAt = 0
		for j := k; j > 0; j-- {
			if s.log[j-1].Config != 0 {
				s.cfgAt = j
				break
			}
		}
	}
	return nil
}

// replaceLog sets the log to data (a snapshot's) plus the kept suffix.
func (s *server) replaceLog(data []spec.Entry, keep []spec.Entry) *Failure {
	s.log, s.cfgAt = s.log[:0:0], 0
	if f := s.appendLog(data...); f != nil {
		return f
	}
	return s.appendLog(keep...)
}

// response is the reply the rules make a receiver send: a message, and
// for a refused AppendEntries the range of hints allowed.
type response struct {
	msg            spec.Message
	hintLo, hintHi spec.Index
	used           bool
}

// timeout is Timeout(i) (§5.2), with membership rule 3.
func (s *server) timeout() *Failure {
	if s.role == spec.Leader {
		return fail("Timeout guard", "a leader does not time out")
	}
	if !s.config().Voter(s.id) {
		return fail("Timeout guard", "%v is not a voter of its configuration %v (only voters campaign)", s.id, s.config())
	}
	s.term++
	s.vote = s.id
	s.role, s.votes = spec.Candidate, 0
	s.votes = members(s.id)
	s.maybeWin()
	return nil
}

func members(ids ...spec.ServerID) spec.Members {
	var m spec.Members
	for _, id := range ids {
		m |= 1 << (id - 1)
	}
	return m
}

// maybeWin makes a candidate whose granted votes form a quorum of its
// configuration the leader (membership rule 2).
func (s *server) maybeWin() {
	if s.role == spec.Candidate && s.config().HasQuorum(s.votes) {
		s.becomeLeader()
	}
}

// clientRequest is ClientRequest(i, v) for a batch of values (§5.3).
func (s *server) clientRequest(vs []spec.Value) *Failure {
	if s.role != spec.Leader {
		return fail("ClientRequest guard", "%v is a %v, not a leader", s.id, s.role)
	}
	for _, v := range vs {
		if f := s.appendLog(spec.Entry{Term: s.term, Value: v}); f != nil {
			return f
		}
	}
	return nil
}

// receive is the receiver's half of Deliver(m): Figure 2's rules as
// spec/README.md numbers them, and Figure 13's for InstallSnapshot. data
// is an InstallSnapshot's data (the sender's log prefix).
func (s *server) receive(m *spec.Message, data []spec.Entry) (*response, *Failure) {
	if m.Term > s.term { // 1. term rule
		s.term, s.vote = m.Term, spec.None
		s.becomeFollower()
	}
	switch m.Type {
	case spec.RequestVote:
		return s.requestVote(m), nil
	case spec.RequestVoteResponse:
		if m.Term == s.term && s.role == spec.Candidate && m.Granted {
			s.votes |= members(m.From)
			s.maybeWin()
		}
	case spec.AppendEntries:
		return s.appendEntries(m)
	case spec.AppendEntriesResponse:
		if m.Term == s.term && s.role == spec.Leader && m.Success && m.MatchIndex <= s.lastIndex() {
			s.match[m.From] = max(s.match[m.From], m.MatchIndex)
		}
	case spec.InstallSnapshot:
		return s.installSnapshot(m, data)
	}
	return nil, nil
}

func reply(m *spec.Message, t spec.MsgType, term spec.Term) spec.Message {
	return spec.Message{Type: t, From: m.To, To: m.From, Term: term}
}

// requestVote is rule 2: grant iff the term is current, the vote is free
// or already the candidate's, and its log is at least as up-to-date
// (§5.4.1).
func (s *server) requestVote(m *spec.Message) *response {
	r := reply(m, spec.RequestVoteResponse, s.term)
	if m.Term == s.term && (s.vote == spec.None || s.vote == m.From) && spec.UpToDate(m.LastLogTerm, m.LastLogIndex, s.log) {
		s.vote = m.From
		r.Granted = true
	}
	return &response{msg: r}
}

// appendEntries is rule 4, the AppendEntries receiver.
func (s *server) appendEntries(m *spec.Message) (*response, *Failure) {
	refuse := reply(m, spec.AppendEntriesResponse, s.term)
	if m.Term < s.term {
		return &response{msg: refuse}, nil
	}
	switch s.role {
	case spec.Leader:
		return nil, nil // a second leader of the term: ignored
	case spec.Candidate:
		s.becomeFollower()
	}
	if p := m.PrevLogIndex; p != 0 && (p > s.lastIndex() || s.termAt(p) != m.PrevLogTerm) {
		lo, hi := s.hints(p)
		refuse.MatchIndex = hi
		return &response{msg: refuse, hintLo: lo, hintHi: hi}, nil
	}
	if f := s.merge(m); f != nil {
		return nil, f
	}
	end := m.PrevLogIndex + spec.Index(len(m.Entries))
	s.commit = max(s.commit, min(m.LeaderCommit, end))
	ok := refuse
	ok.Success, ok.MatchIndex = true, end
	return &response{msg: ok}, nil
}

// hints is the range of failure hints allowed for a refusal at
// prevLogIndex p: from the conflict hint of §5.3 (the index before the
// first entry of the term held at p) up to Figure 2's hint,
// min(p-1, last index).
func (s *server) hints(p spec.Index) (lo, hi spec.Index) {
	if p > s.lastIndex() {
		return s.lastIndex(), s.lastIndex()
	}
	t := s.termAt(p)
	lo = p - 1
	for lo > 0 && s.termAt(lo) == t {
		lo--
	}
	return lo, p - 1
}

// merge deletes a conflicting entry with all that follow it and appends
// the entries not yet present (truncation only on conflict).
func (s *server) merge(m *spec.Message) *Failure {
	for k, e := range m.Entries {
		i := m.PrevLogIndex + 1 + spec.Index(k)
		if i <= s.lastIndex() {
			if s.termAt(i) == e.Term {
				continue
			}
			if f := s.truncate(i-1, "AppendEntries receiver"); f != nil {
				return f
			}
		}
		return s.appendLog(m.Entries[k:]...)
	}
	return nil
}

// installSnapshot is Figure 13's receiver as spec/README.md gives it.
func (s *server) installSnapshot(m *spec.Message, data []spec.Entry) (*response, *Failure) {
	r := reply(m, spec.AppendEntriesResponse, s.term)
	if m.Term < s.term {
		return &response{msg: r}, nil
	}
	switch s.role {
	case spec.Leader:
		return nil, nil
	case spec.Candidate:
		s.becomeFollower()
	}
	li := m.LastIncludedIndex
	r.Success, r.MatchIndex = true, li
	if li <= s.commit {
		return &response{msg: r}, nil
	}
	var keep []spec.Entry
	if li <= s.lastIndex() && s.termAt(li) == m.LastIncludedTerm {
		keep = slices.Clone(s.log[li:])
	}
	if f := s.replaceLog(data, keep); f != nil {
		return nil, f
	}
	s.snap, s.commit = li, li
	return &response{msg: r}, nil
}

// restart is Restart(i): the persistent state survives, the rest starts
// over; the state machine restored from the snapshot is committed.
func (s *server) restart() {
	s.becomeFollower()
	s.commit = s.snap
}

// compact is Compact(i): a snapshot of committed entries only (§7).
func (s *server) compact(index spec.Index) *Failure {
	if index <= s.snap || index > s.commit {
		return mismatch("Compact guard", "index", "in ("+itoa(s.snap)+", "+itoa(s.commit)+"]", index,
			"a snapshot covers committed entries beyond the previous snapshot only")
	}
	s.snap = index
	return nil
}

// maxCommit is the highest index a leader may commit: of its current
// term, stored by a quorum of its configuration per matchIndex, the leader
// counting itself if it is a voter (§5.4.2, membership rule 4).
func (s *server) maxCommit() spec.Index {
	cfg := s.config()
	for i := s.lastIndex(); i > s.commit; i-- {
		if s.termAt(i) < s.term {
			break
		}
		if cfg.HasQuorum(s.acks(i)) {
			return i
		}
	}
	return s.commit
}

// acks is the set of servers known to store index i.
func (s *server) acks(i spec.Index) spec.Members {
	acks := members(s.id)
	for j := 1; j <= s.n; j++ {
		if s.match[j] >= i {
			acks |= members(spec.ServerID(j))
		}
	}
	return acks
}
