package raft

import (
	"errors"
	"fmt"
	"strings"
)

// BuildTag is the build tag that compiles the fault switches into the
// core: go test -tags raftfaults. Without it the core has none (every check
// of a switch is the constant false, and the compiler removes it), and
// NewWithFaults refuses any fault with ErrFaultsNotCompiled, so a
// production binary cannot switch one on.
const BuildTag = "raftfaults"

// ErrFaultsNotCompiled is returned when a fault is asked for in a build
// without the raftfaults tag.
var ErrFaultsNotCompiled = errors.New("fault switches are compiled only with -tags " + BuildTag)

// Faults are test-only seeded bugs, each breaking one rule of the protocol
// the way one of the model's seeded bugs does (model.Bugs), so that tests
// and the replay tooling can show that a broken implementation is caught.
// The type is always compiled, so that code naming faults builds either
// way; a node gets them only from NewWithFaults, in a build with the
// raftfaults tag (FaultsCompiled). All are off in the zero value.
type Faults struct {
	// Figure8Commit: a leader commits any index stored on a majority,
	// without the log[N].term == currentTerm check (§5.4.2; model bug
	// figure8-commit).
	Figure8Commit bool
	// VoteWithoutLogCheck: votes are granted without the up-to-date check
	// on the candidate's log (§5.4.1; model bug vote-without-log-check).
	VoteWithoutLogCheck bool
	// TruncateOnStaleAppend: a follower deletes every entry after
	// prevLogIndex before appending, even entries that match, so a stale or
	// reordered AppendEntries removes entries (model bug
	// truncate-on-stale-append).
	TruncateOnStaleAppend bool
	// ForgetVoteOnRestart: votedFor is kept in memory only (Ready never
	// asks to persist it, and a restored one is ignored), so after a restart
	// a server can vote twice in one term (model bug forget-vote-on-restart).
	ForgetVoteOnRestart bool
	// CommitFromLeaderCommit: a follower takes leaderCommit, capped only
	// by the end of its own log, as soon as an AppendEntries arrives —
	// before the consistency check, so also from a request it refuses
	// (Figure 2 AppendEntries rule 5; model bug commit-from-leadercommit).
	CommitFromLeaderCommit bool
	// CommitToLastIndex: after a successful consistency check a follower
	// sets commitIndex = min(leaderCommit, its own last index) instead of
	// the index of the last new entry, which with bounded batches
	// (MaxAppendEntries) covers a stale tail the leader has not checked
	// (Figure 2 AppendEntries rule 5; model bug commit-to-last-index).
	CommitToLastIndex bool
	// SnapshotKeepsConflictingSuffix: a follower installing a snapshot
	// keeps every entry after the snapshot's last index whenever its log
	// reaches that index, whatever the term there (Figure 13
	// InstallSnapshot steps 6-7; model bug
	// snapshot-keeps-conflicting-suffix).
	SnapshotKeepsConflictingSuffix bool
	// SnapshotDiscardsMatchingSuffix: a follower installing a snapshot
	// discards its whole log, also when it holds the snapshot's last entry
	// and the entries after it should be kept (Figure 13 InstallSnapshot
	// step 6; model bug snapshot-discards-matching-suffix).
	SnapshotDiscardsMatchingSuffix bool
	// ReconfigBeforeTermCommit: a leader proposes a configuration change
	// before it has committed an entry of its term (the bug of
	// single-server changes Ongaro reported in 2015; model bug
	// reconfig-before-term-commit).
	ReconfigBeforeTermCommit bool
	// CountNonmemberVotes: a candidate asks every server for its vote and
	// counts votes from non-voters towards a majority of its voters
	// (thesis §4.1; model bug count-nonmember-votes).
	CountNonmemberVotes bool
	// ConcurrentReconfigs: a leader proposes a configuration change while
	// an earlier one is uncommitted (thesis §4.2; model bug
	// concurrent-reconfigs).
	ConcurrentReconfigs bool
	// ConfigOnCommit: a server uses the last committed configuration
	// entry instead of the last one in its log (§4.1's rule inverted;
	// model bug config-on-commit).
	ConfigOnCommit bool
	// SoleVoterWaits is not a bug of the protocol but the model's gap in
	// a configuration of one voter: a candidate that is the only voter
	// does not win on its own vote, and a leader that is the only voter
	// does not commit its own appends, at a heartbeat tick either — both
	// wait for a response to arrive, which may never come
	// (impl/CONFORMANCE.md, item 4). Conformance switches it on to
	// compare joint and learner changes, which reach one-voter
	// configurations, beyond that gap.
	SoleVoterWaits bool
}

// Any reports whether any fault is switched on.
func (f Faults) Any() bool { return f != Faults{} }

// Validate reports whether f can be switched on in this build: any Faults
// with the raftfaults tag, only the zero value without it (an error
// wrapping ErrFaultsNotCompiled).
func (f Faults) Validate() error {
	if f.Any() && !FaultsCompiled {
		return fmt.Errorf("raft: faults %s: %w", f.names(), ErrFaultsNotCompiled)
	}
	return nil
}

// names lists the faults switched on, for error messages.
func (f Faults) names() string {
	var on []string
	for _, s := range []struct {
		on   bool
		name string
	}{
		{f.Figure8Commit, "Figure8Commit"},
		{f.VoteWithoutLogCheck, "VoteWithoutLogCheck"},
		{f.TruncateOnStaleAppend, "TruncateOnStaleAppend"},
		{f.ForgetVoteOnRestart, "ForgetVoteOnRestart"},
		{f.CommitFromLeaderCommit, "CommitFromLeaderCommit"},
		{f.CommitToLastIndex, "CommitToLastIndex"},
		{f.SnapshotKeepsConflictingSuffix, "SnapshotKeepsConflictingSuffix"},
		{f.SnapshotDiscardsMatchingSuffix, "SnapshotDiscardsMatchingSuffix"},
		{f.ReconfigBeforeTermCommit, "ReconfigBeforeTermCommit"},
		{f.CountNonmemberVotes, "CountNonmemberVotes"},
		{f.ConcurrentReconfigs, "ConcurrentReconfigs"},
		{f.ConfigOnCommit, "ConfigOnCommit"},
		{f.SoleVoterWaits, "SoleVoterWaits"},
	} {
		if s.on {
			on = append(on, s.name)
		}
	}
	return strings.Join(on, ", ")
}

// NewWithFaults is New with the seeded bugs f switched on. Without the
// raftfaults build tag it fails for any fault (ErrFaultsNotCompiled) and
// is New for the zero Faults, so that a replay driver can always pass its
// faults through. Only tests and the replay tooling call it.
func NewWithFaults(cfg Config, f Faults) (*Node, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return build(cfg, compileFaults(f))
}
