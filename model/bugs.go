package model

import "github.com/raftcheck/raftcheck/spec"

// bugID identifies a seeded bug; noBug is the correct protocol.
type bugID uint8

const (
	noBug bugID = iota
	bugFigure8Commit
	bugVoteWithoutLogCheck
	bugForgetVoteOnRestart
	bugTruncateOnStaleAppend
	bugCommitFromLeaderCommit
	bugAcceptStaleTerm
	bugStayLeaderOnHigherTerm
	bugCountStaleVotes
	bugCountDuplicateVotes
	bugMatchIndexRegress
	bugIgnoreHigherTermInResponse
	bugCommitToLastIndex
	bugSnapshotKeepsConflictingSuffix
	bugSnapshotDiscardsMatchingSuffix
	bugSnapshotTermFromData
	bugCompactBeyondCommit
	bugReconfigBeforeTermCommit
	bugConfigOnCommit
	bugCountNonmemberVotes
	bugConcurrentReconfigs
	bugRejoinBlankDisk
	bugLeaveJointEarly
	bugJointNewMajorityOnly
)

// Bug describes one seeded bug: a named mutation that switches one rule of
// the protocol to a known-wrong variant.
type Bug struct {
	// Name is what `explore check --bug NAME` takes.
	Name string
	// Rule is the rule of the paper the mutation breaks.
	Rule string
	// Mutation says what the mutated model does instead.
	Mutation string
	// Seen says where such a bug has been met.
	Seen string
	// Breaks is the property a counterexample violates first, or "" for
	// the negative control, which must not break safety.
	Breaks string
	// Bounds are the bounds at which `explore check --bug NAME` finds it
	// (Bug unset), with Strategy ("" for bfs); MaxLength bounds the length
	// of the counterexample found there.
	Bounds    Config
	Strategy  string
	MaxLength int
	// Mirrored says that raftcheck's implementation has a test-only fault
	// switch mirroring the bug (conform/implcluster maps the name to it).
	Mirrored bool
	id       bugID
}

