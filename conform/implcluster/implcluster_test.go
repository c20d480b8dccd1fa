package implcluster

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"pgregory.net/rapid"

	"github.com/raftcheck/raftcheck/conform"
	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/spec"
	"github.com/raftcheck/raftcheck/traces"
	"github.com/raftcheck/raftcheck/traces/shrink"
)

var memory = Factory(Options{Memory: true})

// TestConformSmallDepth: every transition of the default configuration up
// to depth 7 replays on the implementation identically; so do random walks
// with every kind of fault on five servers, on the real write-ahead log.
func TestConformSmallDepth(t *testing.T) {
	res, err := conform.Run(conform.Options{Config: model.DefaultConfig(), Depth: 7, System: memory})
	if err != nil {
		t.Fatal(err)
	}
	if res.Divergence != nil {
		t.Fatalf("diverged: %+v", res.Replay.Divergence)
	}
	// Paths of up to 7 steps: the first commit takes 7, so the run is not
	// vacuous; the counts are pinned.
	if res.Paths != 38202 || res.Steps != 248136 || !res.Committed || len(res.Vacuous(model.DefaultConfig())) != 0 {
		t.Fatalf("%d paths, %d steps (pinned 38202, 248136), committed %v", res.Paths, res.Steps, res.Committed)
	}
	cfg := model.Config{Servers: 5, MaxTerm: 4, MaxValues: 3, MaxMsgs: 8, MaxCopies: 2, MaxRestarts: 2, MaxPartitions: 2, MaxDrops: 2, MaxDups: 2}
	res, err = conform.Run(conform.Options{Config: cfg, Walks: 20, Length: 80, Seed: 3, System: Factory(Options{})})
	if err != nil {
		t.Fatal(err)
	}
	if res.Divergence != nil || res.Paths != 20 || !res.Committed {
		t.Fatalf("walks: %d paths, divergence %+v, committed %v", res.Paths, res.Replay, res.Committed)
	}
}

// TestConformCatchesFaults: with a fault switch on, conformance finds a
// divergence, and its trace replays to the same divergence and shrinks.
func TestConformCatchesFaults(t *testing.T) {
	if !raft.FaultsCompiled {
		t.Skipf("needs the fault switches: go test -tags %s", raft.BuildTag)
	}
	for _, bug := range []string{"vote-without-log-check", "figure8-commit"} {
		faults, err := FaultsFor([]string{bug})
		if err != nil {
			t.Fatal(err)
		}
		cfg := model.Bugs[0].Bounds // figure 8's: enough terms and values for both
		res, err := conform.Run(conform.Options{Config: cfg, Walks: 3000, Length: 60, Seed: 1, System: Factory(Options{Faults: faults, Memory: true})})
		if err != nil {
			t.Fatal(err)
		}
		if res.Divergence == nil {
			t.Fatalf("%s: no divergence in %d walks", bug, res.Paths)
		}
		r, err := conform.Replay(res.Divergence, Factory(Options{Faults: faults}), conform.Exact)
		if err != nil || r.Divergence == nil || r.Divergence.Step != len(res.Divergence.Steps) {
			t.Fatalf("%s: replaying the diverging trace: %+v, %v", bug, r, err)
		}
		small, stats, err := shrink.Shrink(res.Divergence, shrink.DivergesOn(Factory(Options{Faults: faults, Memory: true}), conform.Exact, r.Divergence.Kind))
		if err != nil {
			t.Fatal(err)
		}
		if stats.To > stats.From || len(small.Steps) != stats.To {
			t.Fatalf("%s: shrink %+v", bug, stats)
		}
	}
}

