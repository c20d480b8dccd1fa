package raft

import (
	"errors"
	"fmt"

	"github.com/raftcheck/raftcheck/spec"
)

// Sentinel errors; the errors the Node returns wrap them, so test with
// errors.Is.
var (
	// ErrNotLeader: the operation needs a leader (Propose, Heartbeat). The
	// returned error is a *NotLeaderError naming the known leader.
	ErrNotLeader = errors.New("not the leader")
	// ErrLeader: Campaign on a server that already leads (the Timeout action
	// is enabled only for followers and candidates).
	ErrLeader = errors.New("already the leader")
	// ErrInvalidMessage: Step got a message that no correct server sends,
	// or one addressed to another server. The node is unchanged.
	ErrInvalidMessage = errors.New("invalid message")
	// ErrCommittedConflict: an AppendEntries would delete a committed entry.
	// A correct cluster never sends one (it means safety is already broken
	// elsewhere), so the node refuses it and stays unchanged.
	ErrCommittedConflict = errors.New("AppendEntries conflicts with a committed entry")
	// ErrStaleReady: Advance got a Ready other than the last one handed out,
	// or one already advanced.
	ErrStaleReady = errors.New("stale Ready")
	// ErrInvalidProposal: Propose got an empty value.
	ErrInvalidProposal = errors.New("invalid proposal")
	// ErrTermExhausted: the term cannot grow any further.
	ErrTermExhausted = errors.New("term exhausted")
)

// NotLeaderError is returned by Propose and Heartbeat on a server that is
// not the leader; it carries what the server knows of the leader, so a
// client can redirect.
type NotLeaderError struct {
	// ID is the server that refused.
	ID spec.ServerID
	// Role is its role.
	Role spec.Role
	// Term is its current term.
	Term spec.Term
	// Leader is the leader of Term as far as the server knows, or None.
	Leader spec.ServerID
}

// Error implements error.
func (e *NotLeaderError) Error() string {
	return fmt.Sprintf("%v is a %v in term %d, not the leader (leader: %v)", e.ID, e.Role, e.Term, e.Leader)
}

// Unwrap makes errors.Is(err, ErrNotLeader) hold.
func (e *NotLeaderError) Unwrap() error { return ErrNotLeader }
