package cluster

import (
	"fmt"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/spec"
)

// ticks returns the cores' election and heartbeat intervals, defaults
// applied as raft.Config does.
func (c *Cluster) ticks() (election, heartbeat int) {
	cfg := c.coreConfig()
	election, heartbeat = cfg.ElectionTick, cfg.HeartbeatTick
	if election == 0 {
		election = raft.DefaultElectionTick
	}
	if heartbeat == 0 {
		heartbeat = raft.DefaultHeartbeatTick
	}
	return election, heartbeat
}

// tickUntilCampaign ticks a follower or candidate until its election
// timeout fires and it campaigns (its term goes up). A randomized timeout
// is below twice the election interval, and every step ends with the
// timer reset or untouched by ticks (a Timeout ticks it to its end), so
// the bound is never reached by a working core. A leader, and a server
// that is not a voter of its configuration (its ticks never campaign),
// refuse as Campaign does.
func (c *Cluster) tickUntilCampaign(r *raft.Node) error {
	st := r.Status()
	if st.Role == spec.Leader || !st.Config.Voter(r.ID()) {
		return r.Campaign()
	}
	election, _ := c.ticks()
	for range 2 * election {
		r.Tick()
		if r.Status().Term != st.Term {
			return nil
		}
	}
	return fmt.Errorf("no campaign after %d ticks", 2*election)
}

// tickUntilHeartbeat ticks a leader until its heartbeat interval has
// elapsed and it has sent AppendEntries (it has a Ready). A follower or
// candidate refuses as Heartbeat does.
func (c *Cluster) tickUntilHeartbeat(r *raft.Node) error {
	if r.Status().Role != spec.Leader {
		return r.Heartbeat()
	}
	_, heartbeat := c.ticks()
	for range heartbeat {
		r.Tick()
		if r.HasReady() {
			break
		}
	}
	return nil
}
