// Package tlaraft is a faithful Go rendering of Diego Ongaro's raft.tla
// (github.com/ongardie/raft.tla) for the generic explorer in package
// checker, built to reproduce TLC's state counts exactly: the same
// variables (without the proof-only history variables elections, allLogs,
// voterLog and the mlog message field), the same actions with the same
// guards, the same message bag, a state constraint with TLC's semantics
// and TLC's way of counting generated states.
//
// Each TLA+ action is a method of Model named after it, taking the state
// and the action's parameters and writing the successor into out; it
// returns false when the action is not enabled. Servers are 0-based in Go
// and printed 1-based, as in a TLC model with Server = {1, 2, 3}. See
// README.md for the mapping, the constraint and the pinned figures.
package tlaraft

import (
	"fmt"
)

// Model is raft.tla under one Config. It is immutable and safe for
// concurrent use.
type Model struct {
	cfg   Config
	n     int                 // |Server|
	perms [][MaxServers]uint8 // every permutation of the servers, identity first
}

// New validates cfg and returns the model.
func New(cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Model{cfg: cfg, n: cfg.Servers}
	var p [MaxServers]uint8
	for i := range p {
		p[i] = uint8(i)
	}
	m.perms = permutations(p, 0, cfg.Servers, nil)
	return m, nil
}

// MustNew is New for configurations known to be valid; it panics
// otherwise.
func MustNew(cfg Config) *Model {
	m, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return m
}

// permutations appends every arrangement of p[k:n] (p[:k] fixed) to out,
// the identity first.
func permutations(p [MaxServers]uint8, k, n int, out [][MaxServers]uint8) [][MaxServers]uint8 {
	if k == n {
		return append(out, p)
	}
	for x := k; x < n; x++ {
		p[k], p[x] = p[x], p[k]
		out = permutations(p, k+1, n, out)
		p[k], p[x] = p[x], p[k]
	}
	return out
}

// Config returns the model's configuration.
func (m *Model) Config() Config { return m.cfg }

// Init is raft.tla's Init: messages is the empty function; every server a
// Follower in term 1 with votedFor Nil, empty votesResponded and
// votesGranted, nextIndex 1 and matchIndex 0 for every server, an empty
// log and commitIndex 0.
func (m *Model) Init() State {
	var s State
	for i := range m.n {
		v := &s.srv[i]
		v.term = 1
		for j := range m.n {
			v.next[j] = 1
		}
	}
	return s
}

// isQuorum reports whether the set mask is in Quorum: Cardinality(mask) * 2
// > Cardinality(Server).
func (m *Model) isQuorum(mask uint8) bool { return popcount(mask)*2 > m.n }

func popcount(x uint8) int {
	c := 0
	for ; x != 0; x &= x - 1 {
		c++
	}
	return c
}

// Restart is Restart(i): server i restarts from stable storage, keeping
// only currentTerm, votedFor and log. It has no guard.
func (m *Model) Restart(s *State, i int, out *State) bool {
	s.CopyTo(out)
	v := &out.srv[i]
	v.role = Follower
	v.responded, v.granted = 0, 0
	for j := range m.n {
		v.next[j], v.match[j] = 1, 0
	}
	v.commit = 0
	return true
}

// Timeout is Timeout(i), guard "state[i] \in {Follower, Candidate}":
// server i becomes a Candidate in the next term with votedFor Nil and
// empty votesResponded and votesGranted. It does not vote for itself: it
// will send itself a RequestVote.
func (m *Model) Timeout(s *State, i int, out *State) bool {
	if s.srv[i].role == Leader {
		return false
	}
	s.CopyTo(out)
	v := &out.srv[i]
	v.role = Candidate
	v.term++
	v.votedFor = 0
	v.responded, v.granted = 0, 0
	return true
}

// RequestVote is RequestVote(i, j), guard "state[i] = Candidate /\ j
// \notin votesResponded[i]" (j may be i): Candidate i sends j a
// RequestVoteRequest.
func (m *Model) RequestVote(s *State, i, j int, out *State) bool {
	v := &s.srv[i]
	if v.role != Candidate || v.responded&(1<<j) != 0 {
		return false
	}
	s.CopyTo(out)
	out.send(Msg{Type: RequestVoteRequest, Term: v.term, LastLogTerm: v.lastTerm(), LastLogIndex: v.logLen,
		Src: uint8(i), Dst: uint8(j)})
	return true
}

