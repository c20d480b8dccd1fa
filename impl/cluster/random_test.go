package cluster

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/spec"
)

// budget bounds the faults of one random run, as the model's configuration
// does.
type budget struct{ terms, drops, dups, partitions, restarts, values int }

// randomAction picks an action that is enabled by the harness's own guards
// (the core may still refuse it): mostly deliveries, so that runs make
// progress, with timeouts, heartbeats, requests and faults in between.
// ok is false when it finds nothing to do (the run is over).
func randomAction(rng *rand.Rand, c *Cluster, b *budget) (a spec.Action, ok bool) {
	net := c.InFlight()
	views := c.Views()
	leaderless := true
	for _, v := range views {
		leaderless = leaderless && v.Role != spec.Leader
	}
	for range 100 {
		id := spec.ServerID(1 + rng.IntN(c.Size()))
		v := views[id-1]
		switch k := rng.IntN(20); {
		case k < 10 && len(net) > 0:
			m := net[rng.IntN(len(net))].Message
			return spec.Action{Kind: spec.Deliver, Message: &m}, true
		case k < 12 && v.Role != spec.Leader && int(v.Term) < b.terms && (leaderless || rng.IntN(4) == 0):
			return spec.Action{Kind: spec.Timeout, Server: id}, true
		case k < 14 && v.Role == spec.Leader:
			return spec.Action{Kind: spec.Heartbeat, Server: id}, true
		case k < 15 && v.Role == spec.Leader && b.values > 0:
			b.values--
			return spec.Action{Kind: spec.ClientRequest, Server: id, Value: spec.Value(fmt.Sprint("v", b.values))}, true
		case k == 15 && len(net) > 0 && b.drops > 0:
			b.drops--
			m := net[rng.IntN(len(net))].Message
			return spec.Action{Kind: spec.Drop, Message: &m}, true
		case k == 16 && len(net) > 0 && b.dups > 0:
			b.dups--
			m := net[rng.IntN(len(net))].Message
			return spec.Action{Kind: spec.Duplicate, Message: &m}, true
		case k == 17 && c.Groups() == nil && b.partitions > 0:
			b.partitions--
			var groups [2][]spec.ServerID
			for j := range c.Size() {
				side := rng.IntN(2)
				if j < 2 {
					side = j // both groups non-empty
				}
				groups[side] = append(groups[side], spec.ServerID(j+1))
			}
			return spec.Action{Kind: spec.Partition, Groups: groups[:]}, true
		case k == 18 && c.Groups() != nil:
			return spec.Action{Kind: spec.Heal}, true
		case k == 19 && b.restarts > 0:
			b.restarts--
			return spec.Action{Kind: spec.Restart, Server: id}, true
		}
	}
	return spec.Action{}, false
}

// Random runs of correct cores, on the replay path and with every
// production feature on, satisfy every property of spec after every step.
func TestRandomRunsKeepProperties(t *testing.T) {
	production := func(c *raft.Config) {
		c.MaxBatch, c.ReplicateOnPropose, c.MaxInflight, c.ConflictHint = 2, true, 2, true
	}
	for _, tc := range []struct {
		name      string
		n, runs   int
		configure func(*raft.Config)
	}{
		{"replay-3", 3, 150, nil},
		{"replay-5", 5, 60, nil},
		{"production-3", 3, 150, production},
		{"production-5", 5, 60, production},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.n), uint64(tc.runs)))
			committed, refused, steps := 0, 0, 0
			for run := range tc.runs {
				c := newCluster(t, tc.n, Options{Configure: tc.configure, MaxCopies: 3})
				b := budget{terms: 6, drops: 3, dups: 3, partitions: 2, restarts: 3, values: 6}
				var trace []string
				for range 40 * tc.n {
					a, ok := randomAction(rng, c, &b)
					if !ok {
						break
					}
					trace = append(trace, a.String())
					err := checked(c, a)
					var v *violation
					switch {
					case errors.As(err, &v):
						t.Fatalf("run %d: %v after\n  %s", run, v, strings.Join(trace, "\n  "))
					case errors.Is(err, raft.ErrInvalidMessage) || errors.Is(err, raft.ErrCommittedConflict):
						t.Fatalf("run %d: a correct core refused a message of a correct cluster: %v", run, err)
					case errors.Is(err, ErrNotEnabled):
						refused++ // across the partition
					case err != nil:
						t.Fatalf("run %d: %v: %v", run, a, err)
					default:
						steps++
					}
				}
				s := c.State()
				committed += len(s.History.Committed)
			}
			t.Logf("%d steps taken, %d refused, %d entries committed", steps, refused, committed)
			if committed < tc.runs { // the runs must reach commits to mean anything
				t.Fatalf("only %d entries committed in %d runs", committed, tc.runs)
			}
		})
	}
}
