package spec

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// MsgType is the kind of a Raft message: the two RPCs of Figure 2 and their
// responses.
type MsgType uint8

// The four Raft messages.
const (
	RequestVote MsgType = iota + 1
	RequestVoteResponse
	AppendEntries
	AppendEntriesResponse
	// InstallSnapshot is Figure 13's RPC, sent whole (one chunk). Its
	// answer is an AppendEntriesResponse: success with matchIndex =
	// lastIncludedIndex, or a refusal from a higher term.
	InstallSnapshot
	// PreVote and PreVoteResponse are the pre-vote round of thesis §9.6:
	// the fields of RequestVote (Term is the term the sender would stand
	// in, its own plus one) and of RequestVoteResponse; neither side
	// changes its term or vote for them.
	PreVote
	PreVoteResponse
	// TimeoutNow is leadership transfer's last step (thesis §3.10): the
	// receiver starts an election at once. It carries only the term.
	TimeoutNow
)

var msgTypeNames = [...]string{"", "RequestVote", "RequestVoteResponse", "AppendEntries", "AppendEntriesResponse", "InstallSnapshot", "PreVote", "PreVoteResponse", "TimeoutNow"}

// lastMsgType is the last message type.
const lastMsgType = TimeoutNow

// String returns the message type's name as written in Figure 2.
func (t MsgType) String() string {
	if int(t) < len(msgTypeNames) && t != 0 {
		return msgTypeNames[t]
	}
	return fmt.Sprintf("MsgType(%d)", uint8(t))
}