// TestRapidDifferential drives the model and the implementation with the
// same random actions (pgregory.net/rapid picks among the model's enabled
// actions) and requires identical views and messages after every step. A
// failure is shrunk by rapid and saved as a trace in testdata/failures.
func TestRapidDifferential(t *testing.T) {
	fixRapidSeed(t, 20261202)
	total := 0
	defer func() {
		// Guard against a vacuous run: the walks must actually move.
		t.Logf("%d steps compared", total)
		if total < 1000 {
			t.Errorf("only %d steps compared", total)
		}
	}()
	rapid.Check(t, func(rt *rapid.T) {
		servers := rapid.SampledFrom([]int{3, 5}).Draw(rt, "servers")
		cfg := model.Config{Servers: servers, MaxTerm: rapid.IntRange(1, 5).Draw(rt, "maxTerm"),
			MaxValues: rapid.IntRange(0, 4).Draw(rt, "values"), MaxMsgs: rapid.IntRange(servers-1, 12).Draw(rt, "msgs"),
			MaxCopies: 2, MaxRestarts: rapid.IntRange(0, 2).Draw(rt, "restarts"), MaxPartitions: rapid.IntRange(0, 2).Draw(rt, "partitions"),
			MaxDrops: rapid.IntRange(0, 2).Draw(rt, "drops"), MaxDups: rapid.IntRange(0, 2).Draw(rt, "dups")}
		cfg.ConflictHint = rapid.Bool().Draw(rt, "conflictHint")
		cfg.ReplicateOnPropose = rapid.Bool().Draw(rt, "replicateOnPropose")
		cfg.MaxBatch = rapid.IntRange(0, 2).Draw(rt, "maxBatch")
		cfg.MaxInflight = rapid.IntRange(0, model.MaxWindow).Draw(rt, "maxInflight")
		l, err := conform.NewLockstep(cfg, memory, conform.Exact)
		if err != nil {
			rt.Fatal(err)
		}
		defer l.Close()
		tr := traces.New(cfg, traces.Producer{Tool: "TestRapidDifferential"})
		steps := rapid.IntRange(1, 80).Draw(rt, "steps")
		for range steps {
			enabled := l.Enabled()
			if len(enabled) == 0 {
				return
			}
			a := enabled[rapid.IntRange(0, len(enabled)-1).Draw(rt, "action")]
			f, _, err := l.Step(a)
			if err != nil {
				rt.Fatal(err)
			}
			tr.Steps = append(tr.Steps, traces.Step{Action: a})
			total++
			if f.DiffKind != "" {
				path := saveFailure(rt, tr)
				rt.Fatalf("diverged at step %d (%s): %v; trace saved to %s", len(tr.Steps), f.DiffKind, f.Diff, path)
			}
		}
	})
}

// saveFailure writes a failing trace where a developer finds it.
func saveFailure(rt *rapid.T, tr *traces.Trace) string {
	dir := filepath.Join("testdata", "failures")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		rt.Logf("saving the trace: %v", err)
		return ""
	}
	path := filepath.Join(dir, fmt.Sprintf("differential-%d-steps.json", len(tr.Steps)))
	if err := tr.WriteFile(path); err != nil {
		rt.Logf("saving the trace: %v", err)
	}
	return path
}

// fixRapidSeed makes a rapid test deterministic, as make test needs: unless
// -rapid.seed (or RAPID_SEED) is given, the seed is def. It logs the seed
// and how to rerun with it; rapid prints it too when a check fails.
func fixRapidSeed(t *testing.T, def uint64) {
	t.Helper()
	given := os.Getenv("RAPID_SEED") != ""
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "rapid.seed" })
	if !given {
		if err := flag.Set("rapid.seed", strconv.FormatUint(def, 10)); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("rapid seed %v (rerun: go test -run '^%s$' -rapid.seed=%[1]v; -rapid.seed=0 draws a random one)", flag.Lookup("rapid.seed").Value, t.Name())
}

