package raft

import (
	"errors"
	"fmt"

	"github.com/raftcheck/raftcheck/spec"
)

// Membership changes (thesis §4.1-4.3, spec/README.md "Membership
// changes"). A configuration is a log entry (spec.Entry with Config set);
// a server's configuration in effect is the last configuration entry in
// its log, snapshot included, committed or not, and the initial one
// (Config.Initial) when there is none. Truncating the log reverts it.

// Errors of ProposeConfChange besides *NotLeaderError; test with errors.Is.
var (
	// ErrChangeInProgress: the leader's log holds an uncommitted
	// configuration entry; one change at a time (thesis §4.2).
	ErrChangeInProgress = errors.New("a configuration change is still uncommitted")
	// ErrNoTermCommit: the leader has not yet committed an entry of its
	// current term (Ongaro's 2015 fix of single-server changes). It is
	// transient: retry once the leader's first entry has committed.
	ErrNoTermCommit = errors.New("the leader has not committed an entry of its term yet")
	// ErrBadChange: the change does not apply to the configuration in
	// effect; the returned error is a *BadChangeError saying why.
	ErrBadChange = errors.New("invalid configuration change")
	// ErrNotVoter: Campaign on a server that is not a voter of its own
	// configuration (a learner, a removed server or a joiner not yet
	// added): only voters stand for election.
	ErrNotVoter = errors.New("not a voter of its configuration")
)

// ConfChange is a membership change a leader proposes.
type ConfChange struct {
	// Kind is one of spec.AddServer, spec.RemoveServer, spec.AddLearner,
	// spec.EnterJoint and spec.LeaveJoint.
	Kind spec.ActionKind
	// Target is the server added or removed (AddServer, RemoveServer,
	// AddLearner).
	Target spec.ServerID
	// Voters is C_new, the voters after the joint change (EnterJoint).
	Voters spec.Members
}

// String renders the change as the spec action would be, without the
// leader: AddServer(S4), EnterJoint({S1,S2,S4}), LeaveJoint.
func (c ConfChange) String() string {
	switch c.Kind {
	case spec.EnterJoint:
		return fmt.Sprintf("%v(%v)", c.Kind, c.Voters)
	case spec.LeaveJoint:
		return c.Kind.String()
	}
	return fmt.Sprintf("%v(%v)", c.Kind, c.Target)
}

// BadChangeError is a change refused because it does not apply to the
// configuration in effect (an unknown server, a target that is not a
// member, the last voter, ...).
type BadChangeError struct {
	Change ConfChange
	// Config is the configuration in effect the change was checked against.
	Config spec.Configuration
	// Reason says what is wrong.
	Reason string
}

// Error implements error.
func (e *BadChangeError) Error() string {
	return fmt.Sprintf("%v in configuration %v: %s", e.Change, e.Config, e.Reason)
}

// Unwrap makes errors.Is(err, ErrBadChange) hold.
func (e *BadChangeError) Unwrap() error { return ErrBadChange }

// Configuration returns the node's configuration in effect.
func (r *Node) Configuration() spec.Configuration { return r.config() }

// ConfigurationAt returns the configuration in effect at index i: the
// last configuration entry up to i, or the snapshot's, or the initial one.
// i is clamped to the indices the node holds (snapshot index to last
// index). A caller taking a state machine snapshot at i stores it with
// the snapshot (wal.Snapshot.Config).
func (r *Node) ConfigurationAt(i spec.Index) spec.Configuration {
	if i >= r.confIndex {
		// No configuration entry after confIndex: the one in effect at the
		// end of the log. The runtime asks for the commit index after
		// every Ready, and configAt scans the log back to the snapshot.
		return r.conf
	}
	c, _ := r.configAt(max(i, r.snap.Index))
	return c
}

