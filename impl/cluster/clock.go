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

// Tick is the spec action Tick(id), with Options.Timers: one tick of
// server id's logical clock. A leader's tick is its heartbeat (HeartbeatTick
// 1); a follower's or candidate's advances its election timer. Without
// Options.Timers the cluster does not model time and refuses it.
func (c *Cluster) Tick(id spec.ServerID) error {
	if c.opts.Timers == 0 {
		return fmt.Errorf("cluster: Tick(%v): %w: the timers are not modelled (Options.Timers)", id, ErrNotEnabled)
	}
	return c.nodeStep("Tick", id, func(r *raft.Node) error {
		term := r.Status().Term
		r.Tick()
		if r.Status().Term != term {
			// The model's Tick never fires a timer: its Timeout does.
			return fmt.Errorf("the tick fired the election timer (the model's timer had expired: Timeout is the step)")
		}
		return nil
	})
}

// tickToCampaign is Timeout(id) with Options.Timers: the model's timer has
// expired, so one tick must fire the core's. A core whose timer has not
// counted as many ticks does not campaign, and the step is refused (the
// tick itself has happened: its timer is one tick further, a difference
// the next steps show).
func (c *Cluster) tickToCampaign(r *raft.Node) error {
	st := r.Status()
	if st.Role == spec.Leader {
		return r.Campaign()
	}
	r.Tick()
	if r.Status().Term == st.Term {
		return fmt.Errorf("one tick did not fire the election timer")
	}
	return nil
}
