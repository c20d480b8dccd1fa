package cluster

import (
	"errors"
	"slices"
	"testing"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/spec"
)

func e(t spec.Term, v string) spec.Entry { return spec.Entry{Term: t, Value: spec.Value(v)} }

func rv(from, to spec.ServerID, term spec.Term, lastIndex spec.Index, lastTerm spec.Term) *spec.Message {
	return &spec.Message{Type: spec.RequestVote, From: from, To: to, Term: term, LastLogIndex: lastIndex, LastLogTerm: lastTerm}
}

func rvr(from, to spec.ServerID, term spec.Term, granted bool) *spec.Message {
	return &spec.Message{Type: spec.RequestVoteResponse, From: from, To: to, Term: term, Granted: granted}
}

func ae(from, to spec.ServerID, term spec.Term, prev spec.Index, prevTerm spec.Term, commit spec.Index, es ...spec.Entry) *spec.Message {
	return &spec.Message{Type: spec.AppendEntries, From: from, To: to, Term: term, PrevLogIndex: prev,
		PrevLogTerm: prevTerm, Entries: es, LeaderCommit: commit}
}

func aer(from, to spec.ServerID, term spec.Term, success bool, match spec.Index) *spec.Message {
	return &spec.Message{Type: spec.AppendEntriesResponse, From: from, To: to, Term: term, Success: success, MatchIndex: match}
}

func deliver(m *spec.Message) spec.Action { return spec.Action{Kind: spec.Deliver, Message: m} }

