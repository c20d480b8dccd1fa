package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/raftcheck/raftcheck/checker"
	"github.com/raftcheck/raftcheck/checker/report"
	"github.com/raftcheck/raftcheck/model/tlaraft"
)

// wantsTLA reports whether explore check's arguments select the raft.tla
// model (--model tlaraft), whose flags differ from the Raft model's.
func wantsTLA(args []string) (bool, error) {
	for i, a := range args {
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "model" {
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				return false, errors.New("--model: needs a value (raft or tlaraft)")
			}
			val = args[i+1]
		}
		switch val {
		case "tlaraft":
			return true, nil
		case "raft":
			return false, nil
		}
		return false, fmt.Errorf("--model: %q is not raft or tlaraft", val)
	}
	return false, nil
}

// cmdCheckTLA is explore check --model tlaraft: the Go rendering of
// Ongaro's raft.tla, with TLC's constraint semantics and counting, for
// comparing state counts with TLC.
func cmdCheckTLA(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explore check --model tlaraft", flag.ContinueOnError)
	def := tlaraft.DefaultConfig()
	var cfg tlaraft.Config
	var model string
	fs.StringVar(&model, "model", "tlaraft", "the model: tlaraft here (raft, the default of explore check, has other flags)")
	fs.IntVar(&cfg.Servers, "servers", def.Servers, "number of servers (1 to 5)")
	fs.IntVar(&cfg.Values, "values", def.Values, "number of client values (raft.tla's Value set)")
	fs.IntVar(&cfg.MaxTerm, "max-term", def.MaxTerm, "constraint: currentTerm[i] <= T")
	fs.IntVar(&cfg.MaxLogLen, "max-log", def.MaxLogLen, "constraint: Len(log[i]) <= L")
	fs.IntVar(&cfg.MaxCopies, "max-copies", def.MaxCopies, "constraint: every message count <= C")
	fs.IntVar(&cfg.MaxInFlight, "max-msgs", def.MaxInFlight, "constraint: sum of message counts <= M")
	fs.BoolVar(&cfg.Restart, "restart", false, "include Restart(i)")
	fs.BoolVar(&cfg.Duplicate, "dup", false, "include DuplicateMessage(m)")
	fs.BoolVar(&cfg.Drop, "drop", false, "include DropMessage(m)")
	symmetry := fs.Bool("symmetry", true, "reduce by server permutations (TLC's SYMMETRY Permutations(Server))")
	workers := fs.Int("workers", runtime.NumCPU(), "worker goroutines")
	strategy := fs.String("strategy", "bfs", "search strategy: bfs, dfs or random")
	seed := fs.Uint64("seed", 1, "seed of the random walks")
	walks := fs.Int("walks", 1000, "number of random walks")
	maxDepth := fs.Int("max-depth", 0, "deepest level to explore (initial state at 1)")
	maxStates := fs.Int64("max-states", 0, "stop after this many distinct states (0: no limit)")
	timeLimit := fs.Duration("time-limit", 0, "stop after this long (0: no limit)")
	invariants := fs.String("invariants", "all", "comma-separated invariants: "+strings.Join(tlaraft.InvariantNames(), ","))
	out := fs.String("out", "counterexamples", "directory for the counterexample")
	asJSON := fs.Bool("json", false, "print one JSON object on stdout")
	progress := fs.String("progress", "auto", "live progress on stderr: auto, on, off")
	allowVacuous := fs.Bool("allow-vacuous", false, "exit 0 for a vacuous run (no leader elected, or nothing committed where the bounds allow it)")
	fail := func(err error) int {
		fmt.Fprintf(stderr, "explore check: %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
		return exitUsage
	}
	if err := parseFlags(fs, args, stdout, 0); err != nil {
		return usageError(stderr, fs, err)
	}
	m, err := tlaraft.New(cfg)
	if err != nil {
		return fail(err)
	}
	var names []string
	if *invariants != "all" && *invariants != "" {
		names = strings.Split(*invariants, ",")
	}
	props, err := m.Properties(names)
	if err != nil {
		return fail(fmt.Errorf("--invariants: %w", err))
	}
	strat, err := checker.ParseStrategy(*strategy)
	if err != nil {
		return fail(fmt.Errorf("--strategy: %w", err))
	}
	switch {
	case *workers < 1:
		return fail(fmt.Errorf("--workers: %d must be at least 1", *workers))
	case *maxDepth < 0 || *maxStates < 0 || *timeLimit < 0:
		return fail(errors.New("--max-depth, --max-states and --time-limit must not be negative"))
	case *progress != "auto" && *progress != "on" && *progress != "off":
		return fail(fmt.Errorf("--progress: %q is not auto, on or off", *progress))
	}
	opts := checker.Options{Strategy: strat, Workers: *workers, Symmetry: *symmetry, MaxStates: *maxStates,
		MaxDepth: *maxDepth, TimeLimit: *timeLimit, Seed: *seed, Walks: *walks}
	interrupt, stopSignals := report.InterruptOnSignal()
	defer stopSignals()
	opts.Interrupt = interrupt
	prog := report.NewProgress(stderr, *progress, "exploring")
	if prog != nil {
		opts.Progress = prog.Update
		opts.ProgressEvery = 200 * time.Millisecond
	}
	res, err := checker.Check[tlaraft.State, tlaraft.Action](tlaraft.Adapter{Model: m}, props, opts)
	prog.Finish()
	if err != nil {
		fmt.Fprintf(stderr, "explore check: %v\n", err)
		return exitUsage
	}
	rep := report.Report[tlaraft.State, tlaraft.Action]{Command: "explore check", Config: tlaConfigJSON(cfg), Header: "model tlaraft " + cfg.String(), Strategy: *strategy,
		Workers: *workers, Symmetry: *symmetry, Properties: *invariants, Result: res, AllowVacuous: *allowVacuous,
		Path: func(w io.Writer, v *checker.Violation[tlaraft.State, tlaraft.Action]) error {
			_, err := fmt.Fprint(w, m.FormatPath(&v.Path))
			return err
		}}
	for _, k := range []struct {
		kind string
		on   bool
	}{{"Restart", cfg.Restart}, {"DuplicateMessage", cfg.Duplicate}, {"DropMessage", cfg.Drop}} {
		if !k.on {
			rep.SwitchedOff = append(rep.SwitchedOff, k.kind)
		}
	}
	for _, v := range res.Violations {
		// raft.tla's actions are not the shared vocabulary, so its
		// counterexample is written as text rather than as a trace.
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return fail(fmt.Errorf("--out: %w", err))
		}
		p := filepath.Join(*out, "tlaraft-"+v.Property+".txt")
		text := fmt.Sprintf("# explore check %s\n# %s: %v\n%s", strings.Join(args, " "), v.Property, v.Err, m.FormatPath(&v.Path))
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			return fail(fmt.Errorf("--out: %w", err))
		}
		rep.TracePaths = append(rep.TracePaths, p)
	}
	return rep.Finish(stdout, stderr, *asJSON)
}

// tlaConfigJSON is the "config" object of --json for the tlaraft model.
func tlaConfigJSON(c tlaraft.Config) map[string]any {
	return map[string]any{"model": "tlaraft", "servers": c.Servers, "values": c.Values, "max_term": c.MaxTerm,
		"max_log": c.MaxLogLen, "max_copies": c.MaxCopies, "max_msgs": c.MaxInFlight,
		"restart": c.Restart, "dup": c.Duplicate, "drop": c.Drop}
}