// ProposeConfChange appends the configuration entry of change c to a
// leader's log, in effect at once (§4.1), if the guards of spec/README.md
// hold: the node leads (*NotLeaderError), has committed an entry of its
// term (ErrNoTermCommit; not asked of LeaveJoint, which only completes a
// change whose joint entry is committed), holds no uncommitted
// configuration entry (ErrChangeInProgress), and c applies to its
// configuration (*BadChangeError). It is replicated like any entry.
func (r *Node) ProposeConfChange(c ConfChange) error {
	if r.role != spec.Leader {
		return fmt.Errorf("raft: propose %v: %w", c, r.notLeader())
	}
	// LeaveJoint only completes a change whose joint entry is committed
	// (its own guard, in nextConfig): the 2015 guard is EnterJoint's.
	if c.Kind != spec.LeaveJoint && r.termAt(r.commit) != r.term && !r.faults.reconfigBeforeTermCommit() {
		return fmt.Errorf("raft: %v: propose %v: %w (commit index %d)", r.id, c, ErrNoTermCommit, r.commit)
	}
	if r.confIndex > r.commit && !r.faults.concurrentReconfigs() {
		return fmt.Errorf("raft: %v: propose %v: %w (configuration entry %d, commit index %d)", r.id, c, ErrChangeInProgress, r.confIndex, r.commit)
	}
	next, err := r.nextConfig(c)
	if err != nil {
		return fmt.Errorf("raft: %v: propose: %w", r.id, err)
	}
	// The commit rule is not run here: an index the new configuration's
	// quorum already holds commits at the next acknowledgement, as in the
	// model (spec/README.md; a one-voter leader commits at its next
	// heartbeat tick, see Tick).
	// Nor is it sent at once with ReplicateOnPropose, a feature of client
	// proposals in the model too: the next heartbeat replicates it.
	r.flushProposals() // batched proposals go first, in order; only on success, so a refusal changes nothing
	r.appendLog(spec.Entry{Term: r.term, Config: next.Voters, Outgoing: next.Outgoing, Learners: next.Learners})
	return nil
}

// nextConfig returns the configuration c leads to from the one in effect,
// or a *BadChangeError.
func (r *Node) nextConfig(c ConfChange) (spec.Configuration, error) {
	cur := r.config()
	bad := func(format string, args ...any) (spec.Configuration, error) {
		return cur, &BadChangeError{Change: c, Config: cur, Reason: fmt.Sprintf(format, args...)}
	}
	all := spec.AllServers(r.n)
	t := c.Target
	switch c.Kind {
	case spec.AddServer, spec.RemoveServer, spec.AddLearner:
		if t == spec.None || int(t) > r.n {
			return bad("%d is not a server of a %d-server cluster", t, r.n)
		}
		if c.Voters != 0 {
			return bad("only EnterJoint takes voters")
		}
	case spec.EnterJoint:
		if c.Voters == 0 || c.Voters&^all != 0 {
			return bad("voters %v: not a non-empty set of servers of a %d-server cluster", c.Voters, r.n)
		}
	case spec.LeaveJoint:
	default:
		return bad("%v is not a configuration change", c.Kind)
	}
	if cur.Joint() && c.Kind != spec.LeaveJoint {
		return bad("a joint change is in progress: only LeaveJoint")
	}
	bit := spec.Members(1) << (t - 1)
	switch c.Kind {
	case spec.AddLearner:
		if cur.Members().Has(t) {
			return bad("%v is already a member", t)
		}
		return spec.Configuration{Voters: cur.Voters, Learners: cur.Learners | bit}, nil
	case spec.AddServer:
		if cur.Voters.Has(t) {
			return bad("%v is already a voter", t)
		}
		if cur.Learners.Has(t) && r.match[t] < r.commit {
			return bad("learner %v has not caught up (match index %d, commit index %d)", t, r.match[t], r.commit)
		}
		return spec.Configuration{Voters: cur.Voters | bit, Learners: cur.Learners &^ bit}, nil
	case spec.RemoveServer:
		switch {
		case cur.Voters == bit:
			return bad("%v is the last voter", t)
		case !cur.Members().Has(t):
			return bad("%v is not a member", t)
		}
		return spec.Configuration{Voters: cur.Voters &^ bit, Learners: cur.Learners &^ bit}, nil
	case spec.EnterJoint:
		if c.Voters == cur.Voters {
			return bad("C_new %v is the current voters", c.Voters)
		}
		return spec.Configuration{Voters: c.Voters, Outgoing: cur.Voters, Learners: cur.Learners &^ c.Voters}, nil
	}
	// LeaveJoint
	if !cur.Joint() {
		return bad("the configuration is not joint")
	}
	if r.confIndex > r.commit {
		return bad("the joint entry %d is not committed (commit index %d)", r.confIndex, r.commit)
	}
	return spec.Configuration{Voters: cur.Voters, Learners: cur.Learners}, nil
}

// config is the configuration in effect: the last configuration entry of
// the log, snapshot included, or the initial one. Faults.ConfigOnCommit
// takes the last committed one instead.
func (r *Node) config() spec.Configuration {
	if r.faults.configOnCommit() {
		c, _ := r.configAt(r.commit)
		return c
	}
	return r.conf
}

// initialConfig is Config.Initial, every server a voter when it is zero.
func (r *Node) initialConfig() spec.Configuration {
	if r.cfg.Initial.Voters == 0 {
		return spec.Configuration{Voters: spec.AllServers(r.n)}
	}
	return r.cfg.Initial
}

