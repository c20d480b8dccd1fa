package tinyraft

import (
	"os"
	"strings"
	"testing"

	"github.com/raftcheck/raftcheck/conform"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/traces/shrink"
)

// The correct tinyraft conforms to the model under Core on every path of
// up to 7 steps of the default configuration (the same paths as
// raftcheck's own implementation), and on random walks with every fault
// on five servers.
func TestConformsUnderCore(t *testing.T) {
	if raceEnabled && os.Getenv("TINYRAFT_SERVE") == "" {
		t.Skip("state-space test: make test runs it without -race")
	}
	res, err := conform.Run(conform.Options{Config: model.DefaultConfig(), Depth: 7, System: Factory(Options{}), Abstraction: conform.Core})
	if err != nil {
		t.Fatal(err)
	}
	if res.Divergence != nil {
		t.Fatalf("diverged: %v", res.Replay.Divergence.Lines())
	}
	if res.Paths != 38202 || res.Steps != 248136 || len(res.Vacuous(model.DefaultConfig())) != 0 {
		t.Fatalf("%d paths, %d steps, vacuous %v", res.Paths, res.Steps, res.Vacuous(model.DefaultConfig()))
	}
	cfg := model.Config{Servers: 5, MaxTerm: 4, MaxValues: 3, MaxMsgs: 8, MaxCopies: 2, MaxRestarts: 2, MaxPartitions: 2, MaxDrops: 2, MaxDups: 2}
	res, err = conform.Run(conform.Options{Config: cfg, Walks: 300, Length: 120, Seed: 7, System: Factory(Options{}), Abstraction: conform.Core})
	if err != nil || res.Divergence != nil || !res.Committed {
		t.Fatalf("walks: %v, divergence %v, committed %v", err, res.Replay, res.Committed)
	}
}

// Under Exact tinyraft diverges at once: a candidate's tally is not in its
// view.
func TestExactSeesTheMissingTally(t *testing.T) {
	res, err := conform.Run(conform.Options{Config: model.DefaultConfig(), Depth: 3, System: Factory(Options{}), Abstraction: conform.Exact})
	if err != nil {
		t.Fatal(err)
	}
	d := res.Replay.Divergence
	if d == nil || d.Step != 1 || d.Kind != conform.DifferentState || d.Fields[0].Field != "votes" {
		t.Fatalf("divergence %+v", d)
	}
}

// The seeded bug is found, and the divergence shrinks.
func TestBugFoundAndShrunk(t *testing.T) {
	if raceEnabled && os.Getenv("TINYRAFT_SERVE") == "" {
		t.Skip("state-space test: make test runs it without -race")
	}
	f := Factory(Options{VoteWithoutLogCheck: true})
	cfg := model.Bugs[0].Bounds
	res, err := conform.Run(conform.Options{Config: cfg, Walks: 2000, Length: 60, Seed: 1, System: f, Abstraction: conform.Core})
	if err != nil || res.Divergence == nil {
		t.Fatalf("no divergence: %v", err)
	}
	small, stats, err := shrink.Shrink(res.Divergence, shrink.DivergesOn(f, conform.Core, res.Replay.Divergence.Kind))
	if err != nil || stats.To > stats.From || len(small.Steps) > len(res.Divergence.Steps) {
		t.Fatalf("shrink: %v %+v", err, stats)
	}
	r, err := conform.Replay(small, f, conform.Core)
	if err != nil || r.Divergence == nil || r.Divergence.Step != len(small.Steps) {
		t.Fatalf("the shrunk trace does not diverge at its end: %+v %v", r, err)
	}
}