func newCluster(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	c, err := New(n, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// apply takes a step that must succeed and checks every property of spec
// on the implementation's states before and after it.
func apply(t testing.TB, c *Cluster, a spec.Action) {
	t.Helper()
	if err := checked(c, a); err != nil {
		t.Fatalf("%v: %v", a, err)
	}
}

// checked applies a and returns its error or the first property it
// violates.
func checked(c *Cluster, a spec.Action) error {
	before := c.State()
	if err := c.Apply(a); err != nil {
		return err
	}
	after := c.State()
	if err := spec.CheckStep(&before, &a, &after, nil); err != nil {
		return &violation{err}
	}
	if err := spec.CheckAll(&after, nil); err != nil {
		return &violation{err}
	}
	return nil
}

type violation struct{ err error }

func (v *violation) Error() string { return "property violated: " + v.err.Error() }

func wantInFlight(t testing.TB, c *Cluster, want ...spec.InFlight) {
	t.Helper()
	spec.SortInFlight(want)
	got := c.InFlight()
	if !slices.EqualFunc(got, want, func(a, b spec.InFlight) bool { return a.Count == b.Count && a.Message.Equal(&b.Message) }) {
		t.Fatalf("in flight:\n got  %v\n want %v", got, want)
	}
}

func one(m *spec.Message) spec.InFlight { return spec.InFlight{Message: *m, Count: 1} }

func wantView(t testing.TB, c *Cluster, want spec.View) {
	t.Helper()
	got := c.Views()[want.ID-1]
	if d := got.Diff(&want); len(d) > 0 {
		t.Fatalf("view of %v differs in %v:\n got  %v\n want %v", want.ID, d, got, want)
	}
}

// The storyline of the classic animation, as spec actions: S1 times out,
// wins the election, takes "sally", replicates and commits it.
func TestStoryElectionReplicationCommit(t *testing.T) {
	c := newCluster(t, 3, Options{})
	apply(t, c, spec.Action{Kind: spec.Timeout, Server: 1})
	wantView(t, c, spec.View{ID: 1, Term: 1, VotedFor: 1, Role: spec.Candidate, Votes: []spec.ServerID{1}})
	wantInFlight(t, c, one(rv(1, 2, 1, 0, 0)), one(rv(1, 3, 1, 0, 0)))

	apply(t, c, deliver(rv(1, 2, 1, 0, 0)))
	apply(t, c, deliver(rv(1, 3, 1, 0, 0)))
	wantView(t, c, spec.View{ID: 2, Term: 1, VotedFor: 1})
	wantInFlight(t, c, one(rvr(2, 1, 1, true)), one(rvr(3, 1, 1, true)))

	apply(t, c, deliver(rvr(2, 1, 1, true)))
	wantView(t, c, spec.View{ID: 1, Term: 1, VotedFor: 1, Role: spec.Leader, NextIndex: []spec.Index{0, 1, 1}, MatchIndex: []spec.Index{0, 0, 0}})
	apply(t, c, deliver(rvr(3, 1, 1, true))) // a leader ignores the late vote

	apply(t, c, spec.Action{Kind: spec.ClientRequest, Server: 1, Value: "sally"})
	wantInFlight(t, c)
	apply(t, c, spec.Action{Kind: spec.Heartbeat, Server: 1})
	wantInFlight(t, c, one(ae(1, 2, 1, 0, 0, 0, e(1, "sally"))), one(ae(1, 3, 1, 0, 0, 0, e(1, "sally"))))

	apply(t, c, deliver(ae(1, 2, 1, 0, 0, 0, e(1, "sally"))))
	apply(t, c, deliver(ae(1, 3, 1, 0, 0, 0, e(1, "sally"))))
	wantView(t, c, spec.View{ID: 3, Term: 1, VotedFor: 1, Log: []spec.Entry{e(1, "sally")}})
	apply(t, c, deliver(aer(2, 1, 1, true, 1)))
	wantView(t, c, spec.View{ID: 1, Term: 1, VotedFor: 1, Role: spec.Leader, Log: []spec.Entry{e(1, "sally")},
		CommitIndex: 1, NextIndex: []spec.Index{0, 2, 1}, MatchIndex: []spec.Index{0, 1, 0}})
	apply(t, c, deliver(aer(3, 1, 1, true, 1)))
	if got := c.Applied(1); !slices.Equal(got, []spec.Entry{e(1, "sally")}) {
		t.Fatalf("S1 applied %v", got)
	}

	// At the next heartbeat the leader notifies the followers.
	apply(t, c, spec.Action{Kind: spec.Heartbeat, Server: 1})
	apply(t, c, deliver(ae(1, 2, 1, 1, 1, 1)))
	wantView(t, c, spec.View{ID: 2, Term: 1, VotedFor: 1, Log: []spec.Entry{e(1, "sally")}, CommitIndex: 1})
	if got := c.Applied(2); !slices.Equal(got, []spec.Entry{e(1, "sally")}) {
		t.Fatalf("S2 applied %v", got)
	}
	wantInFlight(t, c, one(ae(1, 3, 1, 1, 1, 1)), one(aer(2, 1, 1, true, 1)))
	s := c.State()
	if len(s.History.Committed) != 1 || s.History.LeaderIn(1) != 1 {
		t.Fatalf("history %+v", s.History)
	}
}

// Every refused step is classified and changes nothing.
func TestRefusedStepsChangeNothing(t *testing.T) {
	c := newCluster(t, 3, Options{})
	apply(t, c, spec.Action{Kind: spec.Timeout, Server: 1})
	apply(t, c, deliver(rv(1, 2, 1, 0, 0)))
	apply(t, c, deliver(rvr(2, 1, 1, true)))
	apply(t, c, spec.Action{Kind: spec.ClientRequest, Server: 1, Value: "a"})
	for _, tc := range []struct {
		a    spec.Action
		want error
	}{
		{deliver(rv(1, 2, 1, 0, 0)), ErrNotEnabled}, // delivered already
		{deliver(rv(1, 3, 1, 0, 1)), ErrNotEnabled}, // never sent
		{spec.Action{Kind: spec.Drop, Message: rvr(2, 1, 1, true)}, ErrNotEnabled},
		{spec.Action{Kind: spec.Duplicate, Message: rvr(3, 1, 1, true)}, ErrNotEnabled},
		{spec.Action{Kind: spec.Timeout, Server: 1}, ErrNotEnabled},
		{spec.Action{Kind: spec.Heartbeat, Server: 2}, ErrNotEnabled},
		{spec.Action{Kind: spec.ClientRequest, Server: 2, Value: "b"}, ErrNotEnabled},
		{spec.Action{Kind: spec.ClientRequest, Server: 1, Value: "a"}, ErrNotEnabled}, // proposed before
		{spec.Action{Kind: spec.Heal}, ErrNotEnabled},
		{spec.Action{Kind: spec.Timeout, Server: 4}, ErrInvalidAction},
		{spec.Action{Kind: spec.Partition, Groups: [][]spec.ServerID{{1, 2, 3}}}, ErrInvalidAction},
		{spec.Action{Kind: 42}, ErrInvalidAction},
		{deliver(&spec.Message{Type: spec.RequestVote, From: 1, To: 1, Term: 1}), ErrInvalidAction},
	} {
		before := c.State()
		err := c.Apply(tc.a)
		if !errors.Is(err, tc.want) {
			t.Errorf("%v: error %v, want %v", tc.a, err, tc.want)
		}
		after := c.State()
		if !statesEqual(&before, &after) {
			t.Errorf("%v: refused but changed the cluster:\n%v\n%v", tc.a, before.String(), after.String())
		}
	}
	if err := c.Heartbeat(2); !errors.Is(err, raft.ErrNotLeader) {
		t.Errorf("the core's reason is lost: %v", err)
	}
	apply(t, c, spec.Action{Kind: spec.Partition, Groups: [][]spec.ServerID{{1}, {2, 3}}})
	if err := c.Partition([][]spec.ServerID{{1, 2}, {3}}); !errors.Is(err, ErrNotEnabled) {
		t.Errorf("second partition: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Heal(); !errors.Is(err, ErrClosed) {
		t.Errorf("closed cluster: %v", err)
	}
}

func statesEqual(a, b *spec.State) bool {
	for i := range a.Servers {
		if !a.Servers[i].Equal(&b.Servers[i]) {
			return false
		}
	}
	return slices.EqualFunc(a.Network, b.Network, func(x, y spec.InFlight) bool { return x.Count == y.Count && x.Message.Equal(&y.Message) }) &&
		slices.EqualFunc(a.Partition, b.Partition, slices.Equal)
}

// Messages across a partition stay in flight, undeliverable, until Heal;
// they can still be dropped.
func TestPartitionHeal(t *testing.T) {
	c := newCluster(t, 3, Options{})
	apply(t, c, spec.Action{Kind: spec.Partition, Groups: [][]spec.ServerID{{3, 2}, {1}}})
	if g := c.Groups(); !slices.EqualFunc(g, [][]spec.ServerID{{1}, {2, 3}}, slices.Equal) {
		t.Fatalf("groups %v", g)
	}
	apply(t, c, spec.Action{Kind: spec.Timeout, Server: 1})
	apply(t, c, spec.Action{Kind: spec.Timeout, Server: 2})
	if err := c.Deliver(*rv(1, 2, 1, 0, 0)); !errors.Is(err, ErrNotEnabled) {
		t.Fatalf("delivered across the partition: %v", err)
	}
	apply(t, c, deliver(rv(2, 3, 1, 0, 0))) // same side
	apply(t, c, spec.Action{Kind: spec.Drop, Message: rv(2, 1, 1, 0, 0)})
	wantInFlight(t, c, one(rv(1, 2, 1, 0, 0)), one(rv(1, 3, 1, 0, 0)), one(rvr(3, 2, 1, true)))
	apply(t, c, spec.Action{Kind: spec.Heal})
	if c.Groups() != nil {
		t.Fatal("still partitioned")
	}
	apply(t, c, deliver(rv(1, 2, 1, 0, 0)))
	wantInFlight(t, c, one(rv(1, 3, 1, 0, 0)), one(rvr(3, 2, 1, true)), one(rvr(2, 1, 1, false)))
}

func TestDuplicateDropAndMaxCopies(t *testing.T) {
	c := newCluster(t, 3, Options{MaxCopies: 2})
	apply(t, c, spec.Action{Kind: spec.Timeout, Server: 1})
	apply(t, c, spec.Action{Kind: spec.Duplicate, Message: rv(1, 2, 1, 0, 0)})
	apply(t, c, spec.Action{Kind: spec.Duplicate, Message: rv(1, 2, 1, 0, 0)}) // Duplicate is not bounded
	wantInFlight(t, c, spec.InFlight{Message: *rv(1, 2, 1, 0, 0), Count: 3}, one(rv(1, 3, 1, 0, 0)))
	for range 3 {
		apply(t, c, deliver(rv(1, 2, 1, 0, 0)))
	}
	// Three identical replies were sent; the network holds at most two.
	wantInFlight(t, c, spec.InFlight{Message: *rvr(2, 1, 1, true), Count: 2}, one(rv(1, 3, 1, 0, 0)))
	apply(t, c, spec.Action{Kind: spec.Drop, Message: rvr(2, 1, 1, true)})
	apply(t, c, deliver(rvr(2, 1, 1, true)))
	wantInFlight(t, c, one(rv(1, 3, 1, 0, 0)))
	wantView(t, c, spec.View{ID: 1, Term: 1, VotedFor: 1, Role: spec.Leader, NextIndex: []spec.Index{0, 1, 1}, MatchIndex: []spec.Index{0, 0, 0}})
}

// electAndCommit is S1, holding n entries ending in term last, becoming
// leader of term with S2's vote and committing v with S2.
func electAndCommit(term spec.Term, n spec.Index, last spec.Term, v spec.Value) []spec.Action {
	return []spec.Action{
		{Kind: spec.Timeout, Server: 1},
		deliver(rv(1, 2, term, n, last)),
		deliver(rvr(2, 1, term, true)),
		{Kind: spec.ClientRequest, Server: 1, Value: v},
		{Kind: spec.Heartbeat, Server: 1},
		deliver(ae(1, 2, term, n, last, 0, spec.Entry{Term: term, Value: v})),
		deliver(aer(2, 1, term, true, n+1)),
	}
}

// Restart keeps term, vote and log, resets the rest, and leaves the network
// alone.
func TestRestart(t *testing.T) {
	c := newCluster(t, 3, Options{})
	for _, a := range electAndCommit(1, 0, 0, "a") {
		apply(t, c, a)
	}
	before := c.InFlight()
	apply(t, c, spec.Action{Kind: spec.Restart, Server: 1})
	wantView(t, c, spec.View{ID: 1, Term: 1, VotedFor: 1, Log: []spec.Entry{e(1, "a")}})
	if got := c.InFlight(); !slices.EqualFunc(got, before, func(a, b spec.InFlight) bool { return a.Count == b.Count && a.Message.Equal(&b.Message) }) {
		t.Fatalf("restart changed the network: %v -> %v", before, got)
	}
	if c.Applied(1) != nil {
		t.Fatalf("applied state survived the restart: %v", c.Applied(1))
	}
	// S2 restarts too and remembers its vote: S3 cannot get it in term 1.
	apply(t, c, spec.Action{Kind: spec.Restart, Server: 2})
	apply(t, c, spec.Action{Kind: spec.Timeout, Server: 3})
	apply(t, c, deliver(rv(3, 2, 1, 0, 0)))
	wantInFlight(t, c, append(before, one(rv(3, 1, 1, 0, 0)), one(rvr(2, 3, 1, false)))...)
	// S1 is re-elected in term 2 and commits again: applied from index 1.
	for _, a := range electAndCommit(2, 1, 1, "b") {
		apply(t, c, a)
	}
	if got := c.Applied(1); !slices.Equal(got, []spec.Entry{e(1, "a"), e(2, "b")}) {
		t.Fatalf("S1 applied %v after restart", got)
	}
}
