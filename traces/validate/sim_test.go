package validate_test

import (
	"flag"
	"testing"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/traces/validate"
	"github.com/raftcheck/raftcheck/traces/validate/sim"
)

var seedFlag = flag.Uint64("seed", 0, "run only this seed (0: the fixed seeds)")

func seeds(n int) []uint64 {
	if *seedFlag != 0 {
		return []uint64{*seedFlag}
	}
	out := make([]uint64, n)
	for k := range out {
		out[k] = uint64(k + 1)
	}
	return out
}

// configs are the implementation's configurations the runs use: the
// replay path, and every production feature on.
var configs = map[string]func(*raft.Config){
	"figure2": nil,
	"features": func(c *raft.Config) {
		c.MaxBatch, c.ReplicateOnPropose, c.MaxInflight, c.MaxAppendEntries, c.ConflictHint = 4, true, 2, 3, true
	},
}

func simulate(t testing.TB, opts sim.Options) [][]validate.Event {
	t.Helper()
	logs, err := sim.Run(opts)
	if err != nil {
		t.Fatalf("seed %d: %v", opts.Seed, err)
	}
	return logs
}

// TestRealRunsPass validates runs of impl/raft with loss, duplication,
// reordering, restarts and snapshots: every one is a behaviour.
func TestRealRunsPass(t *testing.T) {
	for name, conf := range configs {
		for _, servers := range []int{3, 5} {
			for _, seed := range seeds(8) {
				opts := sim.Options{Servers: servers, Events: 600, Seed: seed, Configure: conf, Snapshots: true, Restarts: true, SnapshotData: seed%2 == 0}
				logs := simulate(t, opts)
				res, err := validate.Validate(logs, validate.Options{CheckEvery: 50})
				if err != nil {
					t.Fatalf("%s, %d servers, seed %d (-seed %d): %v", name, servers, seed, seed, err)
				}
				if res.Events != 600 || res.Received == 0 || res.Sent == 0 || res.Fields == 0 {
					t.Fatalf("%s seed %d: checked too little: %+v", name, seed, res)
				}
			}
		}
	}
}
