package checking_test

import (
	"testing"

	"github.com/raftcheck/raftcheck/checker/checkertest"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/model/checking"
)

// TestValueContract: the Raft model's states are values as the checker
// needs them (its Next, Encode, Decode and Canonical), on the first few
// thousand states of the default configuration.
func TestValueContract(t *testing.T) {
	checkertest.CheckValueContract(t, checking.Adapter{Model: model.MustNew(model.DefaultConfig())}, checkertest.MaxStates(2000))
}
