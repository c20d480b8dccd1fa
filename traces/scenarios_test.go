package traces_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/raftcheck/raftcheck/checker"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/model/checking"
	"github.com/raftcheck/raftcheck/spec"
	"github.com/raftcheck/raftcheck/traces"
	"github.com/raftcheck/raftcheck/traces/replay"
)

// -update rewrites the stored scenarios and counterexamples from the code
// below; without it the test fails when a stored file is out of date.
var update = flag.Bool("update", false, "rewrite traces/scenarios from the generators")

// builder writes a scenario step by step on the model, so every delivered
// message is the one actually in flight.
type builder struct {
	tb   testing.TB
	m    *model.Model
	s    model.State
	view spec.State
	tr   *traces.Trace
}

func newBuilder(tb testing.TB, title string, cfg model.Config) *builder {
	m, err := model.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	b := &builder{tb: tb, m: m, s: m.Init(), tr: traces.New(cfg, traces.Producer{Tool: "hand-written", Command: "go test ./traces -run TestScenarios -update"})}
	b.tr.Title = title
	m.View(&b.s, &b.view)
	return b
}

func (b *builder) do(a spec.Action, caption string) *builder {
	b.tb.Helper()
	next, err := b.m.Step(b.s, a)
	if err != nil {
		b.tb.Fatalf("%s: %v", b.tr.Title, err)
	}
	b.s = next
	b.view = spec.State{}
	b.m.View(&b.s, &b.view)
	b.tr.Steps = append(b.tr.Steps, traces.Step{Action: a, Caption: caption})
	return b
}

func (b *builder) timeout(id spec.ServerID, caption string) *builder {
	return b.do(spec.Action{Kind: spec.Timeout, Server: id}, caption)
}

func (b *builder) heartbeat(id spec.ServerID, caption string) *builder {
	return b.do(spec.Action{Kind: spec.Heartbeat, Server: id}, caption)
}

func (b *builder) client(id spec.ServerID, v spec.Value, caption string) *builder {
	return b.do(spec.Action{Kind: spec.ClientRequest, Server: id, Value: v}, caption)
}

func (b *builder) msg(typ spec.MsgType, from, to spec.ServerID) *spec.Message {
	b.tb.Helper()
	for _, f := range b.view.Network {
		if f.Message.Type == typ && f.Message.From == from && f.Message.To == to {
			m := f.Message
			return &m
		}
	}
	b.tb.Fatalf("%s: no %v %v->%v in flight", b.tr.Title, typ, from, to)
	return nil
}

func (b *builder) deliver(typ spec.MsgType, from, to spec.ServerID, caption string) *builder {
	b.tb.Helper()
	return b.do(spec.Action{Kind: spec.Deliver, Message: b.msg(typ, from, to)}, caption)
}

func (b *builder) drop(typ spec.MsgType, from, to spec.ServerID, caption string) *builder {
	b.tb.Helper()
	return b.do(spec.Action{Kind: spec.Drop, Message: b.msg(typ, from, to)}, caption)
}

// expect records the current role, term, log and commitIndex of the given
// servers, and the committed values, as expectations of the last step.
func (b *builder) expect(ids ...spec.ServerID) *builder {
	e := b.lastExpect()
	for _, id := range ids {
		v := b.view.Servers[id-1]
		role, term, log, commit := v.Role.String(), v.Term, v.Log, v.CommitIndex
		if log == nil {
			log = []spec.Entry{}
		}
		e.Servers = append(e.Servers, traces.ServerExpect{ID: id, Role: &role, Term: &term, Log: &log, CommitIndex: &commit})
	}
	return b
}

// lastExpect returns the expectations of the last step, creating them.
func (b *builder) lastExpect() *traces.Expect {
	last := &b.tr.Steps[len(b.tr.Steps)-1]
	if last.Expect == nil {
		last.Expect = &traces.Expect{}
	}
	return last.Expect
}

func (b *builder) committed(vals ...spec.Value) *builder {
	e := b.lastExpect()
	e.Committed = append(e.Committed, vals...)
	return b
}

func (b *builder) notCommitted(vals ...spec.Value) *builder {
	e := b.lastExpect()
	e.NotCommitted = append(e.NotCommitted, vals...)
	return b
}