// BecomeLeader is BecomeLeader(i), guard "state[i] = Candidate /\
// votesGranted[i] \in Quorum": i becomes Leader with nextIndex Len(log[i])
// + 1 and matchIndex 0 for every server.
func (m *Model) BecomeLeader(s *State, i int, out *State) bool {
	v := &s.srv[i]
	if v.role != Candidate || !m.isQuorum(v.granted) {
		return false
	}
	s.CopyTo(out)
	w := &out.srv[i]
	w.role = Leader
	for j := range m.n {
		w.next[j], w.match[j] = w.logLen+1, 0
	}
	return true
}

// ClientRequest is ClientRequest(i, v) (v is 1-based), guard "state[i] =
// Leader": Leader i appends [term |-> currentTerm[i], value |-> v].
func (m *Model) ClientRequest(s *State, i, v int, out *State) bool {
	if s.srv[i].role != Leader {
		return false
	}
	s.CopyTo(out)
	w := &out.srv[i]
	w.appendEntry(Entry{Term: w.term, Value: uint8(v)})
	return true
}

// AdvanceCommitIndex is AdvanceCommitIndex(i), guard "state[i] = Leader":
// commitIndex[i] becomes the largest index a quorum (i itself and every k
// with matchIndex[i][k] >= index) agrees on, if that entry is of the
// current term, and stays as it is otherwise. It is enabled even when
// nothing changes.
func (m *Model) AdvanceCommitIndex(s *State, i int, out *State) bool {
	v := &s.srv[i]
	if v.role != Leader {
		return false
	}
	s.CopyTo(out)
	for index := v.logLen; index >= 1; index-- {
		agree := uint8(1) << i
		for k := range m.n {
			if v.match[k] >= index {
				agree |= 1 << k
			}
		}
		if m.isQuorum(agree) {
			if v.log[index-1].Term == v.term {
				out.srv[i].commit = index
			}
			break
		}
	}
	return true
}

// AppendEntries is AppendEntries(i, j), guard "i /= j /\ state[i] =
// Leader": Leader i sends j an AppendEntriesRequest with the entry at
// nextIndex[i][j], if there is one, and mcommitIndex Min({commitIndex[i],
// lastEntry}).
func (m *Model) AppendEntries(s *State, i, j int, out *State) bool {
	v := &s.srv[i]
	if i == j || v.role != Leader {
		return false
	}
	next := v.next[j]
	prevLogIndex := next - 1
	if prevLogIndex > v.logLen {
		// TLC would stop on log[i][prevLogIndex] out of its domain;
		// raft.tla's invariants keep nextIndex[i][j] <= Len(log[i]) + 1.
		panic(fmt.Sprintf("tlaraft: AppendEntries(%d, %d) with nextIndex %d past a log of %d", i+1, j+1, next, v.logLen))
	}
	msg := Msg{Type: AppendEntriesRequest, Term: v.term, PrevLogIndex: prevLogIndex, Src: uint8(i), Dst: uint8(j)}
	if prevLogIndex > 0 {
		msg.PrevLogTerm = v.log[prevLogIndex-1].Term
	}
	lastEntry := min(v.logLen, next)
	if next <= lastEntry { // SubSeq(log[i], next, lastEntry) has one entry
		msg.Entry = v.log[next-1]
	}
	msg.CommitIndex = min(v.commit, lastEntry)
	s.CopyTo(out)
	out.send(msg)
	return true
}

// HandleRequestVoteRequest is HandleRequestVoteRequest(i, j, m), guard
// "m.mterm <= currentTerm[i]": i grants its vote if m is of its term, m's
// log is at least as up to date as i's, and i has not voted for another;
// it replies either way and consumes m.
func (m *Model) HandleRequestVoteRequest(s *State, i, j int, msg Msg, out *State) bool {
	v := &s.srv[i]
	if msg.Term > v.term {
		return false
	}
	last := v.lastTerm()
	logOk := msg.LastLogTerm > last || msg.LastLogTerm == last && msg.LastLogIndex >= v.logLen
	grant := msg.Term == v.term && logOk && (v.votedFor == 0 || v.votedFor == uint8(j)+1)
	s.CopyTo(out)
	if grant {
		out.srv[i].votedFor = uint8(j) + 1
	}
	out.reply(Msg{Type: RequestVoteResponse, Term: v.term, VoteGranted: grant, Src: uint8(i), Dst: uint8(j)}, msg)
	return true
}

