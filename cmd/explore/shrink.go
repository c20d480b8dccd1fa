package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/raftcheck/raftcheck/checker/report"
	"github.com/raftcheck/raftcheck/conform"
	"github.com/raftcheck/raftcheck/traces"
	"github.com/raftcheck/raftcheck/traces/replay"
	"github.com/raftcheck/raftcheck/traces/shrink"
)

// shrinkFlags holds the parsed flags of explore shrink.
type shrinkFlags struct {
	impl     bool
	sys      systemFlags
	out      string
	budget   int64
	progress string
}

// cmdShrink is `explore shrink [--impl | --system PROGRAM] [--out FILE]
// FILE`: minimise a violating trace (or a diverging one) by delta
// debugging.
func cmdShrink(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explore shrink", flag.ContinueOnError)
	var f shrinkFlags
	fs.BoolVar(&f.impl, "impl", false, "shrink a divergence between model and implementation instead of a violation")
	f.sys.add(fs, false)
	fs.StringVar(&f.out, "out", "", "where to write the shrunk trace (default: FILE with .min.json)")
	fs.Int64Var(&f.budget, "search", 2_000_000, "then look for a shorter violation of the property by breadth-first search over at most this many states (0: don't)")
	fs.StringVar(&f.progress, "progress", "auto", "live progress on stderr: auto (when a terminal), on, off")
	if err := parseFlags(fs, args, stdout, 1); err != nil {
		return usageError(stderr, fs, err)
	}
	if f.progress != "auto" && f.progress != "on" && f.progress != "off" {
		fmt.Fprintf(stderr, "explore shrink: --progress: %q is not auto, on or off\n", f.progress)
		return exitUsage
	}
	file := fs.Arg(0)
	t, err := traces.ReadFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "explore shrink: %v\n", err)
		return exitUsage
	}
	sys, err := f.sys.open(stderr, true)
	if err != nil {
		fmt.Fprintf(stderr, "explore shrink: %v\n", err)
		return exitUsage
	}
	defer sys.stop()
	still, what, err := f.interesting(t, sys)
	if err != nil {
		fmt.Fprintf(stderr, "explore shrink: %s: %v\n", file, err)
		return exitUsage
	}
	if t.IsLasso() && !f.impl && f.sys.program == "" {
		return shrinkLasso(stdout, stderr, t, f.out, file, args)
	}
	prog := report.NewProgress(stderr, f.progress, "shrinking")
	small, stats, err := shrink.Shrink(t, withProgress(still, prog, len(t.Steps)))
	prog.Finish()
	if err != nil {
		fmt.Fprintf(stderr, "explore shrink: %s: %v\n", file, err)
		return exitViolation
	}
	return f.finish(stdout, stderr, t, small, stats, what, file, args)
}

// interesting says what is being shrunk: a divergence from the system
// (with --impl or --system), otherwise the trace's claimed violation.
func (f *shrinkFlags) interesting(t *traces.Trace, sys *system) (shrink.Interesting, string, error) {
	if f.impl || f.sys.program != "" {
		r, err := conform.Replay(t, sys.factory, sys.abs)
		if err != nil {
			return nil, "", err
		}
		if r.Divergence == nil {
			return nil, "", fmt.Errorf("model and implementation do not diverge; nothing to shrink")
		}
		kind := r.Divergence.Kind
		return shrink.DivergesOn(sys.factory, sys.abs, kind), "divergence (" + kind.String() + ")", nil
	}
	if t.Violation == nil {
		return nil, "", fmt.Errorf("the trace claims no violation (use --impl to shrink a divergence)")
	}
	return shrink.ViolatesOnModel(t.Violation.Property), "violation of " + t.Violation.Property, nil
}

// finish completes a shrunk violation (and looks for a shorter one by
// breadth-first search), writes the result and reports.
func (f *shrinkFlags) finish(stdout, stderr io.Writer, t, small *traces.Trace, stats shrink.Stats, what, file string, args []string) int {
	var searched string
	if !f.impl && f.sys.program == "" {
		if _, err := replay.Complete(small); err != nil {
			fmt.Fprintf(stderr, "explore shrink: %v\n", err)
			return exitViolation
		}
		if f.budget > 0 {
			shorter, err := shrink.ShortestViolation(small.Config, t.Violation.Property, len(small.Steps)-1, f.budget)
			if err != nil {
				fmt.Fprintf(stderr, "explore shrink: %v\n", err)
				return exitUsage
			}
			if shorter != nil {
				searched = fmt.Sprintf("; breadth-first search then found one of %d steps", len(shorter.Steps))
				shorter.Title = small.Title
				small = shorter
			}
		}
	}
	small.Producer = traces.Producer{Tool: "explore shrink", Command: strings.TrimSpace("explore shrink " + strings.Join(args, " "))}
	dst := f.out
	if dst == "" {
		dst = strings.TrimSuffix(file, filepath.Ext(file)) + ".min.json"
	}
	if err := small.WriteFile(dst); err != nil {
		fmt.Fprintf(stderr, "explore shrink: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "shrunk the %s from %d to %d steps (%d candidates checked)%s: %s\n", what, stats.From, stats.To, stats.Candidates, searched, dst)
	return exitOK
}

// withProgress wraps still so that every candidate checked updates prog
// (when there is one) with the count and the shortest trace kept so far.
func withProgress(still shrink.Interesting, prog *report.Progress, length int) shrink.Interesting {
	if prog == nil {
		return still
	}
	n := 0
	return func(c *traces.Trace) (*traces.Trace, bool, error) {
		kept, ok, err := still(c)
		n++
		if ok && kept != nil {
			length = min(length, len(kept.Steps))
		}
		prog.Describe(fmt.Sprintf("candidates %s  shortest so far %d steps", report.Commas(int64(n)), length), int64(n))
		return kept, ok, err
	}
}
