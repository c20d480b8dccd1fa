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

	"github.com/raftcheck/raftcheck/checker/report"
	"github.com/raftcheck/raftcheck/conform"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/traces"
)

// conformFlags holds the parsed flags of explore conform.
type conformFlags struct {
	opts conform.Options
	// trans configures the default mode, every transition of every
	// reachable state (neither --depth nor --walks given).
	trans        conform.TransitionOptions
	sys          systemFlags
	out          string
	progress     string
	allowVacuous bool
}

func parseConformFlags(args []string, stdout io.Writer) (*conformFlags, *flag.FlagSet, error) {
	fs := flag.NewFlagSet("explore conform", flag.ContinueOnError)
	f := &conformFlags{}
	var given model.Config
	addBoundFlags(fs, &given)
	fs.IntVar(&f.opts.Depth, "depth", 0, "instead of every transition: replay every model path of up to this many steps (0: compare every transition out of every reachable state, each restored directly)")
	fs.IntVar(&f.opts.Walks, "walks", 0, "instead of every transition: this many seeded random walks")
	fs.IntVar(&f.trans.Workers, "workers", runtime.NumCPU(), "worker goroutines, each with its own system (every-transition mode)")
	fs.BoolVar(&f.trans.Symmetry, "symmetry", true, "compare the transitions of one state per class of server renamings (every-transition mode)")
	fs.Int64Var(&f.trans.MaxStates, "max-states", 0, "stop after this many distinct states (every-transition mode; 0: no limit)")
	fs.DurationVar(&f.trans.TimeLimit, "time-limit", 0, "stop after this long, e.g. 60s (every-transition mode; 0: no limit)")
	fs.IntVar(&f.opts.Length, "length", 50, "length of each random walk")
	fs.Uint64Var(&f.opts.Seed, "seed", 1, "seed of the random walks")
	f.sys.add(fs, true)
	fs.StringVar(&f.out, "out", "counterexamples", "directory for the diverging trace")
	fs.StringVar(&f.progress, "progress", "auto", "live progress on stderr: auto (when a terminal), on, off")
	fs.BoolVar(&f.allowVacuous, "allow-vacuous", false, "exit 0 for a vacuous run (no leader, no commit, or paths too short)")
	if err := parseFlags(fs, args, stdout, 0); err != nil {
		return nil, fs, err
	}
	b, err := resolveBounds(fs, &given, "")
	if err != nil {
		return nil, fs, err
	}
	f.opts.Config, f.trans.Config = b.cfg, b.cfg
	switch {
	case f.opts.Depth < 0:
		return nil, fs, fmt.Errorf("--depth: %d must not be negative", f.opts.Depth)
	case f.opts.Depth > 0 && f.opts.Walks > 0:
		return nil, fs, errors.New("--depth and --walks: choose one mode")
	case f.trans.Workers < 1:
		return nil, fs, fmt.Errorf("--workers: %d must be at least 1", f.trans.Workers)
	case f.trans.MaxStates < 0 || f.trans.TimeLimit < 0:
		return nil, fs, errors.New("--max-states and --time-limit must not be negative")
	case f.opts.Walks < 0:
		return nil, fs, fmt.Errorf("--walks: %d must not be negative", f.opts.Walks)
	case f.sys.wal && f.opts.Depth == 0 && f.opts.Walks == 0:
		return nil, fs, errors.New("--wal needs --depth or --walks: every-transition mode restores each state into storage in memory")
	case f.opts.Length < 1:
		return nil, fs, fmt.Errorf("--length: %d must be at least 1", f.opts.Length)
	case f.progress != "auto" && f.progress != "on" && f.progress != "off":
		return nil, fs, fmt.Errorf("--progress: %q is not auto, on or off", f.progress)
	}
	return f, fs, nil
}

