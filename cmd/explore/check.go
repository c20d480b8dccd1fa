package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"time"

	"github.com/raftcheck/raftcheck/checker"
	"github.com/raftcheck/raftcheck/checker/report"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/model/checking"
	"github.com/raftcheck/raftcheck/spec"
	"github.com/raftcheck/raftcheck/traces"
	"github.com/raftcheck/raftcheck/traces/replay"
	"github.com/raftcheck/raftcheck/traces/view"
)

// checkFlags holds the parsed flags of explore check.
type checkFlags struct {
	given         model.Config // the bound flags as given; see bounds
	bounds        bounds
	symmetry      bool
	workers       int
	strategy      string
	seed          uint64
	walks         int
	maxViolations int
	maxDepth      int
	maxStates     int64
	timeLimit     time.Duration
	invariants    string
	bug           string
	out           string
	json          bool
	frontier      report.ByteSize
	progress      string
	allowVacuous  bool
	full          bool
	checkpoint    string
	ckptEvery     time.Duration
	resume        string
	shard         shardFlag
	shardOut      string
	shardMin      int
}

func parseCheckFlags(args []string, stdout io.Writer) (*checkFlags, *flag.FlagSet, error) {
	fs := flag.NewFlagSet("explore check", flag.ContinueOnError)
	f := &checkFlags{frontier: 1 << 30}
	addBoundFlags(fs, &f.given)
	fs.BoolVar(&f.symmetry, "symmetry", true, "reduce by symmetry over server identities")
	fs.IntVar(&f.workers, "workers", runtime.NumCPU(), "worker goroutines (bfs and random; dfs uses one)")
	fs.StringVar(&f.strategy, "strategy", "bfs", "search strategy: bfs, dfs or random")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the random walks")
	fs.IntVar(&f.walks, "walks", 1000, "number of random walks (0: until --time-limit or --max-states)")
	fs.IntVar(&f.maxViolations, "max-violations", 10, "random walks: stop after this many distinct violations (0: no limit)")
	fs.IntVar(&f.maxDepth, "max-depth", 0, "deepest level to explore (initial state at 1; random: walk length, default 100)")
	fs.Int64Var(&f.maxStates, "max-states", 0, "stop after this many distinct states (0: no limit)")
	fs.DurationVar(&f.timeLimit, "time-limit", 0, "stop after this long, e.g. 30s (0: no limit)")
	fs.StringVar(&f.invariants, "invariants", "all", "comma-separated properties to check (see explore bugs -properties)")
	fs.StringVar(&f.bug, "bug", "", "seeded bug to switch on, at its documented bounds (see explore bugs)")
	fs.StringVar(&f.out, "out", "counterexamples", "directory for counterexample traces")
	fs.BoolVar(&f.json, "json", false, "print one JSON object on stdout")
	fs.Var(&f.frontier, "frontier-mem", "BFS frontier kept in memory before spilling to disk, e.g. 512MiB, 1GiB")
	fs.StringVar(&f.progress, "progress", "auto", "live progress on stderr: auto (when a terminal), on, off")
	fs.BoolVar(&f.allowVacuous, "allow-vacuous", false, "exit 0 for a vacuous run (a goal the bounds promise not reached)")
	fs.BoolVar(&f.full, "full", false, "print whole states in a counterexample instead of what each step changed")
	fs.StringVar(&f.checkpoint, "checkpoint", "", "directory where a bfs run saves itself between levels, to continue with --resume")
	fs.DurationVar(&f.ckptEvery, "checkpoint-every", time.Minute, "interval between checkpoints (with --checkpoint)")
	fs.StringVar(&f.resume, "resume", "", "continue the run checkpointed in this directory (its flags are read from there)")
	fs.Var(&f.shard, "shard", "run part I of N of a bfs search (I/N, I from 0), for explore merge")
	fs.IntVar(&f.shardMin, "shard-min-states", 64, "with --shard: split at the first level with this many states per shard")
	fs.StringVar(&f.shardOut, "shard-out", "shards", "with --shard: directory for the shard's result and fingerprint files")
	fs.String("model", "raft", "the model: raft, or tlaraft for the rendering of raft.tla (see explore check --model tlaraft -h)")
	if err := parseFlags(fs, args, stdout, 0); err != nil {
		return nil, fs, err
	}
	var err error
	if f.bounds, err = resolveBounds(fs, &f.given, f.bug); err != nil {
		return nil, fs, err
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if b := f.bounds.bug; b != nil && !set["strategy"] && b.Strategy != "" {
		f.strategy = b.Strategy
	}
	if err := f.validate(set); err != nil {
		return nil, fs, err
	}
	return f, fs, nil
}

// validate checks the flags other than the bounds.
func (f *checkFlags) validate(set map[string]bool) error {
	switch {
	case f.workers < 1:
		return fmt.Errorf("--workers: %d must be at least 1", f.workers)
	case f.maxDepth < 0:
		return fmt.Errorf("--max-depth: %d must not be negative", f.maxDepth)
	case f.maxStates < 0:
		return fmt.Errorf("--max-states: %d must not be negative", f.maxStates)
	case f.timeLimit < 0:
		return fmt.Errorf("--time-limit: %v must not be negative", f.timeLimit)
	case f.walks < 0:
		return fmt.Errorf("--walks: %d must not be negative", f.walks)
	case f.walks == 0 && f.timeLimit == 0 && f.maxStates == 0:
		return errors.New("--walks: 0 walks until --time-limit or --max-states, and neither is given")
	case f.maxViolations < 0:
		return fmt.Errorf("--max-violations: %d must not be negative", f.maxViolations)
	case f.progress != "auto" && f.progress != "on" && f.progress != "off":
		return fmt.Errorf("--progress: %q is not auto, on or off", f.progress)
	case f.ckptEvery <= 0:
		return fmt.Errorf("--checkpoint-every: %v must be positive", f.ckptEvery)
	case f.resume != "" && f.checkpoint != f.resume:
		return fmt.Errorf("--checkpoint: a resumed run keeps checkpointing to %s, not %s", f.resume, f.checkpoint)
	case f.shard.n > 0 && f.strategy != "bfs":
		return fmt.Errorf("--shard: only bfs runs can be sharded, not --strategy %s", f.strategy)
	case (f.checkpoint != "" || f.resume != "") && f.strategy != "bfs":
		return fmt.Errorf("--checkpoint: only bfs runs can be checkpointed, not --strategy %s", f.strategy)
	}
	if _, err := checker.ParseStrategy(f.strategy); err != nil {
		return fmt.Errorf("--strategy: %w", err)
	}
	if _, err := spec.ParsePropertyList(f.invariants); err != nil {
		return fmt.Errorf("--invariants: %w", err)
	}
	if f.strategy != "random" {
		for _, name := range []string{"walks", "seed", "max-violations"} {
			if set[name] {
				return fmt.Errorf("--%s: only for --strategy random", name)
			}
		}
	}
	return nil
}

// options returns the checker's options for the flags.
func (f *checkFlags) options() checker.Options {
	strategy, _ := checker.ParseStrategy(f.strategy)
	maxV := f.maxViolations
	if maxV == 0 {
		maxV = math.MaxInt
	}
	opts := checker.Options{Strategy: strategy, Workers: f.workers, Symmetry: f.symmetry, MaxStates: f.maxStates,
		MaxDepth: f.maxDepth, TimeLimit: f.timeLimit, Seed: f.seed, Walks: f.walks, MaxViolations: maxV,
		FrontierMemory: int64(f.frontier)}
	if f.shard.n > 0 {
		opts.Shard, opts.Shards, opts.ShardFingerprints = f.shard.i, f.shard.n, f.shardFile(".fps")
		opts.ShardMinStates = f.shardMin
	}
	if f.checkpoint != "" {
		opts.Checkpoint, opts.CheckpointEvery, opts.CheckpointID = f.checkpoint, f.ckptEvery, f.checkpointID()
		opts.Resume = f.resume != ""
	}
	return opts
}

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	tla, err := wantsTLA(args)
	if err != nil {
		fmt.Fprintf(stderr, "explore check: %v\n", err)
		return exitUsage
	}
	if tla {
		return cmdCheckTLA(args, stdout, stderr)
	}
	args, err = resumeArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "explore check: %v\n", err)
		return exitUsage
	}
	f, _, err := parseCheckFlags(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err == nil {
		err = f.saveCommand(args)
	}
	if err != nil {
		fmt.Fprintf(stderr, "explore check: %v\n", err)
		return exitUsage
	}
	cfg := f.bounds.cfg
	m := model.MustNew(cfg)
	names, _ := spec.ParsePropertyList(f.invariants)
	opts := f.options()
	interrupt, stopSignals := report.InterruptOnSignal()
	defer stopSignals()
	opts.Interrupt = interrupt
	prog := report.NewProgress(stderr, f.progress, "exploring")
	if prog != nil {
		opts.Progress = prog.Update
		opts.ProgressEvery = 200 * time.Millisecond
	}
	if err := f.prepareShard(); err != nil {
		fmt.Fprintf(stderr, "explore check: %v\n", err)
		return exitUsage
	}
	res, err := checker.Check[model.State, model.Action](checking.Adapter{Model: m}, checking.Properties(m, names), opts)
	prog.Finish()
	if err != nil {
		fmt.Fprintf(stderr, "explore check: %v\n", err)
		return exitUsage
	}
	rep := report.Report[model.State, model.Action]{Command: "explore check", Config: cfg, Header: fmt.Sprint(cfg) + "\n  " + f.bounds.describe(), Strategy: f.strategy,
		Workers: f.workers, Symmetry: f.symmetry, Properties: f.invariants, Result: res, AllowVacuous: f.allowVacuous}
	for _, k := range cfg.SwitchedOff() {
		rep.SwitchedOff = append(rep.SwitchedOff, k.String())
	}
	if res.Verdict() != checker.VerdictViolation && res.Complete {
		rep.Note = f.bounds.bugNote()
	}
	if err := writeTraces(&rep, f.out, func(v *checker.Violation[model.State, model.Action]) *traces.Trace {
		return counterexample(m, v, f, args)
	}); err != nil {
		fmt.Fprintf(stderr, "explore check: %v\n", err)
		return exitUsage
	}
	rep.Path = func(w io.Writer, v *checker.Violation[model.State, model.Action]) error {
		return explainCounterexample(w, counterexample(m, v, f, args), f.full)
	}
	if err := f.writeShard(&rep); err != nil {
		fmt.Fprintf(stderr, "explore check: %v\n", err)
		return exitUsage
	}
	return rep.Finish(stdout, stderr, f.json)
}

