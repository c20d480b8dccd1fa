// Package implcluster plugs raftcheck's own implementation into the
// conformance seam: a conform.Factory that builds an impl/cluster (the
// production cores over a controlled network, with their storage in
// memory or in real write-ahead logs), and the mapping from the model's
// seeded bugs to the implementation's test-only fault switches that
// mirror them.
package implcluster

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/raftcheck/raftcheck/conform"
	"github.com/raftcheck/raftcheck/impl/cluster"
	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/spec"
)

// Options configures the clusters the factory builds.
type Options struct {
	// Faults switches on test-only fault switches of every core.
	Faults raft.Faults
	// Memory keeps the servers' persistent state in memory instead of a
	// write-ahead log in a temporary directory (faster; for conformance
	// runs over many paths).
	Memory bool
	// Dir, if set (and Memory is not), holds the write-ahead logs instead
	// of a temporary directory; it is not removed.
	Dir string
	// Clock drives Timeout and Heartbeat by ticks of the cores' logical
	// clocks, as the runtime does (cluster.Options.Clock).
	Clock bool
	// ProposalBatch > 1 turns on the cores' proposal batching
	// (raft.Config.MaxBatch). It is invisible in the specification's
	// vocabulary where every step ends with a Ready, as on the replay
	// path, which conformance with it on checks.
	ProposalBatch int
	// Timers drives the cores' timers as the model's (cluster.Options.Timers);
	// set it to model.ElectionTicks for traces of a model with timers.
	Timers int
	// SoleVoterWaits makes the cores wait for a response in a one-voter
	// configuration, as the model does (raft.Faults.SoleVoterWaits; needs
	// -tags raftfaults): joint and learner changes reach such
	// configurations in a few steps, where the implementation otherwise
	// elects and commits at once and the model cannot.
	SoleVoterWaits bool
}

// Factory returns the factory of impl/cluster systems.
func Factory(opts Options) conform.Factory {
	return func(s conform.Setup) (conform.System, error) {
		sys := &system{}
		dir := opts.Dir
		if !opts.Memory && dir == "" {
			var err error
			if dir, err = os.MkdirTemp("", "raftcheck-replay-"); err != nil {
				return nil, fmt.Errorf("replay directory: %w", err)
			}
			sys.tmp = dir
		}
		if opts.Memory {
			dir = ""
		}
		var initial spec.Configuration
		if s.Reconfigs {
			initial.Voters = spec.AllServers(s.Servers) // the joiners are outside it
		}
		faults := opts.Faults
		faults.SoleVoterWaits = faults.SoleVoterWaits || opts.SoleVoterWaits
		c, err := cluster.New(s.Size(), cluster.Options{Dir: dir, Faults: faults, MaxCopies: s.MaxCopies, Clock: opts.Clock, Initial: initial, Timers: opts.Timers,
			Configure: func(c *raft.Config) { configure(c, s.Features); c.MaxBatch = opts.ProposalBatch }})
		if err != nil {
			sys.removeTemp()
			return nil, fmt.Errorf("starting the implementation: %w", err)
		}
		sys.c = c
		return sys, nil
	}
}

// configure switches on the core's options that are the model's features,
// one to one.
func configure(c *raft.Config, f spec.Features) {
	c.ConflictHint = f.ConflictHint
	c.ReplicateOnPropose = f.ReplicateOnPropose
	c.MaxAppendEntries = f.MaxBatch
	c.MaxInflight = f.MaxInflight
}

// system adapts a cluster to conform.System.
type system struct {
	c   *cluster.Cluster
	tmp string // removed by Close
}

// Apply takes the action; a refusal wraps conform.ErrNotEnabled.
func (s *system) Apply(a spec.Action) error {
	err := s.c.Apply(a)
	if errors.Is(err, cluster.ErrNotEnabled) {
		return fmt.Errorf("%w: %v", conform.ErrNotEnabled, err)
	}
	return err
}

// State reports the cluster's state.
func (s *system) State() spec.State { return s.c.State() }

// Durable reports what each server's storage holds, so that conformance
// compares it with the model's persistent state after every step.
func (s *system) Durable() ([]spec.Durable, error) { return s.c.Durable() }

// Close closes the cluster and removes its temporary directory.
func (s *system) Close() error {
	err := s.c.Close()
	s.removeTemp()
	return err
}

func (s *system) removeTemp() {
	if s.tmp != "" {
		os.RemoveAll(s.tmp)
	}
}

// mirrors maps each seeded bug the implementation mirrors to the switch
// that does.
var mirrors = map[string]func(*raft.Faults){
	"figure8-commit":                    func(f *raft.Faults) { f.Figure8Commit = true },
	"vote-without-log-check":            func(f *raft.Faults) { f.VoteWithoutLogCheck = true },
	"truncate-on-stale-append":          func(f *raft.Faults) { f.TruncateOnStaleAppend = true },
	"forget-vote-on-restart":            func(f *raft.Faults) { f.ForgetVoteOnRestart = true },
	"commit-from-leadercommit":          func(f *raft.Faults) { f.CommitFromLeaderCommit = true },
	"commit-to-last-index":              func(f *raft.Faults) { f.CommitToLastIndex = true },
	"snapshot-keeps-conflicting-suffix": func(f *raft.Faults) { f.SnapshotKeepsConflictingSuffix = true },
	"snapshot-discards-matching-suffix": func(f *raft.Faults) { f.SnapshotDiscardsMatchingSuffix = true },
	"reconfig-before-term-commit":       func(f *raft.Faults) { f.ReconfigBeforeTermCommit = true },
	"config-on-commit":                  func(f *raft.Faults) { f.ConfigOnCommit = true },
	"count-nonmember-votes":             func(f *raft.Faults) { f.CountNonmemberVotes = true },
	"concurrent-reconfigs":              func(f *raft.Faults) { f.ConcurrentReconfigs = true },
}

// FaultNames lists the seeded bugs the implementation mirrors: those the
// model's registry marks Mirrored, in its order (mirrors maps each to its
// switch; a test checks that the two agree).
var FaultNames = mirroredBugs()

func mirroredBugs() []string {
	var out []string
	for _, b := range model.Bugs {
		if b.Mirrored {
			out = append(out, b.Name)
		}
	}
	return out
}

// SoleVoterWaitsName names, among the bugs FaultsFor takes, the switch
// that is not a seeded bug but the model's one-voter gap
// (raft.Faults.SoleVoterWaits): explore conform --impl-faults
// sole-voter-waits compares joint and learner changes beyond it.
const SoleVoterWaitsName = "sole-voter-waits"

// FaultsFor returns the implementation's fault switches that mirror the
// named seeded bugs of the model (and SoleVoterWaitsName), or an error
// naming a bug without one.
func FaultsFor(bugs []string) (raft.Faults, error) {
	var f raft.Faults
	for _, b := range bugs {
		if b == SoleVoterWaitsName {
			f.SoleVoterWaits = true
			continue
		}
		set, ok := mirrors[b]
		if !ok {
			return f, fmt.Errorf("no implementation fault switch mirrors %q (there are: %s; and %s)", b, strings.Join(FaultNames, ", "), SoleVoterWaitsName)
		}
		set(&f)
	}
	return f, nil
}