// cmdConform is `explore conform`: compare the implementation with the
// model on every transition of every reachable state (the default), or on
// model paths replayed step by step, and report the first divergence as a
// trace.
func cmdConform(args []string, stdout, stderr io.Writer) int {
	f, fs, err := parseConformFlags(args, stdout)
	if err != nil {
		return usageError(stderr, fs, err)
	}
	sys, err := f.sys.open(stderr, true)
	if err != nil {
		return usageError(stderr, fs, err)
	}
	defer sys.stop()
	f.opts.System, f.opts.Abstraction = sys.factory, sys.abs
	f.trans.System, f.trans.Abstraction = sys.factory, sys.abs
	interrupt, stopSignals := report.InterruptOnSignal()
	defer stopSignals()
	f.opts.Interrupt, f.trans.Interrupt = interrupt, interrupt
	if f.opts.Depth == 0 && f.opts.Walks == 0 {
		return f.transitions(stdout, stderr, args)
	}
	prog := report.NewProgress(stderr, f.progress, "conforming")
	if prog != nil {
		f.opts.Progress = func(paths, steps int) {
			prog.Describe(fmt.Sprintf("paths %s  steps %s", report.Commas(int64(paths)), report.Commas(int64(steps))), int64(paths))
		}
	}
	start := time.Now()
	res, err := conform.Run(f.opts)
	prog.Finish()
	if err != nil {
		fmt.Fprintf(stderr, "explore conform: %v\n", err)
		return exitUsage
	}
	cfg := f.opts.Config
	mode := "every path of up to " + report.Plural(f.opts.Depth, "step")
	if f.opts.Walks > 0 {
		mode = fmt.Sprintf("%d random walks of %d steps, seed %d", f.opts.Walks, f.opts.Length, f.opts.Seed)
	}
	fmt.Fprintf(stdout, "explore conform: %v; %s\n", cfg, mode)
	fmt.Fprintf(stdout, "%s paths, %s steps compared in %.1fs\n", report.Commas(int64(res.Paths)), report.Commas(int64(res.Steps)), time.Since(start).Seconds())
	if res.Divergence != nil {
		return f.divergence(stdout, stderr, res, args)
	}
	return conformVerdict(stdout, res, cfg, f.allowVacuous)
}

// conformVerdict prints the verdict of a run without divergence.
func conformVerdict(w io.Writer, res *conform.RunResult, cfg model.Config, allowVacuous bool) int {
	if res.Interrupted {
		fmt.Fprintln(w, "INTERRUPTED: no divergence on the paths compared so far")
		return exitInterrupted
	}
	if v := res.Vacuous(cfg); len(v) > 0 {
		fmt.Fprintf(w, "VACUOUS: no divergence, but on too little: %s; raise --depth, --length or the bounds\n", strings.Join(v, "; "))
		if allowVacuous {
			fmt.Fprintln(w, "  accepted by --allow-vacuous")
			return exitOK
		}
		return exitVacuous
	}
	fmt.Fprintln(w, "OK: the implementation took every step the model took, with identical views and messages")
	return exitOK
}

// divergence writes the diverging trace and prints the divergence.
func (f *conformFlags) divergence(stdout, stderr io.Writer, res *conform.RunResult, args []string) int {
	path, ok := f.writeDivergence(stderr, res.Divergence, args)
	if !ok {
		return exitUsage
	}
	implVerdict(stdout, res.Divergence, res.Replay)
	again := "--impl"
	if f.sys.program != "" {
		again = fmt.Sprintf("--system %q --abstraction %s", f.sys.program, f.sys.abstraction)
	}
	fmt.Fprintf(stdout, "diverging trace: %s (explore replay %s %s)\n", path, again, path)
	return exitViolation
}

// writeDivergence writes the diverging trace into --out and returns its
// path, or reports why it cannot.
func (f *conformFlags) writeDivergence(stderr io.Writer, t *traces.Trace, args []string) (string, bool) {
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		fmt.Fprintf(stderr, "explore conform: --out: %v\n", err)
		return "", false
	}
	path := filepath.Join(f.out, "conform-divergence.json")
	t.Producer.Command = strings.TrimSpace("explore conform " + strings.Join(args, " "))
	if err := t.WriteFile(path); err != nil {
		fmt.Fprintf(stderr, "explore conform: %v\n", err)
		return "", false
	}
	return path, true
}
