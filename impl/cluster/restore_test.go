package cluster

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/spec"
)

// TestRestore: a cluster restored to another's state (views, stable
// storage, messages, partition, history) reports that state and then
// takes the same steps to the same states.
func TestRestore(t *testing.T) {
	a := newCluster(t, 3, Options{MaxCopies: 2})
	steps := []spec.Action{{Kind: spec.Timeout, Server: 1}, deliver(rv(1, 2, 1, 0, 0)), deliver(rvr(2, 1, 1, true)),
		{Kind: spec.ClientRequest, Server: 1, Value: "x"}, {Kind: spec.Heartbeat, Server: 1},
		{Kind: spec.Partition, Groups: [][]spec.ServerID{{1, 2}, {3}}}}
	for _, s := range steps {
		apply(t, a, s)
	}
	b := newCluster(t, 3, Options{MaxCopies: 2})
	st, durable := a.State(), must(a.Durable())
	if err := b.Restore(&st, durable); err != nil {
		t.Fatal(err)
	}
	same(t, "restored", a, b)
	for _, s := range []spec.Action{deliver(ae(1, 2, 1, 0, 0, 0, e(1, "x"))), deliver(aer(2, 1, 1, true, 1)), {Kind: spec.Heal},
		{Kind: spec.Restart, Server: 2}, {Kind: spec.Timeout, Server: 3}} {
		apply(t, a, s)
		apply(t, b, s)
		same(t, s.String(), a, b)
	}
	// A candidate's votes are restored too.
	st, durable = a.State(), must(a.Durable())
	if err := b.Restore(&st, durable); err != nil {
		t.Fatal(err)
	}
	same(t, "candidate", a, b)
	if err := b.Apply(spec.Action{Kind: spec.ClientRequest, Server: 1, Value: "x"}); !errors.Is(err, ErrNotEnabled) {
		t.Fatalf("a value in a restored log counts as proposed: %v", err)
	}
}

// TestRestoreRefuses: states the cluster cannot be put in directly are
// refused with ErrNotRestorable, and malformed volatile state by the core.
func TestRestoreRefuses(t *testing.T) {
	st := newCluster(t, 3, Options{}).State()
	durable := make([]spec.Durable, 3)
	piped := newCluster(t, 3, Options{Configure: func(c *raft.Config) { c.MaxInflight = 2 }})
	if err := piped.Restore(&st, durable); !errors.Is(err, ErrNotRestorable) {
		t.Fatalf("pipelining: %v", err)
	}
	onDisk := newCluster(t, 3, Options{Dir: t.TempDir()})
	if err := onDisk.Restore(&st, durable); !errors.Is(err, ErrNotRestorable) {
		t.Fatalf("write-ahead logs: %v", err)
	}
	c := newCluster(t, 3, Options{})
	if err := c.Restore(&st, durable[:2]); !errors.Is(err, ErrNotRestorable) {
		t.Fatalf("two storages: %v", err)
	}
	bad := st.Clone()
	bad.Servers[0].Role, bad.Servers[0].NextIndex, bad.Servers[0].MatchIndex = spec.Leader, []spec.Index{0, 5, 1}, []spec.Index{0, 0, 0}
	if err := c.Restore(&bad, durable); err == nil {
		t.Fatal("a next index beyond the log was restored")
	}
	bad = st.Clone()
	bad.Servers[1].Role, bad.Servers[1].Votes = spec.Candidate, []spec.ServerID{2, 2}
	if err := c.Restore(&bad, durable); err == nil {
		t.Fatal("a repeated vote was restored")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// same fails unless a and b are in the same state with the same storage.
func same(t *testing.T, after string, a, b *Cluster) {
	t.Helper()
	if sa, sb := a.State(), b.State(); !reflect.DeepEqual(sa, sb) {
		t.Fatalf("after %s: states differ:\n%v\n%v", after, sa, sb)
	}
	if da, db := must(a.Durable()), must(b.Durable()); !reflect.DeepEqual(da, db) {
		t.Fatalf("after %s: storage differs:\n%v\n%v", after, da, db)
	}
}

// TestRestoreAgain: restoring the same state before each of its
// transitions (as transition conformance does, keeping the cores no step
// touched) gives every time what a fresh cluster restored to it gives, for
// every step out of it, and a touched core is rebuilt.
func TestRestoreAgain(t *testing.T) {
	a := newCluster(t, 3, Options{MaxCopies: 2})
	for _, s := range []spec.Action{{Kind: spec.Timeout, Server: 1}, deliver(rv(1, 2, 1, 0, 0)), deliver(rvr(2, 1, 1, true)),
		{Kind: spec.ClientRequest, Server: 1, Value: "x"}, {Kind: spec.Heartbeat, Server: 1}} {
		apply(t, a, s)
	}
	st, durable := a.State(), must(a.Durable())
	again := newCluster(t, 3, Options{MaxCopies: 2})
	steps := []spec.Action{deliver(ae(1, 2, 1, 0, 0, 0, e(1, "x"))), {Kind: spec.Restart, Server: 2}, {Kind: spec.Timeout, Server: 3},
		deliver(ae(1, 3, 1, 0, 0, 0, e(1, "x"))), {Kind: spec.Heartbeat, Server: 1}, {Kind: spec.Restart, Server: 1}}
	for _, s := range steps {
		fresh := newCluster(t, 3, Options{MaxCopies: 2})
		for _, c := range []*Cluster{fresh, again} {
			if err := c.Restore(&st, durable); err != nil {
				t.Fatal(err)
			}
		}
		same(t, "restored before "+s.String(), fresh, again)
		apply(t, fresh, s)
		apply(t, again, s)
		same(t, s.String(), fresh, again)
	}
	prev := slices.Clone(again.nodes)
	if err := again.Restore(&st, durable); err != nil {
		t.Fatal(err)
	}
	if again.nodes[0] == prev[0] || again.nodes[1] != prev[1] || again.nodes[2] != prev[2] {
		t.Fatalf("after Restart(S1) and a restore, cores kept: S1 %v S2 %v S3 %v (want S2 and S3 only)",
			again.nodes[0] == prev[0], again.nodes[1] == prev[1], again.nodes[2] == prev[2])
	}
}