// configAt returns the configuration in effect at index i (at least the
// snapshot index) and the index of its entry: the snapshot's (at
// snap.Index) when no held entry up to i is one, and 0 for the initial
// configuration.
func (r *Node) configAt(i spec.Index) (spec.Configuration, spec.Index) {
	for k := min(i, r.lastIndex()); k > r.snap.Index; k-- {
		if e := &r.log[k-r.snap.Index-1]; e.Config != 0 {
			return e.Configuration(), k
		}
	}
	if r.snap.Config.Voters != 0 {
		return r.snap.Config, r.snap.Index
	}
	return r.initialConfig(), 0
}

// refreshConfig recomputes the configuration in effect after the log
// changed below its entry (truncation, snapshot, restore).
func (r *Node) refreshConfig() { r.conf, r.confIndex = r.configAt(r.lastIndex()) }

// noteAppended updates the configuration in effect after entries were
// appended from index from on.
func (r *Node) noteAppended(from spec.Index, es []spec.Entry) {
	for k := len(es) - 1; k >= 0; k-- {
		if es[k].Config != 0 {
			r.conf, r.confIndex = es[k].Configuration(), from+spec.Index(k)
			return
		}
	}
}

// soleVoter reports whether the node is the only voter of its
// configuration: no acknowledgement it gets counts towards a commit.
func (r *Node) soleVoter() bool {
	c := r.config()
	return !c.Joint() && c.Voters == 1<<(r.id-1) && !r.faults.soleVoterWaits()
}

// isVoter reports whether the node votes in its own configuration.
func (r *Node) isVoter() bool { return r.config().Voter(r.id) }

// peers lists the servers a leader replicates to: every member of its
// configuration but itself.
func (r *Node) peers() []spec.ServerID {
	m := r.config().Members()
	out := make([]spec.ServerID, 0, m.Size())
	for _, id := range m.IDs() {
		if id != r.id {
			out = append(out, id)
		}
	}
	return out
}

// voteTargets lists the servers a candidate asks for votes: the other
// voters of its configuration (every other server with
// Faults.CountNonmemberVotes).
func (r *Node) voteTargets() []spec.ServerID {
	c := r.config()
	var out []spec.ServerID
	for j := 1; j <= r.n; j++ {
		if id := spec.ServerID(j); id != r.id && (c.Voter(id) || r.faults.countNonmemberVotes()) {
			out = append(out, id)
		}
	}
	return out
}

// countsVote reports whether a vote granted by j counts: j is a voter of
// the candidate's configuration.
func (r *Node) countsVote(j spec.ServerID) bool {
	return r.config().Voter(j) || r.faults.countNonmemberVotes()
}

// quorum reports whether the servers in acks decide in the configuration
// in effect (Faults.CountNonmemberVotes counts a plain majority of every
// server for elections; see countsVote).
func (r *Node) quorum(acks spec.Members) bool { return r.config().HasQuorum(acks) }

// maybeStepDown makes a leader that is not a voter of its configuration
// a follower once that configuration's entry is committed (thesis
// §4.2.2: until then it manages a cluster that does not include it).
func (r *Node) maybeStepDown() {
	if r.role == spec.Leader && !r.isVoter() && r.confIndex <= r.commit {
		r.becomeFollower()
		r.leader = spec.None
	}
}

// checkConfigEntries reports a configuration entry of log that is not a
// configuration of servers 1..n, or an entry with outgoing voters or
// learners but no voters: no correct server writes one, and adopting it
// would make the node replicate to servers that do not exist.
func checkConfigEntries(log []spec.Entry, n int) error {
	for k := range log {
		e := &log[k]
		if e.Config == 0 && (e.Outgoing != 0 || e.Learners != 0) {
			return fmt.Errorf("log[%d]: outgoing voters or learners without voters", k+1)
		}
		if e.Config != 0 {
			if err := validateConfiguration(e.Configuration(), n); err != nil {
				return fmt.Errorf("log[%d]: configuration: %w", k+1, err)
			}
		}
	}
	return nil
}

// validateConfiguration reports a configuration that is not over servers
// 1..n or has no voter.
func validateConfiguration(c spec.Configuration, n int) error {
	all := spec.AllServers(n)
	switch {
	case c.Voters == 0:
		return errors.New("no voter")
	case (c.Voters|c.Outgoing|c.Learners)&^all != 0:
		return fmt.Errorf("%v: not servers of a %d-server cluster", c, n)
	case c.Learners&(c.Voters|c.Outgoing) != 0:
		return fmt.Errorf("%v: a learner is also a voter", c)
	}
	return nil
}