// replicationScenario is storyline 1 of the classic animation: three
// servers; "sally" then "bob" are replicated at a heartbeat, committed once
// a majority acknowledges, and the commit reaches the followers at the
// next heartbeat.
func replicationScenario(tb testing.TB) *traces.Trace {
	b := newBuilder(tb, "Log replication: sally and bob on three servers",
		model.Config{Servers: 3, MaxTerm: 2, MaxValues: 2, MaxMsgs: 6, MaxCopies: 1, Values: []spec.Value{"sally", "bob"}})
	b.timeout(1, "S1's election timeout fires first: it becomes a candidate for term 1, votes for itself and asks for votes").expect(1)
	b.deliver(spec.RequestVote, 1, 2, "S2 has not voted in term 1: it votes for S1")
	b.deliver(spec.RequestVote, 1, 3, "S3 votes for S1 too")
	b.deliver(spec.RequestVoteResponse, 2, 1, "With its own vote and S2's, S1 has a majority and becomes leader").expect(1)
	b.deliver(spec.RequestVoteResponse, 3, 1, "The late vote changes nothing")
	for i, v := range []spec.Value{"sally", "bob"} {
		b.client(1, v, fmt.Sprintf("A client sends %q to the leader; the entry is appended to its log, uncommitted", v)).expect(1).notCommitted(v)
		b.heartbeat(1, "At the next heartbeat, the entry is replicated to the followers")
		b.deliver(spec.AppendEntries, 1, 2, "S2 appends the entry").expect(2)
		b.deliver(spec.AppendEntries, 1, 3, "S3 appends the entry")
		b.deliver(spec.AppendEntriesResponse, 2, 1, "The entry is committed once a majority acknowledges it").expect(1).committed(v)
		b.deliver(spec.AppendEntriesResponse, 3, 1, "The second acknowledgement raises S3's matchIndex")
		b.heartbeat(1, "At the next heartbeat, the leader notifies the followers of the new committed entry")
		b.deliver(spec.AppendEntries, 1, 2, "S2 learns the new commit index").expect(2)
		b.deliver(spec.AppendEntries, 1, 3, "S3 learns the new commit index").expect(3)
		b.deliver(spec.AppendEntriesResponse, 2, 1, "")
		b.deliver(spec.AppendEntriesResponse, 3, 1, "")
		if i == 1 {
			b.tr.Steps[len(b.tr.Steps)-1].Caption = "Every server holds sally and bob, committed"
			b.expect(1, 2, 3).committed("sally", "bob")
		}
	}
	return b.tr
}

