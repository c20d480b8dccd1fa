package model

import (
	"fmt"
	"slices"
	"strings"

	"github.com/raftcheck/raftcheck/spec"
)

// Hard limits of the packed state representation.
const (
	// MaxServers is the largest cluster the model explores.
	MaxServers = spec.MaxServers
	// MaxLog is the longest log; since every client value is used once, it
	// is also the largest number of values.
	MaxLog = 8
	// MaxTerm is the highest term a server may reach.
	MaxTerm = 15
	// MaxInFlight bounds both the number of distinct messages and the total
	// number of copies in flight.
	MaxInFlight = 16
	// MaxWindow is the largest pipelining window (Features.MaxInflight):
	// a leader keeps the last index of each unacknowledged request per
	// peer in a nibble of one byte.
	MaxWindow = 2
)

// Config holds the bounds of the model. Every action that would leave them
// is disabled, so every state the model produces lies within them.
type Config struct {
	// Servers is the cluster size, 3 to 7.
	Servers int `json:"servers"`
	// MaxTerm bounds currentTerm: Timeout is disabled at this term.
	MaxTerm int `json:"max_term"`
	// MaxValues is the number of client values; each is proposed once.
	MaxValues int `json:"max_values"`
	// MaxMsgs bounds the messages in flight, copies included.
	MaxMsgs int `json:"max_msgs"`
	// MaxCopies bounds the copies of one message. A send of a message
	// already in flight MaxCopies times leaves the count unchanged: the
	// network loses the extra copy, which is always an allowed behaviour.
	MaxCopies int `json:"max_copies"`
	// MaxRestarts, MaxPartitions, MaxDrops and MaxDups bound the faults of a
	// run: Restart, Partition, Drop and Duplicate actions.
	MaxRestarts   int `json:"max_restarts"`
	MaxPartitions int `json:"max_partitions"`
	MaxDrops      int `json:"max_drops"`
	MaxDups       int `json:"max_dups"`
	// MaxSnapshots bounds the Compact actions of a run (snapshots of a
	// server's committed log, §7); 0 switches snapshots off.
	MaxSnapshots int `json:"max_snapshots,omitempty"`
	// MaxReconfigs bounds the membership changes of a run (AddServer,
	// RemoveServer, AddLearner, EnterJoint; thesis §4.2-4.3; LeaveJoint
	// completes an EnterJoint's change and is not counted); 0 switches
	// them off.
	MaxReconfigs int `json:"max_reconfigs,omitempty"`
	// Joiners is the number of servers that exist beyond the Servers
	// initial members, outside the initial configuration (servers
	// Servers+1 .. Servers+Joiners); they need MaxReconfigs > 0.
	Joiners int `json:"joiners,omitempty"`
	// Reconfig is the kind of membership changes: ReconfigSingle
	// (AddServer, RemoveServer; "" means it too) or ReconfigJoint
	// (EnterJoint, LeaveJoint: joint consensus, paper §6).
	Reconfig string `json:"reconfig,omitempty"`
	// Learners switches on non-voting members (thesis §4.2.1): AddLearner,
	// and in single mode AddServer only of a learner that has caught up.
	Learners bool `json:"learners,omitempty"`
	// Values names the client values (default "v1", "v2", ...).
	Values []spec.Value `json:"values,omitempty"`
	// Bug switches on one seeded bug by name ("" for the correct protocol).
	Bug string `json:"bug,omitempty"`
	// Features switches on optional mechanisms of the protocol (all off:
	// Figure 2 exactly, the configuration every pinned count is of).
	spec.Features
}

// The kinds of membership changes (Config.Reconfig).
const (
	ReconfigSingle = "single"
	ReconfigJoint  = "joint"
)

// DefaultConfig is the configuration `make explore` checks: three servers,
// two terms, two client values (so an uncommitted entry can be
// overwritten), a restart, a lost message and a partition.
func DefaultConfig() Config {
	return Config{Servers: 3, MaxTerm: 2, MaxValues: 2, MaxMsgs: 3, MaxCopies: 1,
		MaxRestarts: 1, MaxPartitions: 1, MaxDrops: 1, MaxDups: 0}
}

// DefaultConfigFor is DefaultConfig for a cluster of n servers: the bounds
// that depend on the cluster size scale with it. An election or a
// heartbeat round puts n-1 messages in flight at once, so max-msgs is n
// (room for one round and one reply).
func DefaultConfigFor(n int) Config {
	c := DefaultConfig()
	c.Servers, c.MaxMsgs = n, n
	return c
}

// Exercisable reports the first bound that disables an action kind for
// every server in every state, so that a run could check nothing it seems
// to: too few messages for an election or a heartbeat, no term to elect a
// leader in. The error names the bound and the smallest value that works.
// (A budget of 0 restarts, drops, partitions, duplications or values
// switches that fault or client requests off on purpose, and is
// allowed.) Validate must hold first.
func (c *Config) Exercisable() error {
	if c.MaxTerm < 1 {
		return fmt.Errorf("max-term: %d allows no election, since a timeout starts term 1 (use at least 1)", c.MaxTerm)
	}
	if need := c.Servers - 1; c.MaxMsgs < need {
		return fmt.Errorf("max-msgs: %d is too few for %d servers: an election or a heartbeat round sends %d messages at once (use at least %d)",
			c.MaxMsgs, c.Servers, need, need)
	}
	return nil
}

