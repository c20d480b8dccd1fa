package model

import (
	"slices"

	"github.com/raftcheck/raftcheck/spec"
)

// Goal is a reachability ("sometimes") property: a run reports whether some
// reachable state satisfies Reached, or some step satisfies Step (one of
// the two is set). Goals show what a bounded run actually covered: a
// configuration that never commits a value is visibly so.
//
// Expected, when set, says for which configurations the goal must be
// reached: a complete run that misses an expected goal has checked the
// properties on less than its bounds promise, and is reported as vacuous.
// Raise names the bounds that keep it out of reach when it is missed.
type Goal struct {
	Name     string
	Doc      string
	Reached  func(m *Model, s *State) bool
	Step     func(m *Model, before *State, a Action, after *State) bool
	Expected func(c *Config) bool
	Raise    string
}

// always is Expected for goals every configuration must reach.
func always(*Config) bool { return true }

// stepOf is a Step goal reached by any action of kind k.
func stepOf(k spec.ActionKind) func(*Model, *State, Action, *State) bool {
	return func(_ *Model, _ *State, a Action, _ *State) bool { return a.Kind == k }
}

// Goals lists the goals every exploration reports.
var Goals = []Goal{
	{Name: "leader-elected", Doc: "some server becomes leader", Expected: always, Raise: "--max-term or --max-msgs",
		Reached: func(_ *Model, s *State) bool { return s.leaderOf != [len(s.leaderOf)]uint8{} }},
	{Name: "value-committed", Doc: "some value is committed", Expected: func(c *Config) bool { return c.MaxValues > 0 },
		Raise:   "--max-term or --max-msgs",
		Reached: func(_ *Model, s *State) bool { return s.hlen > 0 }},
	{Name: "leader-above-term-1", Doc: "a leader is elected in a term above 1 (a second election succeeds)",
		Reached: func(_ *Model, s *State) bool {
			for _, id := range s.leaderOf[2:] {
				if id != 0 {
					return true
				}
			}
			return false
		}},
	{Name: "leader-stepped-down", Doc: "a leader learns of a higher term and steps down",
		Step: func(m *Model, b *State, _ Action, a *State) bool {
			for i := range m.n {
				if b.srv[i].role == leader && a.srv[i].role != leader && a.srv[i].term > b.srv[i].term {
					return true
				}
			}
			return false
		}},
	{Name: "uncommitted-entry-overwritten", Doc: "a server replaces an entry of its log by a different one",
		Step: func(m *Model, b *State, a Action, after *State) bool {
			if a.Kind != spec.Deliver {
				return false
			}
			for i := range m.n {
				x, y := &b.srv[i], &after.srv[i]
				if c := min(x.n, y.n); !slices.Equal(x.log[:c], y.log[:c]) {
					return true
				}
			}
			return false
		}},
	{Name: "partition-healed", Doc: "a partition heals", Expected: func(c *Config) bool { return c.MaxPartitions > 0 }, Raise: "--max-partitions",
		Step: stepOf(spec.Heal)},
	{Name: "server-restarted", Doc: "a server crashes and restarts", Expected: func(c *Config) bool { return c.MaxRestarts > 0 }, Raise: "--max-restarts",
		Step: stepOf(spec.Restart)},
	{Name: "message-dropped", Doc: "the network loses a message", Expected: func(c *Config) bool { return c.MaxDrops > 0 }, Raise: "--max-drops or --max-msgs",
		Step: stepOf(spec.Drop)},
	{Name: "snapshot-taken", Doc: "a server snapshots its committed log", Expected: func(c *Config) bool { return c.MaxSnapshots > 0 },
		Raise: "--max-snapshots or --max-values", Step: stepOf(spec.Compact)},
	{Name: "snapshot-installed", Doc: "a follower installs a leader's snapshot",
		Step: func(m *Model, b *State, a Action, _ *State) bool {
			return a.Kind == spec.Deliver && int(a.Msg) < int(b.nmsg) && b.msgs[a.Msg].typ() == spec.InstallSnapshot
		}},
	{Name: "message-duplicated", Doc: "the network duplicates a message", Expected: func(c *Config) bool { return c.MaxDups > 0 }, Raise: "--max-msgs or --max-copies",
		Step: stepOf(spec.Duplicate)},
}

// SwitchedOff lists the action kinds the configuration disables on
// purpose (a budget of 0, no client values): a run that never enables them
// is not vacuous for it.
func (c *Config) SwitchedOff() []spec.ActionKind {
	var out []spec.ActionKind
	for _, k := range []struct {
		kind spec.ActionKind
		off  bool
	}{{spec.ClientRequest, c.MaxValues == 0}, {spec.Drop, c.MaxDrops == 0}, {spec.Duplicate, c.MaxDups == 0},
		{spec.Partition, c.MaxPartitions == 0}, {spec.Heal, c.MaxPartitions == 0}, {spec.Restart, c.MaxRestarts == 0},
		{spec.Compact, c.MaxSnapshots == 0},
		// Adding needs a server outside the configuration: a joiner, or
		// one removed by an earlier change.
		// With learners, a learner must be added first.
		{spec.AddServer, c.MaxReconfigs == 0 || ((c.Joiners == 0 || c.Learners) && c.MaxReconfigs < 2) || c.Reconfig == ReconfigJoint},
		{spec.RemoveServer, c.MaxReconfigs == 0 || c.Reconfig == ReconfigJoint},
		// The kinds of the other mode (listed only with changes on, as
		// reports without them do not show these kinds at all); only the
		// seeded bug wipes a disk (a removed id is retired).
		{spec.AddLearner, c.MaxReconfigs > 0 && !c.Learners},
		{spec.EnterJoint, c.MaxReconfigs > 0 && c.Reconfig != ReconfigJoint},
		{spec.LeaveJoint, c.MaxReconfigs > 0 && c.Reconfig != ReconfigJoint},
		{spec.Wipe, c.MaxReconfigs > 0 && c.Bug != "rejoin-blank-disk"}} {
		if k.off {
			out = append(out, k.kind)
		}
	}
	return out
}
