package tlaraft

import (
	"fmt"
	"slices"

	"github.com/raftcheck/raftcheck/spec"
)

// Role is a server's state (raft.tla's Follower, Candidate and Leader),
// shared with the rest of raftcheck.
type Role = spec.Role

// The server states of raft.tla.
const (
	Follower  = spec.Follower
	Candidate = spec.Candidate
	Leader    = spec.Leader
)

// server holds the per-server variables of raft.tla for one server.
type server struct {
	term      uint8 // currentTerm
	role      Role  // state
	votedFor  uint8 // 0 for Nil, j+1 for server j
	logLen    uint8 // Len(log)
	commit    uint8 // commitIndex
	responded uint8 // votesResponded, bit j for server j
	granted   uint8 // votesGranted
	// log[k-1] is entry k. One entry more than MaxLogLenLimit: a successor
	// one append past the bound is generated (and then left unexplored).
	log         [MaxLogLenLimit + 1]Entry
	next, match [MaxServers]uint8 // nextIndex[i][j], matchIndex[i][j]
}

// State is a state of raft.tla without its proof-only history variables:
// the per-server variables and the bag messages, a function from whole
// message records to counts. WithoutMessage removes a message from the
// domain when its count drops to 0 (as raft.tla does since its fix of
// issue #2, "Receive() can receive dropped messages"), so the domain is
// exactly the messages in flight and a message once handled leaves no
// trace in the state.
//
// States are plain values; copy them with assignment or CopyTo (which
// copies only the used part of the bag).
type State struct {
	srv [MaxServers]server
	n   uint8               // |DOMAIN messages|
	bag [BagCapacity]uint32 // sorted: key<<countBits | count
}

// CopyTo copies s into out, the bag only as far as it is used.
func (s *State) CopyTo(out *State) {
	out.srv = s.srv
	out.n = s.n
	copy(out.bag[:s.n], s.bag[:s.n])
}

// find returns the position of the message with key k in the bag, or
// where it would be inserted, and whether it is in the domain.
func (s *State) find(k uint32) (int, bool) {
	lo, hi := 0, int(s.n)
	for lo < hi {
		h := int(uint(lo+hi) >> 1)
		if s.bag[h]>>countBits < k {
			lo = h + 1
		} else {
			hi = h
		}
	}
	return lo, lo < int(s.n) && s.bag[lo]>>countBits == k
}

// withMessage is WithMessage(m, messages) on s's bag, in place.
func (s *State) withMessage(k uint32) {
	at, ok := s.find(k)
	if ok {
		s.bag[at]++ // counts stay below 1<<countBits: see MaxCopiesLimit
		return
	}
	if int(s.n) == BagCapacity {
		panic(fmt.Sprintf("tlaraft: more than %d distinct messages in the bag; raise tlaraft.BagCapacity", BagCapacity))
	}
	copy(s.bag[at+1:s.n+1], s.bag[at:s.n])
	s.bag[at] = k<<countBits | 1
	s.n++
}

// withoutMessage is WithoutMessage(m, messages) on s's bag, in place: the
// count drops by one, and a message whose count reaches 0 leaves the
// domain.
func (s *State) withoutMessage(k uint32) {
	at, ok := s.find(k)
	switch {
	case !ok:
	case s.bag[at]&countMask > 1:
		s.bag[at]--
	default:
		copy(s.bag[at:s.n-1], s.bag[at+1:s.n])
		s.n--
	}
}

// count returns messages[m] for the message with key k, 0 when it is not
// in the domain.
func (s *State) count(k uint32) int {
	if at, ok := s.find(k); ok {
		return int(s.bag[at] & countMask)
	}
	return 0
}

// send is Send(m).
func (s *State) send(m Msg) { s.withMessage(m.key()) }

// discard is Discard(m).
func (s *State) discard(m Msg) { s.withoutMessage(m.key()) }

// reply is Reply(response, request).
func (s *State) reply(response, request Msg) {
	s.withMessage(response.key())
	s.withoutMessage(request.key())
}

// lastTerm is LastTerm(log[i]).
func (v *server) lastTerm() uint8 {
	if v.logLen == 0 {
		return 0
	}
	return v.log[v.logLen-1].Term
}

// appendEntry is log' = Append(log[i], e).
func (v *server) appendEntry(e Entry) {
	v.log[v.logLen] = e
	v.logLen++
}

// BagEntry is a message of the bag with its count.
type BagEntry struct {
	Msg   Msg
	Count int
}

// Messages returns the bag: every message in its domain with its count,
// in the order of the encoding.
func (s *State) Messages() []BagEntry {
	out := make([]BagEntry, s.n)
	for x, e := range s.bag[:s.n] {
		out[x] = BagEntry{unpack(e >> countBits), int(e & countMask)}
	}
	return out
}

// CurrentTerm returns currentTerm[i] (servers 0-based).
func (s *State) CurrentTerm(i int) int { return int(s.srv[i].term) }

// Role returns state[i].
func (s *State) Role(i int) Role { return s.srv[i].role }

// VotedFor returns votedFor[i] as a 0-based server, or -1 for Nil.
func (s *State) VotedFor(i int) int { return int(s.srv[i].votedFor) - 1 }

// Log returns a copy of log[i].
func (s *State) Log(i int) []Entry { return slices.Clone(s.srv[i].log[:s.srv[i].logLen]) }

// CommitIndex returns commitIndex[i].
func (s *State) CommitIndex(i int) int { return int(s.srv[i].commit) }