// counterexample turns a violation into a trace.
func counterexample(m *model.Model, v *checker.Violation[model.State, model.Action], f *checkFlags, args []string) *traces.Trace {
	t := replay.FromPath(m, &v.Path, v, traces.Producer{Tool: "explore check", Command: commandLine(args),
		Strategy: f.strategy, Seed: f.seed})
	t.Title = fmt.Sprintf("%s violated after %d steps", v.Property, v.Path.Len())
	if f.bug != "" {
		t.Title = fmt.Sprintf("Seeded bug %s: %s", f.bug, t.Title)
	}
	return t
}

// explainCounterexample replays a counterexample on the model and prints it
// as a step list ending with the violation and the history it cites. The
// replay also proves that the trace written replays.
func explainCounterexample(w io.Writer, t *traces.Trace, full bool) error {
	r, err := replay.Model(t)
	if err != nil {
		return err
	}
	if !r.OK() {
		return fmt.Errorf("internal error: the counterexample does not replay: %s", strings.Join(r.Failures, "; "))
	}
	fmt.Fprintln(w, view.Legend)
	fmt.Fprintln(w)
	view.WriteText(w, r.Frames, view.TextOptions{Full: full})
	if !full {
		fmt.Fprintf(w, "state after step %d:\n%s", len(t.Steps), r.Frames[len(r.Frames)-1].Model.String())
	}
	fmt.Fprintln(w)
	for _, line := range view.ViolationSummary(r.Frames) {
		fmt.Fprintln(w, line)
	}
	return nil
}
