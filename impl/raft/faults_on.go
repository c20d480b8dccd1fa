//go:build raftfaults

package raft

// FaultsCompiled reports whether this build has the fault switches: true,
// it was built with -tags raftfaults.
const FaultsCompiled = true

// faultSwitches are a node's seeded bugs. Every rule the faults break asks
// one of these methods; this build answers from Faults.
type faultSwitches struct{ f Faults }

func compileFaults(f Faults) faultSwitches { return faultSwitches{f} }

func (s faultSwitches) figure8Commit() bool          { return s.f.Figure8Commit }
func (s faultSwitches) voteWithoutLogCheck() bool    { return s.f.VoteWithoutLogCheck }
func (s faultSwitches) truncateOnStaleAppend() bool  { return s.f.TruncateOnStaleAppend }
func (s faultSwitches) forgetVoteOnRestart() bool    { return s.f.ForgetVoteOnRestart }
func (s faultSwitches) commitFromLeaderCommit() bool { return s.f.CommitFromLeaderCommit }
func (s faultSwitches) commitToLastIndex() bool      { return s.f.CommitToLastIndex }
func (s faultSwitches) snapshotKeepsConflictingSuffix() bool {
	return s.f.SnapshotKeepsConflictingSuffix
}
func (s faultSwitches) snapshotDiscardsMatchingSuffix() bool {
	return s.f.SnapshotDiscardsMatchingSuffix
}
func (s faultSwitches) reconfigBeforeTermCommit() bool { return s.f.ReconfigBeforeTermCommit }
func (s faultSwitches) countNonmemberVotes() bool      { return s.f.CountNonmemberVotes }
func (s faultSwitches) concurrentReconfigs() bool      { return s.f.ConcurrentReconfigs }
func (s faultSwitches) configOnCommit() bool           { return s.f.ConfigOnCommit }
func (s faultSwitches) soleVoterWaits() bool           { return s.f.SoleVoterWaits }