// HandleRequestVoteResponse is HandleRequestVoteResponse(i, j, m), guard
// "m.mterm = currentTerm[i]": i records j in votesResponded, and in
// votesGranted if the vote was granted (whatever i's state), and consumes
// m.
func (m *Model) HandleRequestVoteResponse(s *State, i, j int, msg Msg, out *State) bool {
	if msg.Term != s.srv[i].term {
		return false
	}
	s.CopyTo(out)
	v := &out.srv[i]
	v.responded |= 1 << j
	if msg.VoteGranted {
		v.granted |= 1 << j
	}
	out.discard(msg)
	return true
}

// HandleAppendEntriesRequest is HandleAppendEntriesRequest(i, j, m), guard
// "m.mterm <= currentTerm[i]" and one of its disjuncts:
//   - reject (m.mterm < currentTerm[i], or a Follower whose log does not
//     match at mprevLogIndex): reply failure, consume m;
//   - return to follower (a Candidate of m's term): become Follower, keep m;
//   - accept (a Follower of m's term whose log matches), then one of:
//     already done (no entry, or the entry is there): set commitIndex to
//     mcommitIndex (it may go down), reply success, consume m;
//     conflict (another entry at that index): remove the LAST entry of the
//     log, keep m; no conflict (the log ends at mprevLogIndex): append the
//     entry, keep m.
//
// A Leader of m's term enables none of them.
func (m *Model) HandleAppendEntriesRequest(s *State, i, j int, msg Msg, out *State) bool {
	v := &s.srv[i]
	if msg.Term > v.term {
		return false
	}
	logOk := msg.PrevLogIndex == 0 ||
		msg.PrevLogIndex <= v.logLen && msg.PrevLogTerm == v.log[msg.PrevLogIndex-1].Term
	switch {
	case msg.Term < v.term || v.role == Follower && !logOk: // reject request
		s.CopyTo(out)
		out.reply(Msg{Type: AppendEntriesResponse, Term: v.term, Success: false, MatchIndex: 0,
			Src: uint8(i), Dst: uint8(j)}, msg)
		return true
	case v.role == Candidate: // return to follower state
		s.CopyTo(out)
		out.srv[i].role = Follower
		return true
	case v.role == Follower: // accept request (logOk holds)
		index := msg.PrevLogIndex + 1
		hasEntry := msg.Entry.Term > 0
		switch {
		case !hasEntry || v.logLen >= index && v.log[index-1].Term == msg.Entry.Term: // already done
			s.CopyTo(out)
			out.srv[i].commit = msg.CommitIndex
			match := msg.PrevLogIndex
			if hasEntry {
				match++
			}
			out.reply(Msg{Type: AppendEntriesResponse, Term: v.term, Success: true, MatchIndex: match,
				Src: uint8(i), Dst: uint8(j)}, msg)
			return true
		case v.logLen >= index: // conflict: remove 1 entry
			s.CopyTo(out)
			out.srv[i].logLen--
			out.srv[i].log[v.logLen-1] = Entry{}
			return true
		case v.logLen == msg.PrevLogIndex: // no conflict: append entry
			s.CopyTo(out)
			out.srv[i].appendEntry(msg.Entry)
			return true
		}
	}
	return false
}

// HandleAppendEntriesResponse is HandleAppendEntriesResponse(i, j, m),
// guard "m.mterm = currentTerm[i]" (whatever i's state): on success
// nextIndex[i][j] becomes mmatchIndex + 1 and matchIndex[i][j] mmatchIndex
// (either may go down); on failure nextIndex[i][j] goes down by one, to no
// less than 1. It consumes m.
func (m *Model) HandleAppendEntriesResponse(s *State, i, j int, msg Msg, out *State) bool {
	if msg.Term != s.srv[i].term {
		return false
	}
	s.CopyTo(out)
	v := &out.srv[i]
	if msg.Success {
		v.next[j], v.match[j] = msg.MatchIndex+1, msg.MatchIndex
	} else {
		v.next[j] = max(v.next[j]-1, 1)
	}
	out.discard(msg)
	return true
}

// UpdateTerm is UpdateTerm(i, j, m), guard "m.mterm > currentTerm[i]": i
// moves to m's term as a Follower with votedFor Nil. The message stays in
// the bag, to be handled by a later step.
func (m *Model) UpdateTerm(s *State, i, j int, msg Msg, out *State) bool {
	if msg.Term <= s.srv[i].term {
		return false
	}
	s.CopyTo(out)
	v := &out.srv[i]
	v.term, v.role, v.votedFor = msg.Term, Follower, 0
	return true
}

