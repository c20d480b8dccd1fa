package node

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/spec"
)

// change runs ChangeMembership on the current leader among `among`,
// retrying while leadership moves.
func (c *testCluster) change(cc raft.ConfChange, among ...int) {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l := c.leader(among...)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := c.nodes[l].ChangeMembership(ctx, cc)
		cancel()
		if err == nil {
			return
		}
		if !errors.Is(err, raft.ErrNotLeader) || time.Now().After(deadline) {
			c.t.Fatalf("%v on S%d: %v", cc, l+1, err)
		}
	}
}

// configured waits until every running node in among has configuration want.
func (c *testCluster) configured(want spec.Configuration, among ...int) {
	c.t.Helper()
	waitFor(c.t, 5*time.Second, "configuration "+want.String(), func() bool {
		for _, i := range among {
			if c.nodes[i] != nil && c.nodes[i].Configuration() != want {
				return false
			}
		}
		return true
	})
}

// TestMembershipChanges: a fourth server started outside the initial
// configuration does not campaign, catches up by snapshot once added as a
// learner, becomes a voter; removing the leader makes it step down, the
// others go on, and their transports drop the removed server.
func TestMembershipChanges(t *testing.T) {
	initial := spec.Configuration{Voters: 0b0111}
	c := newCluster(t, 4, func(cfg *Config) {
		cfg.Initial, cfg.SnapshotEntries, cfg.SnapshotChunk = initial, 20, 256
	})
	want := values("a", 60)
	for _, v := range want {
		c.propose(v, 0, 1, 2)
	}
	if st := c.nodes[3].Status(); st.Role != spec.Follower || st.Term != 0 && st.LastIndex != 0 {
		// It may have heard of a term, but never holds entries before
		// it is added: the leader replicates to members only.
		t.Fatalf("S4 before it is added: %+v", st)
	}
	c.change(raft.ConfChange{Kind: spec.AddLearner, Target: 4}, 0, 1, 2)
	c.configured(spec.Configuration{Voters: 0b0111, Learners: 0b1000}, 0, 1, 2, 3)
	c.change(raft.ConfChange{Kind: spec.AddServer, Target: 4}, 0, 1, 2)
	all := []int{0, 1, 2, 3}
	c.configured(spec.Configuration{Voters: 0b1111}, all...)
	c.converged(want)
	if c.sms[3].restored() == 0 {
		t.Fatal("S4 caught up without a snapshot, though the log was compacted")
	}
	if st := c.nodes[3].Status(); st.Config != (spec.Configuration{Voters: 0b1111}) {
		t.Fatalf("S4 %+v", st)
	}

	l := c.leader(all...)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.nodes[l].ChangeMembership(ctx, raft.ConfChange{Kind: spec.RemoveServer, Target: spec.ServerID(l + 1)}); err != nil {
		t.Fatalf("S%d removing itself: %v", l+1, err)
	}
	rest := slices.DeleteFunc(slices.Clone(all), func(i int) bool { return i == l })
	c.configured(spec.Configuration{Voters: 0b1111 &^ (1 << l)}, rest...)
	waitFor(t, 5*time.Second, "the removed leader to step down", func() bool { return c.nodes[l].Status().Role != spec.Leader })
	for _, i := range rest {
		waitFor(t, 5*time.Second, "the removed server's connections to close", func() bool {
			return !slices.Contains(c.nodes[i].tr.Peers(), spec.ServerID(l+1))
		})
	}
	c.stop(l)
	want = append(want, "after")
	c.propose("after", rest...)
	c.converged(want)

	// Refusals change nothing.
	nl := c.leader(rest...)
	for _, tc := range []struct {
		cc   raft.ConfChange
		want error
	}{
		{raft.ConfChange{Kind: spec.AddLearner, Target: spec.ServerID(rest[0] + 1)}, raft.ErrBadChange},
		{raft.ConfChange{Kind: spec.RemoveServer, Target: spec.ServerID(l + 1)}, raft.ErrBadChange},
	} {
		if err := c.nodes[nl].ChangeMembership(ctx, tc.cc); !errors.Is(err, tc.want) {
			t.Errorf("%v: %v, want %v", tc.cc, err, tc.want)
		}
	}
	f := rest[0]
	if f == nl {
		f = rest[1]
	}
	var nle *raft.NotLeaderError
	if err := c.nodes[f].ChangeMembership(ctx, raft.ConfChange{Kind: spec.RemoveServer, Target: 4}); !errors.As(err, &nle) {
		t.Errorf("change on a follower: %v, want a *raft.NotLeaderError", err)
	}
	c.configured(spec.Configuration{Voters: 0b1111 &^ (1 << l)}, rest...)

	// The configuration survives a restart of everyone, from the WAL
	// (entries and snapshots), and the three go on without the fourth.
	for _, i := range rest {
		c.stop(i)
	}
	for _, i := range rest {
		c.start(i)
	}
	c.configured(spec.Configuration{Voters: 0b1111 &^ (1 << l)}, rest...)
	c.propose("restarted", rest...)
	c.converged(append(want, "restarted"))
}

// TestReaddRemovedServer: shrunk to one voter, a cluster adds a removed
// server back as a voter at once; committing that entry needs the
// server's acknowledgement, so it must be a transport peer again as soon
// as the entry is appended, not only once it commits.
func TestReaddRemovedServer(t *testing.T) {
	c := newCluster(t, 3, nil)
	l := c.leader()
	others := []int{(l + 1) % 3, (l + 2) % 3}
	want := spec.Configuration{Voters: 0b111}
	for _, o := range others {
		want.Voters &^= 1 << o
		c.change(raft.ConfChange{Kind: spec.RemoveServer, Target: spec.ServerID(o + 1)}, l)
		c.configured(want, l)
	}
	c.propose("alone", l)
	back := others[0]
	c.change(raft.ConfChange{Kind: spec.AddServer, Target: spec.ServerID(back + 1)}, l)
	want.Voters |= 1 << back
	c.configured(want, l, back)
	c.propose("together", l, back)
	waitFor(t, 5*time.Second, "the re-added server to apply everything", func() bool {
		vs := c.sms[back].values()
		return slices.Contains(vs, "together") && slices.Contains(vs, "alone")
	})
}
