//go:build !raftfaults

package raft

// FaultsCompiled reports whether this build has the fault switches: false,
// it was built without -tags raftfaults.
const FaultsCompiled = false

// faultSwitches are a node's seeded bugs: none in this build. Every method
// is the constant false, so the compiler inlines it and removes the
// branches of the faults; the struct is empty, so a node carries nothing.
type faultSwitches struct{}

// compileFaults is reached only with the zero Faults (Faults.Validate).
func compileFaults(Faults) faultSwitches { return faultSwitches{} }

func (faultSwitches) figure8Commit() bool                  { return false }
func (faultSwitches) voteWithoutLogCheck() bool            { return false }
func (faultSwitches) truncateOnStaleAppend() bool          { return false }
func (faultSwitches) forgetVoteOnRestart() bool            { return false }
func (faultSwitches) commitFromLeaderCommit() bool         { return false }
func (faultSwitches) commitToLastIndex() bool              { return false }
func (faultSwitches) snapshotKeepsConflictingSuffix() bool { return false }
func (faultSwitches) snapshotDiscardsMatchingSuffix() bool { return false }
func (faultSwitches) reconfigBeforeTermCommit() bool       { return false }
func (faultSwitches) countNonmemberVotes() bool            { return false }
func (faultSwitches) concurrentReconfigs() bool            { return false }
func (faultSwitches) configOnCommit() bool                 { return false }
func (faultSwitches) soleVoterWaits() bool                 { return false }
