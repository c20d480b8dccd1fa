package cluster

import (
	"errors"
	"testing"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/spec"
)

// jointProperties are the invariants that hold across joint consensus:
// all but single-server-changes, whose one-server rule a joint change
// steps outside by design (paper §6).
var jointProperties = func() []string {
	var out []string
	for _, p := range spec.Invariants {
		if p.Name != "single-server-changes" {
			out = append(out, p.Name)
		}
	}
	return out
}()

// applyJoint is apply checking jointProperties.
func applyJoint(t *testing.T, c *Cluster, a spec.Action) {
	t.Helper()
	before := c.State()
	if err := c.Apply(a); err != nil {
		t.Fatalf("%v: %v", a, err)
	}
	after := c.State()
	if err := spec.CheckStep(&before, &a, &after, nil); err != nil {
		t.Fatalf("%v: property violated: %v", a, err)
	}
	if err := spec.CheckAll(&after, jointProperties); err != nil {
		t.Fatalf("%v: property violated: %v", a, err)
	}
}

// deliverAll delivers every message in flight, and the replies, until
// none is left, checking the properties after every step.
func deliverAll(t *testing.T, c *Cluster) {
	t.Helper()
	for k := 0; len(c.InFlight()) > 0; k++ {
		if k == 200 {
			t.Fatal("the network does not fall quiet")
		}
		m := c.InFlight()[0].Message
		applyJoint(t, c, deliver(&m))
	}
}

// beat is a heartbeat of leader id with everything delivered.
func beat(t *testing.T, c *Cluster, id spec.ServerID) {
	t.Helper()
	applyJoint(t, c, spec.Action{Kind: spec.Heartbeat, Server: id})
	deliverAll(t, c)
}

func configOf(c *Cluster, id spec.ServerID) spec.Configuration {
	return spec.ConfigurationOf(c.Views()[id-1].Log, spec.Configuration{Voters: 0b111})
}

// TestMembershipActions: the spec's membership actions, each one step of
// the cluster (a learner added, caught up and promoted; a joint change
// entered and left, removing two servers), with every property that
// holds across joint consensus checked after every step, in memory and on the write-ahead log; refused changes are
// ErrNotEnabled and change nothing; a restarted server and one restored
// from a snapshot keep the configuration; a server outside its
// configuration cannot time out, also with the clock.
func TestMembershipActions(t *testing.T) {
	for _, opts := range []Options{{}, {Clock: true}, {Dir: "wal"}} {
		if opts.Dir != "" {
			opts.Dir = t.TempDir()
		}
		opts.Initial = spec.Configuration{Voters: 0b111}
		c := newCluster(t, 5, opts)
		change := func(a spec.Action) { t.Helper(); applyJoint(t, c, a) }
		refused := func(a spec.Action) {
			t.Helper()
			before := c.State()
			if err := c.Apply(a); !errors.Is(err, ErrNotEnabled) {
				t.Fatalf("%v: %v, want ErrNotEnabled", a, err)
			}
			if after := c.State(); len(before.Servers[0].Diff(&after.Servers[0])) != 0 || len(after.Network) != len(before.Network) {
				t.Fatalf("%v refused but changed the cluster", a)
			}
		}
		refused(spec.Action{Kind: spec.Timeout, Server: 4}) // a joiner does not stand
		change(spec.Action{Kind: spec.Timeout, Server: 1})
		deliverAll(t, c)
		refused(spec.Action{Kind: spec.AddLearner, Server: 1, Target: 4}) // nothing committed in its term
		change(spec.Action{Kind: spec.ClientRequest, Server: 1, Value: "a"})
		beat(t, c, 1)
		change(spec.Action{Kind: spec.AddLearner, Server: 1, Target: 4})
		refused(spec.Action{Kind: spec.AddServer, Server: 1, Target: 5}) // one change at a time
		beat(t, c, 1)
		if got := configOf(c, 4); got != (spec.Configuration{Voters: 0b111, Learners: 0b1000}) {
			t.Fatalf("the learner holds configuration %v", got)
		}
		refused(spec.Action{Kind: spec.Timeout, Server: 4}) // a learner does not stand either
		change(spec.Action{Kind: spec.AddServer, Server: 1, Target: 4})
		beat(t, c, 1)
		change(spec.Action{Kind: spec.EnterJoint, Server: 1, Config: 0b11001})
		refused(spec.Action{Kind: spec.LeaveJoint, Server: 1})
		beat(t, c, 1)
		refused(spec.Action{Kind: spec.RemoveServer, Server: 1, Target: 2}) // joint: only LeaveJoint
		change(spec.Action{Kind: spec.LeaveJoint, Server: 1})
		beat(t, c, 1)
		want := spec.Configuration{Voters: 0b11001}
		for _, id := range []spec.ServerID{1, 4, 5} {
			if got := configOf(c, id); got != want {
				t.Fatalf("%v holds configuration %v, want %v", id, got, want)
			}
		}
		// S2 never hears of C_new: it keeps C_old,new, where it votes (the
		// disruption of thesis §4.2.3, out of scope here).
		if got := configOf(c, 2); got != (spec.Configuration{Voters: 0b11001, Outgoing: 0b1111}) {
			t.Fatalf("S2 holds configuration %v", got)
		}
		applyJoint(t, c, spec.Action{Kind: spec.Heartbeat, Server: 1})
		for _, f := range c.InFlight() {
			if f.Message.To == 2 || f.Message.To == 3 {
				t.Fatalf("a heartbeat went to a removed server: %v", f.Message)
			}
		}
		deliverAll(t, c)
		change(spec.Action{Kind: spec.Compact, Server: 5})
		change(spec.Action{Kind: spec.Restart, Server: 5})
		if got := c.nodes[4].Configuration(); got != want {
			t.Fatalf("restarted from its snapshot, S5 has configuration %v, want %v", got, want)
		}
		change(spec.Action{Kind: spec.Restart, Server: 4})
		if got := c.nodes[3].Configuration(); got != want {
			t.Fatalf("restarted from its log, S4 has configuration %v, want %v", got, want)
		}
		change(spec.Action{Kind: spec.Timeout, Server: 4})
		deliverAll(t, c)
		if v := c.Views()[3]; v.Role != spec.Leader {
			t.Fatalf("S4 did not win in {S1,S4,S5}: %v", v)
		}
	}
}

// TestMembershipFaultNeedsTheBuildTag: the membership fault switches are
// refused without the tag like the others.
func TestMembershipFaultNeedsTheBuildTag(t *testing.T) {
	if raft.FaultsCompiled {
		t.Skip("built with the fault switches")
	}
	_, err := New(3, Options{Faults: raft.Faults{CountNonmemberVotes: true}})
	if !errors.Is(err, raft.ErrFaultsNotCompiled) {
		t.Fatalf("New: %v, want ErrFaultsNotCompiled", err)
	}
}