// Bugs lists every seeded bug. The bugs of the fixed cluster come first,
// then the negative control (a liveness flaw that must not be reported as
// a safety violation), then the bugs of membership changes.
var Bugs = []Bug{
	{Name: "figure8-commit", Mirrored: true, id: bugFigure8Commit,
		Rule:     "§5.4.2: a leader commits only entries of its current term by counting replicas (Figure 2: log[N].term == currentTerm)",
		Mutation: "the leader commits any index stored on a majority, whatever the entry's term",
		Seen:     "the scenario of Figure 8 of the Raft paper; the original Raft rule before it was found",
		Breaks:   "leader-completeness",
		Bounds:   Config{Servers: 3, MaxTerm: 4, MaxValues: 2, MaxMsgs: 3, MaxCopies: 1}, MaxLength: 26},
	{Name: "vote-without-log-check", Mirrored: true, id: bugVoteWithoutLogCheck,
		Rule:     "§5.4.1 election restriction: grant a vote only if the candidate's log is at least as up-to-date",
		Mutation: "votes are granted without comparing logs",
		Seen:     "a classic mistake in course implementations (the MIT 6.824 Raft lab); the reason for Leader Completeness",
		Breaks:   "leader-completeness",
		Bounds:   Config{Servers: 3, MaxTerm: 2, MaxValues: 1, MaxMsgs: 3, MaxCopies: 1}, MaxLength: 12},
	{Name: "forget-vote-on-restart", Mirrored: true, id: bugForgetVoteOnRestart,
		Rule:     "Figure 2: votedFor is persistent state, updated on stable storage before responding",
		Mutation: "a restart forgets votedFor, so a server can vote twice in one term",
		Seen:     "implementations that persist the log but keep term or vote in memory; etcd raft persists both in HardState for this reason",
		Breaks:   "vote-once",
		Bounds:   Config{Servers: 3, MaxTerm: 1, MaxValues: 0, MaxMsgs: 3, MaxCopies: 1, MaxRestarts: 1}, MaxLength: 2},
	{Name: "truncate-on-stale-append", Mirrored: true, id: bugTruncateOnStaleAppend,
		Rule:     "Figure 2 AppendEntries 3: delete an existing entry and all that follow it only if it conflicts with a new one",
		Mutation: "the follower deletes every entry after prevLogIndex before appending, even when they match",
		Seen:     "the Students' Guide to Raft (\"the follower MUST NOT truncate its log\" on a stale AppendEntries); frequent in course implementations",
		Breaks:   "commit-quorum",
		Bounds:   Config{Servers: 3, MaxTerm: 2, MaxValues: 1, MaxMsgs: 3, MaxCopies: 1}, MaxLength: 13},
	{Name: "commit-from-leadercommit", Mirrored: true, id: bugCommitFromLeaderCommit,
		Rule:     "Figure 2 AppendEntries: reply false if the log has no entry at prevLogIndex of term prevLogTerm; only then (rule 5) set commitIndex = min(leaderCommit, index of last new entry)",
		Mutation: "the follower takes leaderCommit, capped only by its own log length, as soon as the request arrives: before the consistency check, so also on a request it refuses",
		Seen:     "handlers that treat leaderCommit as a heartbeat side effect; the Students' Guide to Raft insists on the min with the last new entry and on the prevLogIndex/prevLogTerm check first. (In this model a heartbeat carries the leader's whole suffix, so after a successful check the min never matters; the mutation bites through the refused request.)",
		Breaks:   "state-machine-safety",
		Bounds:   Config{Servers: 3, MaxTerm: 3, MaxValues: 2, MaxMsgs: 3, MaxCopies: 1, MaxDrops: 2}, MaxLength: 25},
	{Name: "accept-stale-term", id: bugAcceptStaleTerm,
		Rule:     "Figure 2: reply false if term < currentTerm (RequestVote 1, AppendEntries 1)",
		Mutation: "requests from an earlier term are handled as if they were current",
		Seen:     "implementations that compare terms only to step down, not to reject",
		Breaks:   "commit-quorum",
		Bounds:   Config{Servers: 3, MaxTerm: 2, MaxValues: 2, MaxMsgs: 3, MaxCopies: 1}, MaxLength: 18},
	{Name: "stay-leader-on-higher-term", id: bugStayLeaderOnHigherTerm,
		Rule:     "Figure 2, all servers: if a message carries a term T > currentTerm, set currentTerm = T and convert to follower",
		Mutation: "a leader adopts the higher term but keeps leading",
		Seen:     "step-down forgotten on one of the paths that raise the term",
		Breaks:   "election-safety",
		Bounds:   Config{Servers: 3, MaxTerm: 2, MaxValues: 0, MaxMsgs: 3, MaxCopies: 1}, MaxLength: 6},
	{Name: "count-stale-votes", id: bugCountStaleVotes,
		Rule:     "Figure 2 and §5.2: a candidate wins with votes from a majority in the same term",
		Mutation: "a candidate counts granted votes from replies of its earlier terms",
		Seen:     "\"term confusion\" in the Students' Guide to Raft: replies to old RPCs must be checked against the current term",
		Breaks:   "election-safety",
		Bounds:   Config{Servers: 3, MaxTerm: 2, MaxValues: 0, MaxMsgs: 4, MaxCopies: 1}, MaxLength: 9},
	{Name: "count-duplicate-votes", id: bugCountDuplicateVotes,
		Rule:     "§5.2: votes from a majority of the servers (a set, as votesGranted in raft.tla)",
		Mutation: "votes are counted as a number, so a duplicated reply counts twice",
		Seen:     "counters instead of sets; etcd raft keeps a map of voters for this reason",
		Breaks:   "election-safety",
		Bounds:   Config{Servers: 5, MaxTerm: 1, MaxValues: 0, MaxMsgs: 10, MaxCopies: 2, MaxDups: 1}, MaxLength: 10},
	{Name: "match-index-regress", id: bugMatchIndexRegress,
		Rule:     "Figure 2, leaders: matchIndex increases monotonically, and so does commitIndex",
		Mutation: "matchIndex is taken from each reply, even a reordered older one, and the leader's commitIndex is recomputed from matchIndex",
		Seen:     "the Students' Guide to Raft on setting matchIndex from replies; etcd raft's Progress.MaybeUpdate only raises Match",
		Breaks:   "commit-monotonic",
		Bounds:   Config{Servers: 3, MaxTerm: 2, MaxValues: 2, MaxMsgs: 3, MaxCopies: 1}, MaxLength: 15},
	{Name: "commit-to-last-index", Mirrored: true, id: bugCommitToLastIndex,
		Rule:     "Figure 2 AppendEntries 5: if leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index of last new entry)",
		Mutation: "the follower takes min(leaderCommit, index of its own last entry): with bounded batches the entries past the batch may be a stale tail the leader has not checked",
		Seen:     "a classic misreading of rule 5 (the Students' Guide to Raft: \"the min with the index of the last new entry, not the last index of the log\"); it needs AppendEntries that carry less than the whole suffix (--max-batch)",
		Breaks:   "state-machine-safety",
		Bounds:   Config{Servers: 3, MaxTerm: 3, MaxValues: 3, MaxMsgs: 3, MaxCopies: 1, Features: spec.Features{MaxBatch: 1}}, MaxLength: 32},
	{Name: "snapshot-keeps-conflicting-suffix", Mirrored: true, id: bugSnapshotKeepsConflictingSuffix,
		Rule:     "Figure 13 InstallSnapshot 6-7: retain the log entries after the snapshot only if an entry has the index and term of its last included entry; otherwise discard the entire log",
		Mutation: "the follower keeps every entry after the snapshot's last index, whatever its term there",
		Seen:     "openraft#559 and hashicorp/raft#697: a follower installing a snapshot kept a conflicting suffix",
		Breaks:   "log-matching",
		Bounds:   Config{Servers: 5, MaxTerm: 2, MaxValues: 3, MaxMsgs: 6, MaxCopies: 1, MaxSnapshots: 1}, MaxLength: 38},
	{Name: "snapshot-discards-matching-suffix", Mirrored: true, id: bugSnapshotDiscardsMatchingSuffix,
		Rule:     "Figure 13 InstallSnapshot 6: if an existing entry has the snapshot's last included index and term, retain the entries following it",
		Mutation: "the follower discards its whole log on every snapshot, the matching suffix included",
		Seen:     "snapshot installation that resets the log unconditionally (the rule 6 case is easy to skip)",
		Breaks:   "committed-never-lost",
		Bounds:   Config{Servers: 3, MaxTerm: 2, MaxValues: 2, MaxMsgs: 4, MaxCopies: 1, MaxDrops: 1, MaxSnapshots: 1}, MaxLength: 17},
	{Name: "snapshot-term-from-data", id: bugSnapshotTermFromData,
		Rule:     "Figure 13: the snapshot's lastIncludedTerm is the term of its last entry, not the receiver's currentTerm (which only the RPC's term may raise)",
		Mutation: "the follower takes its currentTerm from the snapshot's last included term",
		Seen:     "implementations that restore term metadata from the snapshot (a follower taking its term or commit index from a snapshot)",
		Breaks:   "term-monotonic",
		Bounds:   Config{Servers: 3, MaxTerm: 3, MaxValues: 2, MaxMsgs: 3, MaxCopies: 1, MaxSnapshots: 1}, MaxLength: 22},
	{Name: "compact-beyond-commit", id: bugCompactBeyondCommit,
		Rule:     "§7: each server snapshots only the committed entries of its log",
		Mutation: "Compact snapshots the whole log, uncommitted tail included",
		Seen:     "compaction driven by the last index instead of the applied index",
		Breaks:   "snapshot-committed",
		Bounds:   Config{Servers: 3, MaxTerm: 1, MaxValues: 1, MaxMsgs: 2, MaxCopies: 1, MaxSnapshots: 1}, MaxLength: 5},
	{Name: "ignore-higher-term-in-response", id: bugIgnoreHigherTermInResponse,
		Rule:     "Figure 2, all servers: a response with a higher term makes the server a follower (a liveness rule here)",
		Mutation: "responses carrying a higher term are dropped unread, so a stale leader keeps leading",
		Seen:     "negative control: a stale leader cannot commit without a majority, so safety must hold",
		Breaks:   "",
		Bounds:   DefaultConfig(), MaxLength: 0},
	{Name: "reconfig-before-term-commit", Mirrored: true, id: bugReconfigBeforeTermCommit,
		Rule:     "thesis §4.2 and the 2015 fix: a leader appends a configuration entry only once it has committed an entry of its current term",
		Mutation: "a new leader changes the configuration at once, while an uncommitted change of an earlier term may still be in other logs",
		Seen:     "Diego Ongaro, \"bug in single-server membership changes\", raft-dev, July 2015: two changes from different terms, each over the old configuration, whose majorities do not meet",
		Breaks:   "leader-completeness",
		Bounds:   Config{Servers: 4, MaxReconfigs: 2, MaxTerm: 3, MaxValues: 0, MaxMsgs: 4, MaxCopies: 1, MaxDrops: 1}, MaxLength: 20},
	{Name: "config-on-commit", Mirrored: true, id: bugConfigOnCommit,
		Rule:     "thesis §4.1: a server uses the latest configuration in its log, whether or not the entry is committed",
		Mutation: "a server uses the last committed configuration of its log, so a server that has not learnt the commit (or has restarted) keeps an older one",
		Seen:     "implementations that apply configuration changes when applying committed entries to the state machine; the thesis argues against it in §4.1",
		Breaks:   "commit-quorum",
		Bounds:   Config{Servers: 3, Joiners: 1, MaxReconfigs: 2, MaxTerm: 2, MaxValues: 1, MaxMsgs: 4, MaxCopies: 1}, MaxLength: 11},
	{Name: "count-nonmember-votes", Mirrored: true, id: bugCountNonmemberVotes,
		Rule:     "thesis §4.1: a candidate needs a majority of its configuration; only members' votes count",
		Mutation: "a candidate asks every server it knows and counts every granted vote, members or not",
		Seen:     "jgroups-raft#24 (\"nothing prevents a member outside of members to vote\"); akka-raft#49, votes across configurations electing two leaders in a term",
		Breaks:   "election-safety",
		Bounds:   Config{Servers: 3, Joiners: 1, MaxReconfigs: 1, MaxTerm: 1, MaxValues: 0, MaxMsgs: 5, MaxCopies: 1}, MaxLength: 6},
	{Name: "concurrent-reconfigs", Mirrored: true, id: bugConcurrentReconfigs,
		Rule:     "thesis §4.2: a leader starts a change only once the previous one is committed (one change at a time)",
		Mutation: "a leader appends a configuration entry while another is still uncommitted, so the configuration can move by two servers before a majority of the old one knows",
		Seen:     "thesis §4.2 (Figure 4.3's intersection argument needs one server at a time); etcd raft refuses a change while one is pending (PendingConfIndex)",
		Breaks:   "leader-completeness",
		Bounds:   Config{Servers: 3, Joiners: 1, MaxReconfigs: 2, MaxTerm: 2, MaxValues: 1, MaxMsgs: 4, MaxCopies: 1}, MaxLength: 14},
	{Name: "rejoin-blank-disk", id: bugRejoinBlankDisk,
		Rule:     "thesis §4.1-4.2 and Figure 2 (votedFor, currentTerm and the log are persistent): a removed server's id is retired; a server never comes back under it with an empty disk",
		Mutation: "a server outside its own configuration may lose its disk (Wipe) and come back blank under the same id: term 0, no vote, an empty log and so the initial configuration, answering RPCs and free to be re-added",
		Seen:     "etcd gives every added member a fresh ID and drops messages from removed IDs (RaftCluster.IsIDRemoved) for this reason: an operator who removes a member, wipes its data directory and starts it again under its old identity",
		Breaks:   "committed-never-lost",
		Bounds:   Config{Servers: 3, MaxReconfigs: 1, MaxTerm: 2, MaxValues: 1, MaxMsgs: 3, MaxCopies: 1}, MaxLength: 9},
	{Name: "leave-joint-early", id: bugLeaveJointEarly,
		Rule:     "paper §6 and thesis §4.3: C_new is appended only once C_old,new is committed (etcd: LeaveJoint after the joint entry is applied)",
		Mutation: "a leader appends C_new as soon as C_old,new is in its log, committed or not, so C_new can decide while C_old still does alone",
		Seen:     "paper §6 (\"once C_old,new has been committed ... the leader can create a log entry describing C_new\"); etcd raft leaves the joint configuration only after applying the entry that entered it (AutoLeave)",
		Breaks:   "leader-completeness",
		Bounds:   Config{Servers: 3, MaxReconfigs: 1, Reconfig: ReconfigJoint, MaxTerm: 2, MaxValues: 1, MaxMsgs: 3, MaxCopies: 1}, MaxLength: 14},
	{Name: "joint-new-majority-only", id: bugJointNewMajorityOnly,
		Rule:     "paper §6: while joint, agreement (for elections and entry commitment) requires separate majorities from both C_old and C_new",
		Mutation: "while joint, elections and commitment count only a majority of C_new",
		Seen:     "the joint variant of count-nonmember-votes: a quorum check over the incoming voters only (etcd's JointConfig.VoteResult takes both halves for this reason)",
		Breaks:   "commit-quorum",
		Bounds:   Config{Servers: 3, MaxReconfigs: 1, Reconfig: ReconfigJoint, MaxTerm: 2, MaxValues: 1, MaxMsgs: 3, MaxCopies: 1}, MaxLength: 10},
}

func bugByName(name string) (Bug, bool) {
	for _, b := range Bugs {
		if b.Name == name {
			return b, true
		}
	}
	return Bug{}, false
}

// BugNames lists the names of the seeded bugs.
func BugNames() []string {
	names := make([]string, len(Bugs))
	for i, b := range Bugs {
		names[i] = b.Name
	}
	return names
}

// LookupBug returns the seeded bug of that name.
func LookupBug(name string) (Bug, bool) { return bugByName(name) }