// The implementation's fault switches map exactly the bugs the registry
// marks as mirrored.
func TestFaultNamesMatchTheRegistry(t *testing.T) {
	var want []string
	for _, b := range model.Bugs {
		if b.Mirrored {
			want = append(want, b.Name)
		}
	}
	if fmt.Sprint(FaultNames) != fmt.Sprint(want) || len(mirrors) != len(want) || len(want) == 0 {
		t.Fatalf("fault switches %v (%d mapped), registry's mirrored bugs %v", FaultNames, len(mirrors), want)
	}
	for _, name := range want {
		if _, err := FaultsFor([]string{name}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// The optional mechanisms map one to one: with each of them on in the
// model and the implementation (conflict hint, replicate-on-propose,
// bounded batches, pipelining), random walks deep enough to repair
// diverged logs find no divergence, nor does every path of up to 8 steps
// with pipelining.
//
// Each walk runs twice: as is, and with the timers driven by ticks and
// proposal batching on (clocked), which the specification cannot tell
// apart.
func TestConformFeatures(t *testing.T) {
	clocked := Factory(Options{Memory: true, Clock: true, ProposalBatch: 3})
	cfg := model.Config{Servers: 3, MaxTerm: 4, MaxValues: 4, MaxMsgs: 8, MaxCopies: 2, MaxRestarts: 1, MaxPartitions: 1, MaxDrops: 2, MaxDups: 1}
	for _, f := range []spec.Features{{ConflictHint: true}, {ReplicateOnPropose: true, MaxBatch: 1}, {MaxInflight: 2, MaxBatch: 1},
		{ConflictHint: true, ReplicateOnPropose: true, MaxBatch: 2, MaxInflight: 2}} {
		cfg.Features = f
		for _, sys := range []conform.Factory{memory, clocked} {
			res, err := conform.Run(conform.Options{Config: cfg, Walks: 500, Length: 150, Seed: 11, System: sys})
			if err != nil || res.Divergence != nil || !res.Committed {
				t.Fatalf("%v: %v, divergence %v, committed %v", f, err, res.Replay, res.Committed)
			}
		}
	}
	// Exhaustively too, on the default bounds, with pipelining.
	def := model.DefaultConfig()
	def.MaxInflight = 1
	res, err := conform.Run(conform.Options{Config: def, Depth: 8, System: memory})
	if err != nil || res.Divergence != nil || res.Paths != 91749 || res.Steps != 676512 {
		t.Fatalf("pipelining, depth 8: %v, %d paths, %d steps (pinned 91749, 676512), divergence %v", err, res.Paths, res.Steps, res.Replay)
	}
}

// Stable storage is compared after every step: a vote cast but never
// persisted (the fault ForgetVoteOnRestart) diverges where it is cast —
// the candidate's own vote at its Timeout — not only at a restart that
// would reveal it.
func TestDurableStateComparedEveryStep(t *testing.T) {
	if !raft.FaultsCompiled {
		t.Skipf("needs the fault switches: go test -tags %s", raft.BuildTag)
	}
	cfg := model.Config{Servers: 3, MaxTerm: 1, MaxMsgs: 2, MaxCopies: 1}
	tr := traces.New(cfg, traces.Producer{Tool: "test"})
	rv := spec.Message{Type: spec.RequestVote, From: 1, To: 2, Term: 1}
	tr.Steps = []traces.Step{{Action: spec.Action{Kind: spec.Timeout, Server: 1}}, {Action: spec.Action{Kind: spec.Deliver, Message: &rv}}}
	for _, mem := range []bool{true, false} {
		r, err := conform.Replay(tr, Factory(Options{Faults: raft.Faults{ForgetVoteOnRestart: true}, Memory: mem}), conform.Exact)
		if err != nil {
			t.Fatal(err)
		}
		d := r.Divergence
		if d == nil || d.Step != 1 || d.Kind != conform.DifferentDurable || fmt.Sprint(d.Lines()) != "[S1 durable.voted_for: model S1 | impl -]" {
			t.Fatalf("memory %v: divergence %+v", mem, d)
		}
	}
	r, err := conform.Replay(tr, memory, conform.Exact)
	if err != nil || r.Divergence != nil {
		t.Fatalf("correct implementation: %v %+v", err, r.Divergence)
	}
}

// TestConformMembership: with membership changes on (joiners outside the
// initial configuration, AddServer and RemoveServer), every path of a
// small configuration and random walks at larger ones — five servers
// with three changes, pipelining and the conflict hint; four with
// replicate-on-propose and bounded batches; four on the write-ahead log —
// replay identically, stable storage included. Paths and steps are
// pinned for the exhaustive part.
func TestConformMembership(t *testing.T) {
	if !raceEnabled { // under -race only the walks, fewer
		cfg := model.Config{Servers: 3, Joiners: 1, MaxReconfigs: 1, MaxTerm: 2, MaxValues: 1, MaxMsgs: 3, MaxCopies: 1, MaxDrops: 1}
		var n memberCounts
		res, err := conform.Run(conform.Options{Config: cfg, Depth: 9, System: n.counting(memory)})
		if err != nil {
			t.Fatal(err)
		}
		if res.Divergence != nil {
			t.Fatalf("depth 9: diverged: %v", res.Replay.Divergence.Lines())
		}
		if res.Paths != 13053 || res.Steps != 102243 || len(res.Vacuous(cfg)) != 0 || n.adds == 0 || n.removes == 0 {
			t.Fatalf("depth 9: %d paths, %d steps (pinned 13053, 102243), vacuous %v, %d AddServer, %d RemoveServer",
				res.Paths, res.Steps, res.Vacuous(cfg), n.adds, n.removes)
		}
		t.Logf("depth 9: %d AddServer, %d RemoveServer", n.adds, n.removes)
	}
	nwalks := 200
	if raceEnabled {
		nwalks = 30
	}
	walks := []struct {
		cfg   model.Config
		opts  Options
		walks int
	}{
		{model.Config{Servers: 5, Joiners: 2, MaxReconfigs: 3, MaxTerm: 4, MaxValues: 3, MaxMsgs: 10, MaxCopies: 2, MaxDups: 1, MaxRestarts: 2,
			MaxPartitions: 2, MaxDrops: 2, MaxSnapshots: 2, Features: spec.Features{ConflictHint: true, MaxInflight: 2}}, Options{Memory: true}, nwalks},
		{model.Config{Servers: 4, Joiners: 3, MaxReconfigs: 2, MaxTerm: 5, MaxValues: 4, MaxMsgs: 10, MaxCopies: 2, MaxRestarts: 3,
			MaxPartitions: 2, MaxDrops: 3, MaxSnapshots: 2, Features: spec.Features{ReplicateOnPropose: true, MaxBatch: 1}}, Options{Memory: true}, nwalks},
		{model.Config{Servers: 4, Joiners: 1, MaxReconfigs: 2, MaxTerm: 3, MaxValues: 3, MaxMsgs: 6, MaxCopies: 1, MaxRestarts: 2,
			MaxDrops: 2, MaxSnapshots: 1}, Options{}, nwalks / 10}, // on the write-ahead log: fsyncs, fewer
	}
	for _, w := range walks {
		var n memberCounts
		res, err := conform.Run(conform.Options{Config: w.cfg, Walks: w.walks, Length: 150, Seed: 7, System: n.counting(Factory(w.opts))})
		if err != nil {
			t.Fatal(err)
		}
		if res.Divergence != nil {
			t.Fatalf("%v: diverged: %v", w.cfg, res.Replay.Divergence.Lines())
		}
		if res.Paths != w.walks || len(res.Vacuous(w.cfg)) != 0 || n.adds == 0 || n.removes == 0 {
			t.Fatalf("%v: %d paths, vacuous %v, %d AddServer, %d RemoveServer", w.cfg, res.Paths, res.Vacuous(w.cfg), n.adds, n.removes)
		}
		t.Logf("%v: %d steps; %d AddServer, %d RemoveServer", w.cfg, res.Steps, n.adds, n.removes)
	}
}
