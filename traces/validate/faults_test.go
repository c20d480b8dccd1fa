//go:build raftfaults

package validate_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/traces/validate"
	"github.com/raftcheck/raftcheck/traces/validate/sim"
)

// TestFaultsAreCaught runs impl/raft with one fault switch on over random
// schedules: validation must fail, at an event the fault explains, with
// the rule the fault breaks. The same seeds pass without the fault
// (TestRealRunsPass).
func TestFaultsAreCaught(t *testing.T) {
	for _, c := range []struct {
		name   string
		faults raft.Faults
		conf   func(*raft.Config)
		rules  []string // the failure's rule starts with one of these
	}{
		{"VoteWithoutLogCheck", raft.Faults{VoteWithoutLogCheck: true}, nil, []string{"send RequestVoteResponse"}},
		{"Figure8Commit", raft.Faults{Figure8Commit: true}, nil, []string{"leader commit rule"}},
		{"CommitToLastIndex", raft.Faults{CommitToLastIndex: true}, func(c *raft.Config) { c.MaxAppendEntries = 1 }, []string{"Receive effect"}},
		{"CommitFromLeaderCommit", raft.Faults{CommitFromLeaderCommit: true}, nil, []string{"Receive effect"}},
		{"ForgetVoteOnRestart", raft.Faults{ForgetVoteOnRestart: true}, nil, []string{"Restart effect"}},
		{"TruncateOnStaleAppend", raft.Faults{TruncateOnStaleAppend: true}, nil, []string{"Receive effect", "AppendEntries receiver"}},
		{"SnapshotDiscardsMatchingSuffix", raft.Faults{SnapshotDiscardsMatchingSuffix: true}, nil, []string{"Receive effect"}},
	} {
		caught := false
		for _, seed := range seeds(40) {
			opts := sim.Options{Servers: 3, Events: 800, Seed: seed, Faults: c.faults, Configure: c.conf, Snapshots: true, Restarts: true}
			clean := opts
			clean.Faults = raft.Faults{}
			if _, err := validate.Validate(simulate(t, clean), validate.Options{}); err != nil {
				t.Fatalf("%s seed %d: the run without the fault fails: %v", c.name, seed, err)
			}
			_, err := validate.Validate(simulate(t, opts), validate.Options{})
			if err == nil {
				continue
			}
			var f *validate.Failure
			if !errors.As(err, &f) || f.Event == nil {
				t.Fatalf("%s seed %d: %v is not a failure at an event", c.name, seed, err)
			}
			ok := false
			for _, r := range c.rules {
				ok = ok || strings.HasPrefix(f.Rule, r)
			}
			if !ok {
				t.Fatalf("%s seed %d: caught by rule %q, want one of %q: %v", c.name, seed, f.Rule, c.rules, err)
			}
			t.Logf("%s (seed %d): %v", c.name, seed, err)
			caught = true
			break
		}
		if !caught {
			t.Errorf("%s: no seed of 40 caught", c.name)
		}
	}
}
