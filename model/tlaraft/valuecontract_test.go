package tlaraft

import (
	"testing"

	"github.com/raftcheck/raftcheck/checker/checkertest"
)

// TestValueContract: the rendering of raft.tla keeps to the checker's
// value contract (its message bag and logs are the parts at risk).
func TestValueContract(t *testing.T) {
	checkertest.CheckValueContract[State, Action](t, Adapter{Model: MustNew(DefaultConfig())}, checkertest.MaxStates(2000))
}