// Validate reports the first nonsensical bound, naming it.
func (c *Config) Validate() error {
	check := func(name string, v, lo, hi int) error {
		if v < lo || v > hi {
			return fmt.Errorf("%s: %d is out of range [%d, %d]", name, v, lo, hi)
		}
		return nil
	}
	for _, b := range []struct {
		name      string
		v, lo, hi int
	}{
		{"servers", c.Servers, 3, MaxServers},
		{"max-term", c.MaxTerm, 0, MaxTerm},
		{"max-values", c.MaxValues, 0, MaxLog},
		{"max-msgs", c.MaxMsgs, 0, MaxInFlight},
		{"max-copies", c.MaxCopies, 1, 255},
		{"max-restarts", c.MaxRestarts, 0, 255},
		{"max-partitions", c.MaxPartitions, 0, 255},
		{"max-drops", c.MaxDrops, 0, 255},
		{"max-dups", c.MaxDups, 0, 255},
		{"max-batch", c.MaxBatch, 0, MaxLog},
		{"max-inflight", c.MaxInflight, 0, MaxWindow},
		{"max-snapshots", c.MaxSnapshots, 0, 255},
		{"max-reconfigs", c.MaxReconfigs, 0, MaxReconfigs},
		{"joiners", c.Joiners, 0, MaxServers - c.Servers},
	} {
		if err := check(b.name, b.v, b.lo, b.hi); err != nil {
			return err
		}
	}
	if c.Joiners > 0 && c.MaxReconfigs == 0 {
		return fmt.Errorf("joiners: %d servers outside the configuration can never join with max-reconfigs 0", c.Joiners)
	}
	if err := c.validateMembership(); err != nil {
		return err
	}
	if c.MaxDups > 0 && c.MaxCopies < 2 {
		// Duplicate(m) makes a second copy; with one copy allowed it is
		// never enabled, and a bound that cannot act is a mistake.
		return fmt.Errorf("max-dups: %d duplications need max-copies of at least 2 (it is %d)", c.MaxDups, c.MaxCopies)
	}
	if len(c.Values) != 0 {
		if len(c.Values) != c.MaxValues {
			return fmt.Errorf("values: %d names given for %d values", len(c.Values), c.MaxValues)
		}
		for i, v := range c.Values {
			if v == "" || slices.Contains(c.Values[:i], v) {
				return fmt.Errorf("values: name %q is empty or repeated", v)
			}
		}
	}
	if c.Bug != "" {
		if _, ok := bugByName(c.Bug); !ok {
			return fmt.Errorf("bug: unknown seeded bug %q (known: %s)", c.Bug, strings.Join(BugNames(), ", "))
		}
	}
	return nil
}

// validateMembership checks the options of membership changes: a known
// kind, and none of them without changes to make.
func (c *Config) validateMembership() error {
	switch c.Reconfig {
	case "", ReconfigSingle:
	case ReconfigJoint:
		// Each joint change numbers two configurations (C_old,new, C_new).
		if c.MaxReconfigs > MaxReconfigs/2 {
			return fmt.Errorf("max-reconfigs: %d is out of range [0, %d] with reconfig joint (each change numbers two configurations)", c.MaxReconfigs, MaxReconfigs/2)
		}
	default:
		return fmt.Errorf("reconfig: unknown kind of membership change %q (want %s or %s)", c.Reconfig, ReconfigSingle, ReconfigJoint)
	}
	if c.MaxReconfigs == 0 && (c.Reconfig != "" || c.Learners) {
		return fmt.Errorf("reconfig: membership options (reconfig %q, learners %v) need max-reconfigs > 0", c.Reconfig, c.Learners)
	}
	return nil
}

// ValueName returns the name of value number k (1-based).
func (c *Config) ValueName(k int) spec.Value {
	if k >= 1 && k <= len(c.Values) {
		return c.Values[k-1]
	}
	return spec.Value(fmt.Sprintf("v%d", k))
}

// String renders the bounds compactly.
func (c Config) String() string {
	s := fmt.Sprintf("servers=%d max-term=%d max-values=%d max-msgs=%d max-copies=%d restarts=%d partitions=%d drops=%d dups=%d",
		c.Servers, c.MaxTerm, c.MaxValues, c.MaxMsgs, c.MaxCopies, c.MaxRestarts, c.MaxPartitions, c.MaxDrops, c.MaxDups)
	if c.MaxSnapshots > 0 {
		s += fmt.Sprintf(" snapshots=%d", c.MaxSnapshots)
	}
	if c.MaxReconfigs > 0 {
		s += fmt.Sprintf(" joiners=%d reconfigs=%d", c.Joiners, c.MaxReconfigs)
		if c.Reconfig == ReconfigJoint {
			s += " reconfig=joint"
		}
		if c.Learners {
			s += " learners"
		}
	}
	if c.Bug != "" {
		s += " bug=" + c.Bug
	}
	if f := c.Features.String(); f != "" {
		s += " features=" + strings.ReplaceAll(f, " ", ",")
	}
	return s
}
