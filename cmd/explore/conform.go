package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/traces"
)

// cmdConform is `explore conform`: replay many model paths on the
// implementation and report the first divergence as a trace.
func cmdConform(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explore conform", flag.ContinueOnError)
	var cfg model.Config
	addBoundFlags(fs, &cfg)
	depth := fs.Int("depth", 6, "exhaustive: replay every model transition from the states reachable in fewer than this many steps")
	walks := fs.Int("walks", 0, "instead: this many seeded random walks")
	length := fs.Int("length", 50, "length of each random walk")
	seed := fs.Uint64("seed", 1, "seed of the random walks")
	useWAL := fs.Bool("wal", false, "keep the implementation's state in its real write-ahead log (slower) instead of memory")
	faultList := fs.String("impl-faults", "", "seeded bugs the implementation mirrors by its test-only fault switches (comma list)")
	out := fs.String("out", "counterexamples", "directory for the diverging trace")
	fail := func(err error) int {
		fmt.Fprintf(stderr, "explore conform: %v\n", err)
		return exitUsage
	}
	if err := parseFlags(fs, args, stdout, 0); err != nil {
		return usageError(stderr, fs, err)
	}
	if err := cfg.Validate(); err != nil {
		return fail(fmt.Errorf("--%w", err))
	}
	switch {
	case *depth < 1:
		return fail(fmt.Errorf("--depth: %d must be at least 1", *depth))
	case *walks < 0:
		return fail(fmt.Errorf("--walks: %d must not be negative", *walks))
	case *length < 1:
		return fail(fmt.Errorf("--length: %d must be at least 1", *length))
	}
	faults, err := implFaults(*faultList)
	if err != nil {
		return fail(err)
	}
	start := time.Now()
	res, err := traces.Conform(traces.ConformOptions{Config: cfg, Depth: *depth, Walks: *walks, Length: *length, Seed: *seed,
		Impl: traces.ImplOptions{Faults: faults, Memory: !*useWAL}})
	if err != nil {
		fmt.Fprintf(stderr, "explore conform: %v\n", err)
		return exitUsage
	}
	mode := fmt.Sprintf("every transition up to depth %d", *depth)
	if *walks > 0 {
		mode = fmt.Sprintf("%d random walks of %d steps, seed %d", *walks, *length, *seed)
	}
	fmt.Fprintf(stdout, "explore conform: %v; %s\n", cfg, mode)
	fmt.Fprintf(stdout, "%s paths, %s steps compared in %.1fs\n", commas(int64(res.Paths)), commas(int64(res.Steps)), time.Since(start).Seconds())
	if res.Divergence == nil {
		fmt.Fprintln(stdout, "OK: the implementation took every step the model took, with identical views and messages")
		return exitOK
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fail(fmt.Errorf("--out: %w", err))
	}
	path := filepath.Join(*out, "conform-divergence.json")
	res.Divergence.Producer.Command = strings.TrimSpace("explore conform " + strings.Join(args, " "))
	if err := res.Divergence.WriteFile(path); err != nil {
		return fail(err)
	}
	implVerdict(stdout, res.Replay)
	fmt.Fprintf(stdout, "diverging trace: %s (explore replay --impl %s)\n", path, path)
	return exitViolation
}
