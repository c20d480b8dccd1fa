package raft

import (
	"fmt"
	"slices"

	"github.com/raftcheck/raftcheck/spec"
)

// Volatile is the volatile state of Figure 2 that a node is resumed in
// (Config.Resume): what a node holds in the middle of a run besides its
// persistent state. It is laid out as spec.View lays it out, so a checker
// can resume a node in any state of the specification and compare one
// step of it, instead of replaying a path to that state.
type Volatile struct {
	Role        spec.Role
	CommitIndex spec.Index
	// NextIndex and MatchIndex (leaders only) have one slot per server,
	// server j at j-1; the own slot is ignored.
	NextIndex, MatchIndex []spec.Index
	// Votes (candidates only) are the servers that granted a vote.
	Votes []spec.ServerID
}

// resume puts a node just built from cfg.Restore into the volatile state
// v, as if it had got there by its own steps and every Ready had been
// handled: nothing is pending, every committed entry it holds is applied,
// and stable storage is taken to hold exactly cfg.Restore. A leader's
// peers are all being probed (no AppendEntries unacknowledged), as after
// an election, since the specification's state does not say more.
func (r *Node) resume(v *Volatile) error {
	if err := r.checkVolatile(v); err != nil {
		return fmt.Errorf("raft: resume: %w", err)
	}
	r.votedFor = r.cfg.Restore.VotedFor // a resumed node did not restart
	r.saved = r.hardState()
	r.commit = v.CommitIndex
	r.applied = r.committedInLog()
	switch v.Role {
	case spec.Leader:
		r.becomeLeader()
		for j := 1; j <= r.n; j++ {
			if spec.ServerID(j) != r.id {
				r.next[j], r.match[j] = v.NextIndex[j-1], v.MatchIndex[j-1]
			}
		}
	case spec.Candidate:
		r.role, r.leader = spec.Candidate, spec.None
		r.votes = make([]bool, r.n+1)
		for _, id := range v.Votes {
			r.votes[id] = true
		}
	}
	return nil
}

// checkVolatile reports a volatile state this node could not be in.
func (r *Node) checkVolatile(v *Volatile) error {
	if v.CommitIndex < r.snap.Index {
		return fmt.Errorf("commit index %d below the snapshot index %d", v.CommitIndex, r.snap.Index)
	}
	switch v.Role {
	case spec.Follower:
	case spec.Leader:
		if len(v.NextIndex) != r.n || len(v.MatchIndex) != r.n {
			return fmt.Errorf("leader: %d next and %d match indices for %d servers", len(v.NextIndex), len(v.MatchIndex), r.n)
		}
		for j := range r.n {
			if spec.ServerID(j+1) == r.id {
				continue
			}
			if n, m := v.NextIndex[j], v.MatchIndex[j]; n < 1 || n > r.lastIndex()+1 || m > r.lastIndex() {
				return fmt.Errorf("leader: server %d: next index %d, match index %d for a log ending at %d", j+1, n, m, r.lastIndex())
			}
		}
	case spec.Candidate:
		for k, id := range v.Votes {
			if id == spec.None || int(id) > r.n || slices.Contains(v.Votes[:k], id) {
				return fmt.Errorf("candidate: votes %v: not distinct servers of a %d-server cluster", v.Votes, r.n)
			}
		}
	default:
		return fmt.Errorf("role %d is not a role", v.Role)
	}
	return nil
}