// partitionScenario is storyline 2: five servers; a partition leaves the
// leader with one follower; "bob" is acknowledged by it but not committed;
// the majority side elects a new leader and commits "tom"; after healing
// the old leader steps down and its uncommitted "bob" is replaced.
func partitionScenario(tb testing.TB) *traces.Trace {
	b := newBuilder(tb, "A network partition: the leader without a quorum cannot commit",
		model.Config{Servers: 5, MaxTerm: 3, MaxValues: 3, MaxMsgs: 16, MaxCopies: 1, MaxPartitions: 1, MaxDrops: 3,
			Values: []spec.Value{"sally", "bob", "tom"}})
	b.timeout(1, "S1 times out first and asks for votes in term 1")
	for j := spec.ServerID(2); j <= 5; j++ {
		b.deliver(spec.RequestVote, 1, j, "")
	}
	b.deliver(spec.RequestVoteResponse, 2, 1, "")
	b.deliver(spec.RequestVoteResponse, 3, 1, "Three votes of five: S1 is leader of term 1").expect(1)
	b.deliver(spec.RequestVoteResponse, 4, 1, "")
	b.deliver(spec.RequestVoteResponse, 5, 1, "")
	b.client(1, "sally", "A client sends \"sally\" to the leader")
	b.heartbeat(1, "At the next heartbeat, the entry is replicated to the followers")
	for j := spec.ServerID(2); j <= 5; j++ {
		b.deliver(spec.AppendEntries, 1, j, "")
		b.deliver(spec.AppendEntriesResponse, j, 1, "")
	}
	b.tr.Steps[len(b.tr.Steps)-1].Caption = "The followers acknowledge the entry and the entry is committed"
	b.committed("sally")
	b.heartbeat(1, "On the next heartbeat, the commit index reaches the followers")
	for j := spec.ServerID(2); j <= 5; j++ {
		b.deliver(spec.AppendEntries, 1, j, "")
		b.deliver(spec.AppendEntriesResponse, j, 1, "")
	}
	b.expect(2, 3, 4, 5)
	b.do(spec.Action{Kind: spec.Partition, Groups: [][]spec.ServerID{{1, 2}, {3, 4, 5}}},
		"A network partition makes a majority of nodes inaccessible from the leader")
	b.client(1, "bob", "A new log entry is added to the leader").expect(1)
	b.heartbeat(1, "The leader replicates the entry to the only accessible follower")
	b.deliver(spec.AppendEntries, 1, 2, "S2 appends bob").expect(2)
	b.deliver(spec.AppendEntriesResponse, 2, 1, "The follower acknowledges the entry but there is not a quorum: bob stays uncommitted").expect(1).notCommitted("bob")
	b.timeout(3, "On the majority side S3 times out and asks for votes in term 2")
	for _, j := range []spec.ServerID{4, 5} {
		b.deliver(spec.RequestVote, 3, j, "")
		b.deliver(spec.RequestVoteResponse, j, 3, "")
	}
	b.tr.Steps[len(b.tr.Steps)-1].Caption = "S3 wins with three votes of five: two leaders exist, in different terms"
	b.expect(1, 3)
	b.client(3, "tom", "A client sends \"tom\" to the new leader")
	for _, j := range []spec.ServerID{3, 4, 5} {
		b.drop(spec.AppendEntries, 1, j, "The old leader's heartbeat across the partition is lost")
	}
	b.heartbeat(3, "S3 replicates tom on its side of the partition")
	for _, j := range []spec.ServerID{4, 5} {
		b.deliver(spec.AppendEntries, 3, j, "")
		b.deliver(spec.AppendEntriesResponse, j, 3, "")
	}
	b.tr.Steps[len(b.tr.Steps)-1].Caption = "A majority holds tom: it is committed"
	b.expect(3).committed("tom").notCommitted("bob")
	b.do(spec.Action{Kind: spec.Heal}, "The partition heals")
	b.deliver(spec.AppendEntries, 3, 1, "S1 sees the higher term, steps down, and its uncommitted bob is replaced by tom").expect(1)
	b.deliver(spec.AppendEntries, 3, 2, "S2 too rolls back bob and matches the new leader's log").expect(2)
	b.deliver(spec.AppendEntriesResponse, 1, 3, "")
	b.deliver(spec.AppendEntriesResponse, 2, 3, "The logs are consistent across the cluster again").expect(1, 2, 3, 4, 5).committed("sally", "tom").notCommitted("bob")
	return b.tr
}

var scenarios = map[string]func(testing.TB) *traces.Trace{
	"replication": replicationScenario,
	"partition":   partitionScenario,
}

// bugTrace finds a seeded bug's counterexample at its documented bounds.
func bugTrace(tb testing.TB, bug model.Bug) *traces.Trace {
	cfg := bug.Bounds
	cfg.Bug = bug.Name
	m := model.MustNew(cfg)
	res, err := checker.Check[model.State, model.Action](checking.Adapter{Model: m}, checking.Properties(m, nil),
		checker.Options{Workers: 2, Symmetry: true})
	if err != nil {
		tb.Fatal(err)
	}
	if res.Violation == nil {
		tb.Fatalf("%s: not found", bug.Name)
	}
	t := replay.FromPath(m, &res.Violation.Path, res.Violation, traces.Producer{Tool: "explore check", Command: "explore check --bug " + bug.Name, Strategy: "bfs"})
	t.Title = fmt.Sprintf("Seeded bug %s: %s", bug.Name, bug.Mutation)
	return t
}

// storedOrUpdate compares a generated trace with the stored file, or
// rewrites it under -update.
func storedOrUpdate(t *testing.T, path string, tr *traces.Trace) {
	t.Helper()
	b, err := tr.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./traces -run TestScenarios -update)", err)
	}
	if !bytes.Equal(old, b) {
		t.Fatalf("%s is out of date with its generator (run go test ./traces -run TestScenarios -update)", path)
	}
}

// TestScenariosStored: the stored scenarios are what the generators above
// write, so the files and the code tell the same story.
func TestScenariosStored(t *testing.T) {
	for name, gen := range scenarios {
		storedOrUpdate(t, filepath.Join("scenarios", name+".json"), gen(t))
	}
}

// TestBugCounterexamplesStored: one stored counterexample per seeded bug,
// as explore check --bug writes it.
func TestBugCounterexamplesStored(t *testing.T) {
	if raceEnabled {
		t.Skip("state-space test: make test runs it without -race")
	}
	for _, bug := range model.Bugs {
		if bug.Breaks == "" {
			continue
		}
		storedOrUpdate(t, filepath.Join("scenarios", "bugs", bug.Name+".json"), bugTrace(t, bug))
	}
}
