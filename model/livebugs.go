package model

// The seeded liveness bugs: mutations of the timer and vote rules that
// break no safety property but let a cluster go without a leader forever
// although the faults are over and the timing assumption holds. They are
// found as lassos by `explore check --bug NAME`, which switches the
// liveness check on (Bug.Liveness), and listed by `explore bugs`. Their ids lie far above the safety
// bugs' so that the two lists grow independently.
const (
	bugResetTimerOnRefusedVote bugID = 100 + iota
	bugKeepVoteOnNewTerm
)

// livenessConfig is the configuration the liveness bugs are found at:
// three servers, a restart and a lost message (so that logs differ after
// the faults), two terms for the faults and three after them.
func livenessConfig() Config {
	return Config{Servers: 3, MaxTerm: 5, MaxValues: 1, MaxMsgs: 3, MaxCopies: 1, MaxRestarts: 1, MaxDrops: 1,
		Timing: Timing{Timers: true, Synchrony: true}}
}

// LivenessBugs lists the seeded liveness bugs. They are a table of their
// own, beside Bugs (whose every entry breaks, or for the negative control
// keeps, a safety property at its bounds): a liveness bug breaks no
// safety property and needs the liveness check to be found.
var LivenessBugs = []Bug{
	{Name: "reset-timer-on-refused-vote", id: bugResetTimerOnRefusedVote, Liveness: true,
		Rule:     "Figure 2, followers: the election timer restarts only on granting a vote or on an AppendEntries from the current leader",
		Mutation: "a server restarts its election timer on every RequestVote it handles, refused or granted",
		Seen:     "the Students' Guide to Raft (\"you should only restart your election timer if you grant a vote\"): a candidate with a stale log keeps resetting the timers of the servers that could win. Not found under the synchrony assumption, and documented as such (Breaks empty): the refusers' timers restart in the round in which they still tick, so they overtake the stale candidate; the bug starves elections only when every tie between timers goes the stale candidate's way, which randomised timeouts rule out",
		Breaks:   "",
		Bounds:   livenessConfig()},
	{Name: "keep-vote-on-new-term", id: bugKeepVoteOnNewTerm, Liveness: true,
		Rule:     "Figure 2, all servers: on a higher term set currentTerm = T (votedFor is then None: it is the vote of the current term)",
		Mutation: "a server adopting a higher term keeps votedFor from its earlier term, so it refuses every candidate but that one in every later term",
		Seen:     "votedFor kept beside currentTerm but not cleared with it (the Students' Guide to Raft on term confusion); etcd raft resets Vote in becomeFollower on a new term",
		Breaks:   "stable-leader",
		Bounds:   livenessConfig(), MaxLength: 40},
}