// DropStaleResponse is DropStaleResponse(i, j, m), guard "m.mterm <
// currentTerm[i]": the response is consumed and ignored.
func (m *Model) DropStaleResponse(s *State, i, j int, msg Msg, out *State) bool {
	if msg.Term >= s.srv[i].term {
		return false
	}
	s.CopyTo(out)
	out.discard(msg)
	return true
}

// receiveHandler returns which disjunct of Receive(m) is enabled in s, as
// the kind of the action, and false if none is. The disjuncts exclude one
// another (they split on m.mtype and on m.mterm against currentTerm[i]),
// so TLC produces at most one successor for each message.
func (m *Model) receiveHandler(s *State, msg *Msg) (ActionKind, bool) {
	v := &s.srv[msg.Dst]
	switch {
	case msg.Term > v.term:
		return KindUpdateTerm, true
	case msg.Type == RequestVoteRequest:
		return KindHandleRequestVoteRequest, true
	case msg.Type == AppendEntriesRequest:
		// Every disjunct needs m.mterm < currentTerm[i] or state[i] /= Leader.
		return KindHandleAppendEntriesRequest, msg.Term < v.term || v.role != Leader
	case msg.Term < v.term:
		return KindDropStaleResponse, true
	case msg.Type == RequestVoteResponse:
		return KindHandleRequestVoteResponse, true
	default:
		return KindHandleAppendEntriesResponse, true
	}
}

// Receive is Receive(m) for m in DOMAIN messages (a message in flight):
// i = m.mdest receives m from j = m.msource through the one enabled
// disjunct among UpdateTerm, HandleRequestVoteRequest,
// DropStaleResponse, HandleRequestVoteResponse, HandleAppendEntriesRequest
// and HandleAppendEntriesResponse.
func (m *Model) Receive(s *State, msg Msg, out *State) bool {
	if s.count(msg.key()) == 0 {
		return false
	}
	k, ok := m.receiveHandler(s, &msg)
	return ok && m.handle(k, s, msg, out)
}

// handle runs the Receive disjunct of kind k.
func (m *Model) handle(k ActionKind, s *State, msg Msg, out *State) bool {
	i, j := int(msg.Dst), int(msg.Src)
	switch k {
	case KindUpdateTerm:
		return m.UpdateTerm(s, i, j, msg, out)
	case KindHandleRequestVoteRequest:
		return msg.Type == RequestVoteRequest && m.HandleRequestVoteRequest(s, i, j, msg, out)
	case KindHandleRequestVoteResponse:
		return msg.Type == RequestVoteResponse && m.HandleRequestVoteResponse(s, i, j, msg, out)
	case KindHandleAppendEntriesRequest:
		return msg.Type == AppendEntriesRequest && m.HandleAppendEntriesRequest(s, i, j, msg, out)
	case KindHandleAppendEntriesResponse:
		return msg.Type == AppendEntriesResponse && m.HandleAppendEntriesResponse(s, i, j, msg, out)
	case KindDropStaleResponse:
		return (msg.Type == RequestVoteResponse || msg.Type == AppendEntriesResponse) && m.DropStaleResponse(s, i, j, msg, out)
	}
	return false
}

// DuplicateMessage is DuplicateMessage(m) for m in DOMAIN messages:
// Send(m) again.
func (m *Model) DuplicateMessage(s *State, msg Msg, out *State) bool {
	if s.count(msg.key()) == 0 {
		return false
	}
	s.CopyTo(out)
	out.send(msg)
	return true
}

// DropMessage is DropMessage(m) for m in DOMAIN messages: Discard(m).
func (m *Model) DropMessage(s *State, msg Msg, out *State) bool {
	if s.count(msg.key()) == 0 {
		return false
	}
	s.CopyTo(out)
	out.discard(msg)
	return true
}

// Within is the state constraint: every currentTerm[i] <= MaxTerm, every
// Len(log[i]) <= MaxLogLen, every messages[m] <= MaxCopies and the sum of
// the counts <= MaxInFlight. As in TLC, a successor outside it is counted
// and checked against the invariants but neither stored nor explored.
func (m *Model) Within(s *State) bool {
	for i := range m.n {
		v := &s.srv[i]
		if int(v.term) > m.cfg.MaxTerm || int(v.logLen) > m.cfg.MaxLogLen {
			return false
		}
	}
	sum := 0
	for _, e := range s.bag[:s.n] {
		c := int(e & countMask)
		if c > m.cfg.MaxCopies {
			return false
		}
		sum += c
	}
	return sum <= m.cfg.MaxInFlight
}
