package raft

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/raftcheck/raftcheck/spec"
)

// Config configures one Node. The zero value of every production feature
// is "off", so a Config with only ID and Servers set behaves exactly as the
// protocol of spec/README.md: that is the replay path.
type Config struct {
	// ID is this server's id, in 1..Servers.
	ID spec.ServerID
	// Servers is the largest server id that exists: the servers are 1..N,
	// the initial members and the servers that may join later.
	Servers int
	// Initial is the configuration before any configuration entry
	// (membership.go). The zero value makes every server 1..Servers a
	// voter, the fixed cluster of the paper.
	Initial spec.Configuration

	// Restore is the persistent state recovered from storage (Storage.Load);
	// the zero value is a fresh server.
	Restore Persistent
	// Resume, if set, resumes the node in the middle of a run instead of
	// starting it: it holds Restore as persistent state (already on stable
	// storage) and this volatile state, with nothing pending. It is for
	// checkers that compare one step from any state of the specification
	// (impl/cluster's Restore); a real server always starts with nil.
	Resume *Volatile

	// ElectionTick is the base election timeout in ticks; each timeout is
	// drawn from [ElectionTick, 2*ElectionTick). 0 means 10.
	ElectionTick int
	// HeartbeatTick is how many ticks a leader waits between heartbeats.
	// 0 means 1.
	HeartbeatTick int
	// Rand returns a uniform integer in [0, n). It is the node's only source
	// of randomness, injected so that runs are reproducible. nil means a
	// fixed PCG generator seeded with ID.
	Rand func(n int) int

	// Production features, all off on the replay path (see impl/README.md).

	// MaxBatch > 1 turns on proposal batching: proposals are buffered and
	// appended to the log together (one append, one Ready) when MaxBatch of
	// them are waiting or at the next Ready, Tick, Heartbeat or Step.
	MaxBatch int
	// ReplicateOnPropose makes a leader send AppendEntries to every peer as
	// soon as new entries are appended, instead of at the next heartbeat
	// (it is ClientRequest followed by Heartbeat).
	ReplicateOnPropose bool
	// MaxInflight > 0 turns on pipelining: once a follower has acknowledged
	// an AppendEntries, the leader sends new entries optimistically, with up
	// to MaxInflight unacknowledged AppendEntries carrying entries per
	// follower (flow control), and sends the rest as soon as an
	// acknowledgement arrives. With the window full, a heartbeat is an
	// empty AppendEntries after the last entry sent, which a follower that
	// lost some of them refuses, falling back to probing.
	MaxInflight int
	// MaxAppendEntries > 0 bounds the entries one AppendEntries carries
	// (model option --max-batch): a lagging follower is brought up to date
	// over several requests instead of one unbounded one.
	MaxAppendEntries int
	// ConflictHint makes a follower's failure hint the one of §5.3: the
	// index before the first entry of the term it holds at prevLogIndex,
	// so a diverged follower is repaired in one round trip per conflicting
	// term instead of one per entry (model option --conflict-hint).
	ConflictHint bool
	// SnapshotKeepalive makes a leader's heartbeat to a peer that needs a
	// snapshot (Ready.Snapshots) also carry an AppendEntries after the
	// snapshot index, refused until the snapshot is installed, so that a
	// follower receiving a long transfer does not campaign meanwhile. The
	// specification's Heartbeat sends such a peer the snapshot alone.
	SnapshotKeepalive bool

	// The seeded bugs of the tests are not configuration: see Faults and
	// NewWithFaults (compiled only with -tags raftfaults).
}

// Default values of the timing knobs.
const (
	DefaultElectionTick  = 10
	DefaultHeartbeatTick = 1
)

// validate checks the configuration and the restored state and fills in
// defaults.
func (c *Config) validate() error {
	if c.Servers < 1 || c.Servers > spec.MaxServers {
		return fmt.Errorf("servers: %d is not a cluster size in 1..%d", c.Servers, spec.MaxServers)
	}
	if c.ID == spec.None || int(c.ID) > c.Servers {
		return fmt.Errorf("id: %d is not a server of a %d-server cluster", c.ID, c.Servers)
	}
	if c.Initial != (spec.Configuration{}) {
		if err := validateConfiguration(c.Initial, c.Servers); err != nil {
			return fmt.Errorf("initial configuration: %w", err)
		}
	}
	if c.ElectionTick < 0 || c.HeartbeatTick < 0 || c.MaxBatch < 0 || c.MaxInflight < 0 || c.MaxAppendEntries < 0 {
		return errors.New("election_tick, heartbeat_tick, max_batch, max_inflight and max_append_entries must not be negative")
	}
	if c.ElectionTick == 0 {
		c.ElectionTick = DefaultElectionTick
	}
	if c.HeartbeatTick == 0 {
		c.HeartbeatTick = DefaultHeartbeatTick
	}
	if c.HeartbeatTick >= c.ElectionTick {
		return fmt.Errorf("heartbeat_tick %d must be below election_tick %d", c.HeartbeatTick, c.ElectionTick)
	}
	if c.Rand == nil {
		r := rand.New(rand.NewPCG(uint64(c.ID), 0x5eed))
		c.Rand = r.IntN
	}
	if err := c.Restore.validate(c.Servers); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return nil
}
