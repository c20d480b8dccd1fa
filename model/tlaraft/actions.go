package tlaraft

import "fmt"

// ActionKind is the TLA+ action an Action instantiates; Receive(m) is
// split by the disjunct that handles m, for coverage.
type ActionKind uint8

// The kinds of action, in the order of raft.tla's Next.
const (
	KindTimeout ActionKind = iota
	KindRestart
	KindRequestVote
	KindBecomeLeader
	KindClientRequest
	KindAdvanceCommitIndex
	KindAppendEntries
	KindUpdateTerm // Receive(m) via UpdateTerm, and so on
	KindHandleRequestVoteRequest
	KindHandleRequestVoteResponse
	KindHandleAppendEntriesRequest
	KindHandleAppendEntriesResponse
	KindDropStaleResponse
	KindDuplicateMessage
	KindDropMessage
	numKinds
)

var kindNames = [numKinds]string{"Timeout", "Restart", "RequestVote", "BecomeLeader", "ClientRequest",
	"AdvanceCommitIndex", "AppendEntries", "Receive/UpdateTerm", "Receive/HandleRequestVoteRequest",
	"Receive/HandleRequestVoteResponse", "Receive/HandleAppendEntriesRequest",
	"Receive/HandleAppendEntriesResponse", "Receive/DropStaleResponse", "DuplicateMessage", "DropMessage"}

// KindNames names the action kinds, indexed by ActionKind.
func KindNames() []string { return kindNames[:] }

// String names the kind, e.g. "AppendEntries" or "Receive/UpdateTerm".
func (k ActionKind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("ActionKind(%d)", uint8(k))
}

// isReceive reports whether k is a disjunct of Receive(m).
func (k ActionKind) isReceive() bool { return k >= KindUpdateTerm && k <= KindDropStaleResponse }

// Action is one instance of a TLA+ action: its kind, its server
// parameters I and J (0-based), its value V (1-based) and, for Receive,
// DuplicateMessage and DropMessage, the message.
type Action struct {
	Kind ActionKind
	I, J uint8
	V    uint8
	key  uint32
}

// Msg returns the message of a Receive, DuplicateMessage or DropMessage
// action.
func (a Action) Msg() Msg { return unpack(a.key) }

// String renders a as the TLA+ action instance with 1-based servers, e.g.
// "RequestVote(1, 2)" or "Receive(AppendEntriesRequest 1→2 term 2 prev
// 0/0 entries [2:v1] commit 0) via HandleAppendEntriesRequest".
func (a Action) String() string {
	switch a.Kind {
	case KindTimeout, KindRestart, KindBecomeLeader, KindAdvanceCommitIndex:
		return fmt.Sprintf("%v(%d)", a.Kind, a.I+1)
	case KindRequestVote, KindAppendEntries:
		return fmt.Sprintf("%v(%d, %d)", a.Kind, a.I+1, a.J+1)
	case KindClientRequest:
		return fmt.Sprintf("ClientRequest(%d, v%d)", a.I+1, a.V)
	case KindDuplicateMessage, KindDropMessage:
		return fmt.Sprintf("%v(%v)", a.Kind, a.Msg())
	}
	if a.Kind.isReceive() {
		return fmt.Sprintf("Receive(%v) via %s", a.Msg(), kindNames[a.Kind][len("Receive/"):])
	}
	return a.Kind.String()
}

// Actions appends to dst every enabled action instance of Next in s, one
// per successor TLC computes, in the order of raft.tla's Next: Timeout,
// Restart, RequestVote, BecomeLeader, ClientRequest, AdvanceCommitIndex,
// AppendEntries (each over the servers in order), then Receive,
// DuplicateMessage and DropMessage over DOMAIN messages (the messages in
// flight) in bag order.
func (m *Model) Actions(s *State, dst []Action) []Action {
	n := m.n
	for i := range n {
		if s.srv[i].role != Leader {
			dst = append(dst, Action{Kind: KindTimeout, I: uint8(i)})
		}
	}
	if m.cfg.Restart {
		for i := range n {
			dst = append(dst, Action{Kind: KindRestart, I: uint8(i)})
		}
	}
	for i := range n {
		if v := &s.srv[i]; v.role == Candidate {
			for j := range n {
				if v.responded&(1<<j) == 0 {
					dst = append(dst, Action{Kind: KindRequestVote, I: uint8(i), J: uint8(j)})
				}
			}
		}
	}
	for i := range n {
		if v := &s.srv[i]; v.role == Candidate && m.isQuorum(v.granted) {
			dst = append(dst, Action{Kind: KindBecomeLeader, I: uint8(i)})
		}
	}
	for i := range n {
		if s.srv[i].role == Leader {
			for v := 1; v <= m.cfg.Values; v++ {
				dst = append(dst, Action{Kind: KindClientRequest, I: uint8(i), V: uint8(v)})
			}
		}
	}
	for i := range n {
		if s.srv[i].role == Leader {
			dst = append(dst, Action{Kind: KindAdvanceCommitIndex, I: uint8(i)})
		}
	}
	for i := range n {
		if s.srv[i].role == Leader {
			for j := range n {
				if j != i {
					dst = append(dst, Action{Kind: KindAppendEntries, I: uint8(i), J: uint8(j)})
				}
			}
		}
	}
	for _, e := range s.bag[:s.n] {
		k := e >> countBits
		msg := unpack(k)
		if kind, ok := m.receiveHandler(s, &msg); ok {
			dst = append(dst, Action{Kind: kind, I: msg.Dst, J: msg.Src, key: k})
		}
	}
	if m.cfg.Duplicate {
		for _, e := range s.bag[:s.n] {
			dst = append(dst, Action{Kind: KindDuplicateMessage, key: e >> countBits})
		}
	}
	if m.cfg.Drop {
		for _, e := range s.bag[:s.n] {
			dst = append(dst, Action{Kind: KindDropMessage, key: e >> countBits})
		}
	}
	return dst
}

// Next writes the successor of s under a into out and reports whether a
// is enabled in s.
func (m *Model) Next(s *State, a Action, out *State) bool {
	i, j := int(a.I), int(a.J)
	if i >= m.n || j >= m.n {
		return false
	}
	switch a.Kind {
	case KindTimeout:
		return m.Timeout(s, i, out)
	case KindRestart:
		return m.cfg.Restart && m.Restart(s, i, out)
	case KindRequestVote:
		return m.RequestVote(s, i, j, out)
	case KindBecomeLeader:
		return m.BecomeLeader(s, i, out)
	case KindClientRequest:
		return a.V >= 1 && int(a.V) <= m.cfg.Values && m.ClientRequest(s, i, int(a.V), out)
	case KindAdvanceCommitIndex:
		return m.AdvanceCommitIndex(s, i, out)
	case KindAppendEntries:
		return m.AppendEntries(s, i, j, out)
	case KindDuplicateMessage:
		return m.cfg.Duplicate && m.DuplicateMessage(s, a.Msg(), out)
	case KindDropMessage:
		return m.cfg.Drop && m.DropMessage(s, a.Msg(), out)
	}
	if a.Kind.isReceive() && s.count(a.key) > 0 {
		return m.handle(a.Kind, s, a.Msg(), out)
	}
	return false
}
