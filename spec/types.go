// Package spec is the shared vocabulary of raftcheck: the state, message and
// action types that the model (package model), the production implementation
// (package impl) and the trace format (package traces) all speak, and the
// safety properties of Raft written as pure functions over that vocabulary.
//
// The names follow the Raft paper (Ongaro and Ousterhout, "In Search of an
// Understandable Consensus Algorithm", 2014), Figure 2 for the rules and
// Figure 3 for the properties. spec/README.md writes the whole specification
// out, action by action, with the mapping to Ongaro's raft.tla.
package spec

import (
	"fmt"
	"strconv"
	"strings"
)

// ServerID names a server. Servers are numbered 1..N; None (0) means "no
// server", as in votedFor = null in Figure 2.
type ServerID uint8

// None is the ServerID of no server.
const None ServerID = 0

// MaxServers is the largest cluster the vocabulary describes.
const MaxServers = 7

// String renders the id as "S1".."S7", or "-" for None.
func (id ServerID) String() string {
	if id == None {
		return "-"
	}
	return "S" + strconv.Itoa(int(id))
}

// Term is a Raft term number (Figure 2, currentTerm). Terms start at 0 and
// only grow.
type Term uint64

// Index is a position in a log. The first entry has index 1; index 0 means
// "before the first entry".
type Index uint64

// Value is a client command stored in a log entry. The model uses a small,
// bounded set of values; the implementation stores arbitrary bytes, shown
// here as a string.
type Value string

// Entry is one log entry: the term in which a leader created it and the
// client value it carries (Figure 2, log[]), or, for a configuration entry
// (thesis §4.1), the configuration it installs; then Value is "". Config
// is the voters (C_new during joint consensus), Outgoing the voters of
// C_old while the entry is a joint configuration C_old,new (paper §6),
// Learners the non-voting members (thesis §4.2.1). A configuration entry
// has Config set.
type Entry struct {
	Term     Term    `json:"term"`
	Value    Value   `json:"value"`
	Config   Members `json:"config,omitempty"`
	Outgoing Members `json:"outgoing,omitempty"`
	Learners Members `json:"learners,omitempty"`
}

// Configuration is the configuration an entry installs.
func (e Entry) Configuration() Configuration {
	return Configuration{Voters: e.Config, Outgoing: e.Outgoing, Learners: e.Learners}
}

// String renders the entry as term:value, the way the classic animation
// labels a log box ("1 sally"), or as term:{S1,S2} for a configuration
// (term:{S1,S2}&{S1,S3} when joint, +{S4} for learners).
func (e Entry) String() string {
	if e.Config != 0 {
		return fmt.Sprintf("%d:%v", e.Term, e.Configuration())
	}
	return fmt.Sprintf("%d:%s", e.Term, e.Value)
}

// Role is a server's role (Figure 2: follower, candidate, leader).
type Role uint8

// The three roles of Figure 2, and PreCandidate: a server running the
// pre-vote round of thesis §9.6 before it stands (its term not yet
// incremented).
const (
	Follower Role = iota
	Candidate
	Leader
	PreCandidate
)

// String returns the role's name.
func (r Role) String() string {
	switch r {
	case Follower:
		return "follower"
	case Candidate:
		return "candidate"
	case Leader:
		return "leader"
	case PreCandidate:
		return "precandidate"
	}
	return "role(" + strconv.Itoa(int(r)) + ")"
}

// ParseRole is the inverse of Role.String.
func ParseRole(s string) (Role, error) {
	for r := Follower; r <= PreCandidate; r++ {
		if r.String() == s {
			return r, nil
		}
	}
	return 0, fmt.Errorf("unknown role %q (want follower, candidate, leader or precandidate)", s)
}

// LastTerm is the term of the last entry of log, or 0 for an empty log.
func LastTerm(log []Entry) Term {
	if len(log) == 0 {
		return 0
	}
	return log[len(log)-1].Term
}

// UpToDate reports whether a log whose last entry has (lastTerm, lastIndex)
// is at least as up-to-date as log (§5.4.1): "If the logs have last entries
// with different terms, then the log with the later term is more
// up-to-date. If the logs end with the same term, then whichever log is
// longer is more up-to-date."
func UpToDate(lastTerm Term, lastIndex Index, log []Entry) bool {
	mine := LastTerm(log)
	return lastTerm > mine || (lastTerm == mine && lastIndex >= Index(len(log)))
}

// Quorum is the smallest majority of a cluster of n servers.
func Quorum(n int) int { return n/2 + 1 }

// formatLog renders a log as [1:a 1:b], marking the committed prefix with a
// bar after the last committed entry.
func formatLog(log []Entry, commit Index) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, e := range log {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(e.String())
		if Index(i+1) == commit {
			b.WriteByte('|')
		}
	}
	b.WriteByte(']')
	return b.String()
}
