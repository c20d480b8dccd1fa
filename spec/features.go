package spec

import (
	"fmt"
	"strings"
)

// Features are the protocol's optional mechanisms beyond Figure 2, each a
// switch with the same meaning in the model, in raftcheck's implementation
// and in any system checked against them (spec/README.md, "Optional
// mechanisms"). The zero value is the protocol of Figure 2 exactly.
type Features struct {
	// ConflictHint: a follower refusing an AppendEntries because it holds
	// an entry of another term T at prevLogIndex hints the index before
	// the first entry of term T (§5.3), so a stale tail is skipped term by
	// term; without it the hint is min(prevLogIndex-1, last index).
	ConflictHint bool `json:"conflict_hint,omitempty"`
	// ReplicateOnPropose: a leader sends AppendEntries to every peer as
	// soon as it appends a client's value (ClientRequest is followed at
	// once by the effect of Heartbeat), instead of at the next heartbeat.
	ReplicateOnPropose bool `json:"replicate_on_propose,omitempty"`
	// MaxBatch > 0 bounds the entries one AppendEntries carries: the first
	// MaxBatch from nextIndex on; 0 sends the whole suffix.
	MaxBatch int `json:"max_batch,omitempty"`
	// MaxInflight > 0 turns on pipelining: once a follower has
	// acknowledged an AppendEntries, the leader sends it new entries
	// optimistically — nextIndex moves past them when they are sent — with
	// at most MaxInflight such requests unacknowledged; with the window
	// full a heartbeat is an empty AppendEntries after the last entry sent.
	// A refusal puts the follower back to probing (one request at a time,
	// nextIndex from the hint) and is answered at once with a new request;
	// an acknowledgement that leaves room is answered with the next batch.
	MaxInflight int `json:"max_inflight,omitempty"`
}

// String names the features switched on, e.g. "conflict-hint", or "".
func (f Features) String() string {
	var on []string
	if f.ConflictHint {
		on = append(on, "conflict-hint")
	}
	if f.ReplicateOnPropose {
		on = append(on, "replicate-on-propose")
	}
	if f.MaxBatch > 0 {
		on = append(on, fmt.Sprintf("max-batch=%d", f.MaxBatch))
	}
	if f.MaxInflight > 0 {
		on = append(on, fmt.Sprintf("max-inflight=%d", f.MaxInflight))
	}
	return strings.Join(on, " ")
}