// The same checks through the process protocol: the test binary serves
// tinyraft as a separate program, and conformance over it gives the same
// counts and divergence as in process.
func TestOverTheProcessProtocol(t *testing.T) {
	if raceEnabled && os.Getenv("TINYRAFT_SERVE") == "" {
		t.Skip("state-space test: make test runs it without -race")
	}
	if os.Getenv("TINYRAFT_SERVE") != "" {
		if err := conform.Serve(Factory(Options{VoteWithoutLogCheck: os.Getenv("TINYRAFT_SERVE") == "buggy"}), os.Stdin, os.Stdout); err != nil {
			t.Fatal(err)
		}
		os.Exit(0)
	}
	for _, mode := range []string{"correct", "buggy"} {
		t.Setenv("TINYRAFT_SERVE", mode)
		f, stop := conform.Process([]string{os.Args[0], "-test.run=^TestOverTheProcessProtocol$"}, os.Stderr)
		cfg := model.Config{Servers: 3, MaxTerm: 2, MaxValues: 1, MaxMsgs: 3, MaxCopies: 1}
		res, err := conform.Run(conform.Options{Config: cfg, Depth: 12, System: f, Abstraction: conform.Core})
		if err := stop(); err != nil {
			t.Errorf("%s: stopping the program: %v", mode, err)
		}
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		inProcess, err := conform.Run(conform.Options{Config: cfg, Depth: 12, System: Factory(Options{VoteWithoutLogCheck: mode == "buggy"}), Abstraction: conform.Core})
		if err != nil {
			t.Fatal(err)
		}
		if res.Paths != inProcess.Paths || res.Steps != inProcess.Steps || (res.Divergence == nil) != (mode == "correct") {
			t.Fatalf("%s: %d paths, %d steps, divergence %v; in process %d, %d", mode, res.Paths, res.Steps, res.Divergence != nil, inProcess.Paths, inProcess.Steps)
		}
		if mode == "buggy" && strings.Join(res.Replay.Divergence.Lines(), "\n") != strings.Join(inProcess.Replay.Divergence.Lines(), "\n") {
			t.Fatalf("divergences differ:\n%v\n%v", res.Replay.Divergence.Lines(), inProcess.Replay.Divergence.Lines())
		}
	}
}

// A program that answers nonsense is reported, not trusted.
func TestProcessErrors(t *testing.T) {
	f, stop := conform.Process([]string{"sh", "-c", "read line; echo not-json"}, nil)
	defer stop()
	if _, err := f(conform.Setup{Servers: 3}); err == nil || !strings.Contains(err.Error(), "not a response") {
		t.Fatalf("err %v", err)
	}
	f, stop2 := conform.Process([]string{"/no/such/program"}, nil)
	defer stop2()
	if _, err := f(conform.Setup{Servers: 3}); err == nil || !strings.Contains(err.Error(), "/no/such/program") {
		t.Fatalf("err %v", err)
	}
}

// Transition conformance: every transition out of every reachable state
// (symmetry on) is compared after restoring tinyraft to its source state;
// the correct tinyraft conforms under Core, and its seeded bug is found
// with a shortest path that diverges when replayed.
func TestTransitions(t *testing.T) {
	if raceEnabled {
		t.Skip("state-space test: make test runs it without -race")
	}
	cfg := model.Config{Servers: 3, MaxTerm: 2, MaxValues: 1, MaxMsgs: 3, MaxCopies: 1, MaxRestarts: 1, MaxDrops: 1}
	res, err := conform.Transitions(conform.TransitionOptions{Config: cfg, System: Factory(Options{}), Abstraction: conform.Core, Workers: 2, Symmetry: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Divergence != nil || !res.Explored.Complete || res.Explored.Distinct < 10000 {
		t.Fatalf("correct: divergence %v, complete %v, %d states", res.Replay, res.Explored.Complete, res.Explored.Distinct)
	}
	t.Logf("%d states, %d transitions compared", res.Explored.Distinct, res.Explored.Generated)
	res, err = conform.Transitions(conform.TransitionOptions{Config: cfg, System: Factory(Options{VoteWithoutLogCheck: true}), Abstraction: conform.Core, Workers: 2, Symmetry: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Divergence == nil || res.RestoreOnly || res.Replay.Divergence.Step != len(res.Divergence.Steps) {
		t.Fatalf("buggy: %+v", res)
	}
}