// ParseMsgType is the inverse of MsgType.String.
func ParseMsgType(s string) (MsgType, error) {
	for t := RequestVote; t <= lastMsgType; t++ {
		if t.String() == s {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown message type %q", s)
}

// Message is one Raft message in flight. Only the fields of its Type are
// meaningful; the others are zero, so that two messages are equal exactly
// when their meaningful fields are (see Equal and Compare).
//
//   - RequestVote: Term, LastLogIndex, LastLogTerm (Figure 2 RequestVote RPC
//     arguments; candidateId is From).
//   - RequestVoteResponse: Term, Granted (voteGranted).
//   - AppendEntries: Term, PrevLogIndex, PrevLogTerm, Entries, LeaderCommit
//     (leaderId is From).
//   - AppendEntriesResponse: Term, Success, and MatchIndex: on success the
//     index of the last entry the follower now holds in agreement with the
//     request (PrevLogIndex + len(Entries)); on failure a hint, the highest
//     index the leader may try next as PrevLogIndex:
//     min(PrevLogIndex-1, len(follower's log)).
//   - InstallSnapshot: Term, LastIncludedIndex, LastIncludedTerm, and the
//     snapshot's data as Entries: the committed prefix it replaces, up to
//     LastIncludedIndex (leaderId is From).
type Message struct {
	Type MsgType  `json:"type"`
	From ServerID `json:"from"`
	To   ServerID `json:"to"`
	Term Term     `json:"term"`

	LastLogIndex Index `json:"last_log_index,omitempty"`
	LastLogTerm  Term  `json:"last_log_term,omitempty"`
	Granted      bool  `json:"granted,omitempty"`

	PrevLogIndex Index   `json:"prev_log_index,omitempty"`
	PrevLogTerm  Term    `json:"prev_log_term,omitempty"`
	Entries      []Entry `json:"entries,omitempty"`
	LeaderCommit Index   `json:"leader_commit,omitempty"`

	Success    bool  `json:"success,omitempty"`
	MatchIndex Index `json:"match_index,omitempty"`

	LastIncludedIndex Index `json:"last_included_index,omitempty"`
	LastIncludedTerm  Term  `json:"last_included_term,omitempty"`

	// Transfer marks a RequestVote sent on TimeoutNow (leadership
	// transfer, thesis §3.10): voters grant it even while they have heard
	// from a leader recently (etcd's campaignTransfer).
	Transfer bool `json:"transfer,omitempty"`
}

// Validate reports the first structural problem of m: an unknown type, a
// missing or self-addressed endpoint, or a field that does not belong to
// the message's type.
func (m *Message) Validate() error {
	if m.Type < RequestVote || m.Type > lastMsgType {
		return fmt.Errorf("type: unknown message type %d", m.Type)
	}
	if m.From == None || m.To == None {
		return fmt.Errorf("from/to: message needs a sender and a receiver")
	}
	if m.Term == 0 {
		return fmt.Errorf("term: every message carries a term of at least 1")
	}
	if m.From == m.To {
		return fmt.Errorf("to: %v sends a message to itself", m.From)
	}
	var stray []string
	if m.Type != RequestVote && m.Type != PreVote && (m.LastLogIndex != 0 || m.LastLogTerm != 0) {
		stray = append(stray, "last_log_index/last_log_term")
	}
	if m.Type != RequestVote && m.Transfer {
		stray = append(stray, "transfer")
	}
	if m.Type != RequestVoteResponse && m.Type != PreVoteResponse && m.Granted {
		stray = append(stray, "granted")
	}
	if m.Type != AppendEntries && (m.PrevLogIndex != 0 || m.PrevLogTerm != 0 || m.LeaderCommit != 0) {
		stray = append(stray, "prev_log_index/prev_log_term/leader_commit")
	}
	if m.Type != AppendEntries && m.Type != InstallSnapshot && len(m.Entries) != 0 {
		stray = append(stray, "entries")
	}
	if m.Type != InstallSnapshot && (m.LastIncludedIndex != 0 || m.LastIncludedTerm != 0) {
		stray = append(stray, "last_included_index/last_included_term")
	}
	if m.Type != AppendEntriesResponse && (m.Success || m.MatchIndex != 0) {
		stray = append(stray, "success/match_index")
	}
	if len(stray) > 0 {
		return fmt.Errorf("%s: not a field of %v", strings.Join(stray, ", "), m.Type)
	}
	if m.Type == InstallSnapshot {
		if err := m.validateSnapshot(); err != nil {
			return err
		}
	}
	if m.Type == AppendEntries {
		if m.PrevLogIndex == 0 && m.PrevLogTerm != 0 {
			return fmt.Errorf("prev_log_term: must be 0 when prev_log_index is 0")
		}
		for k, e := range m.Entries {
			if e.Term > m.Term {
				return fmt.Errorf("entries[%d]: entry term %d above message term %d", k, e.Term, m.Term)
			}
		}
	}
	return nil
}

// validateSnapshot checks an InstallSnapshot: a last included entry of a
// term no later than the message's, and exactly that many entries of data
// ending with it.
func (m *Message) validateSnapshot() error {
	switch {
	case m.LastIncludedIndex == 0 || m.LastIncludedTerm == 0:
		return fmt.Errorf("last_included_index/last_included_term: a snapshot includes at least one entry")
	case m.LastIncludedTerm > m.Term:
		return fmt.Errorf("last_included_term: %d above the message term %d", m.LastIncludedTerm, m.Term)
	case int(m.LastIncludedIndex) != len(m.Entries):
		return fmt.Errorf("entries: %d entries of data for a snapshot up to index %d", len(m.Entries), m.LastIncludedIndex)
	case m.Entries[len(m.Entries)-1].Term != m.LastIncludedTerm:
		return fmt.Errorf("entries: the last entry's term %d is not last_included_term %d", m.Entries[len(m.Entries)-1].Term, m.LastIncludedTerm)
	}
	return nil
}

// FieldDifference is one field in which two messages differ, by its JSON
// name, with each message's value.
type FieldDifference struct {
	Field string
	A, B  any
}

// FieldDiff lists the fields in which m (A) and o (B) differ.
func (m *Message) FieldDiff(o *Message) []FieldDifference {
	var d []FieldDifference
	add := func(name string, a, b any) {
		if fmt.Sprint(a) != fmt.Sprint(b) {
			d = append(d, FieldDifference{name, a, b})
		}
	}
	add("type", m.Type, o.Type)
	add("from", m.From, o.From)
	add("to", m.To, o.To)
	add("term", m.Term, o.Term)
	add("last_log_index", m.LastLogIndex, o.LastLogIndex)
	add("last_log_term", m.LastLogTerm, o.LastLogTerm)
	add("granted", m.Granted, o.Granted)
	add("prev_log_index", m.PrevLogIndex, o.PrevLogIndex)
	add("prev_log_term", m.PrevLogTerm, o.PrevLogTerm)
	add("entries", m.Entries, o.Entries)
	add("leader_commit", m.LeaderCommit, o.LeaderCommit)
	add("success", m.Success, o.Success)
	add("match_index", m.MatchIndex, o.MatchIndex)
	add("last_included_index", m.LastIncludedIndex, o.LastIncludedIndex)
	add("last_included_term", m.LastIncludedTerm, o.LastIncludedTerm)
	return d
}

// Closest returns the message of network that differs from m in the
// fewest fields (preferring the same type, sender and receiver), with
// those fields; ok is false for an empty network.
func (m *Message) Closest(network []InFlight) (closest Message, diff []FieldDifference, ok bool) {
	best := -1
	for _, f := range network {
		d := m.FieldDiff(&f.Message)
		score := len(d)
		if f.Message.Type != m.Type || f.Message.From != m.From || f.Message.To != m.To {
			score += 100
		}
		if best < 0 || score < best {
			best, closest, diff = score, f.Message, d
		}
	}
	return closest, diff, best >= 0
}

// Equal reports whether a and b are the same message.
func (m *Message) Equal(o *Message) bool { return CompareMessages(m, o) == 0 }

// CompareMessages orders messages totally, so that a multiset of messages
// has one canonical listing.
func CompareMessages(a, b *Message) int {
	if c := cmp.Compare(a.Type, b.Type); c != 0 {
		return c
	}
	if c := cmp.Compare(a.From, b.From); c != 0 {
		return c
	}
	if c := cmp.Compare(a.To, b.To); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Term, b.Term); c != 0 {
		return c
	}
	for _, c := range [...]int{
		cmp.Compare(a.LastLogIndex, b.LastLogIndex),
		cmp.Compare(a.LastLogTerm, b.LastLogTerm),
		cmpBool(a.Granted, b.Granted),
		cmp.Compare(a.PrevLogIndex, b.PrevLogIndex),
		cmp.Compare(a.PrevLogTerm, b.PrevLogTerm),
		slices.CompareFunc(a.Entries, b.Entries, compareEntries),
		cmp.Compare(a.LeaderCommit, b.LeaderCommit),
		cmpBool(a.Success, b.Success),
		cmp.Compare(a.MatchIndex, b.MatchIndex),
		cmp.Compare(a.LastIncludedIndex, b.LastIncludedIndex),
		cmp.Compare(a.LastIncludedTerm, b.LastIncludedTerm),
		cmpBool(a.Transfer, b.Transfer),
	} {
		if c != 0 {
			return c
		}
	}
	return 0
}

func compareEntries(a, b Entry) int {
	if c := cmp.Compare(a.Term, b.Term); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Value, b.Value); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Config, b.Config); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Outgoing, b.Outgoing); c != 0 {
		return c
	}
	return cmp.Compare(a.Learners, b.Learners)
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// String renders the message compactly, e.g.
// "AppendEntries S1->S2 t2 prev=1/1 [2:bob] commit=1".
func (m Message) String() string {
	head := fmt.Sprintf("%v %v->%v t%d", m.Type, m.From, m.To, m.Term)
	switch m.Type {
	case RequestVote, PreVote:
		if m.Transfer {
			head += " transfer"
		}
		return fmt.Sprintf("%s last=%d/%d", head, m.LastLogIndex, m.LastLogTerm)
	case RequestVoteResponse, PreVoteResponse:
		if m.Granted {
			return head + " granted"
		}
		return head + " refused"
	case AppendEntries:
		return fmt.Sprintf("%s prev=%d/%d %s commit=%d", head, m.PrevLogIndex, m.PrevLogTerm, formatLog(m.Entries, 0), m.LeaderCommit)
	case InstallSnapshot:
		return fmt.Sprintf("%s snapshot=%d/%d %s", head, m.LastIncludedIndex, m.LastIncludedTerm, formatLog(m.Entries, 0))
	case AppendEntriesResponse:
		if m.Success {
			return fmt.Sprintf("%s ok match=%d", head, m.MatchIndex)
		}
		return fmt.Sprintf("%s reject hint=%d", head, m.MatchIndex)
	}
	return head
}

// InFlight is one distinct message of the network together with how many
// copies of it are in flight: the network is a multiset of messages.
type InFlight struct {
	Message Message `json:"message"`
	Count   int     `json:"count"`
}

// SortInFlight puts a network listing into its canonical order.
func SortInFlight(msgs []InFlight) {
	slices.SortFunc(msgs, func(a, b InFlight) int { return CompareMessages(&a.Message, &b.Message) })
}
