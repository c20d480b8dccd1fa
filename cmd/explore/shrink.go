package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/raftcheck/raftcheck/traces"
)

// cmdShrink is `explore shrink [--impl] [--out FILE] FILE`: minimise a
// violating trace (or with --impl a diverging one) by delta debugging.
func cmdShrink(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explore shrink", flag.ContinueOnError)
	impl := fs.Bool("impl", false, "shrink a divergence between model and implementation instead of a violation")
	faultList := fs.String("impl-faults", "", "with --impl: seeded bugs the implementation mirrors (comma list)")
	out := fs.String("out", "", "where to write the shrunk trace (default: FILE with .min.json)")
	budget := fs.Int64("search", 2_000_000, "then look for a shorter violation of the property by breadth-first search over at most this many states (0: don't)")
	progressMode := fs.String("progress", "auto", "live progress on stderr: auto (when a terminal), on, off")
	if err := parseFlags(fs, args, stdout, 1); err != nil {
		return usageError(stderr, fs, err)
	}
	file := fs.Arg(0)
	faults, err := implFaults(*faultList)
	if err != nil {
		fmt.Fprintf(stderr, "explore shrink: %v\n", err)
		return exitUsage
	}
	t, err := traces.ReadFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "explore shrink: %v\n", err)
		return exitUsage
	}
	var still traces.Interesting
	var what string
	switch {
	case *impl:
		r, err := traces.ReplayImpl(t, traces.ImplOptions{Faults: faults})
		if err != nil {
			fmt.Fprintf(stderr, "explore shrink: %s: %v\n", file, err)
			return exitUsage
		}
		if r.Divergence == nil {
			fmt.Fprintf(stderr, "explore shrink: %s: model and implementation do not diverge; nothing to shrink\n", file)
			return exitUsage
		}
		still = traces.DivergesOnImpl(r.Divergence.Kind, faults)
		what = "divergence (" + r.Divergence.Kind + ")"
	case t.Violation != nil:
		still = traces.ViolatesOnModel(t.Violation.Property)
		what = "violation of " + t.Violation.Property
	default:
		fmt.Fprintf(stderr, "explore shrink: %s: the trace claims no violation (use --impl to shrink a divergence)\n", file)
		return exitUsage
	}
	if *progressMode != "auto" && *progressMode != "on" && *progressMode != "off" {
		fmt.Fprintf(stderr, "explore shrink: --progress: %q is not auto, on or off\n", *progressMode)
		return exitUsage
	}
	prog := newProgress(stderr, *progressMode, "shrinking")
	small, stats, err := traces.Shrink(t, withProgress(still, prog, len(t.Steps)))
	prog.finish()
	if err != nil {
		fmt.Fprintf(stderr, "explore shrink: %s: %v\n", file, err)
		return exitViolation
	}
	var searched string
	if !*impl {
		if err := traces.Complete(small); err != nil {
			fmt.Fprintf(stderr, "explore shrink: %v\n", err)
			return exitViolation
		}
		if *budget > 0 {
			shorter, err := traces.ShortestViolation(small.Config, t.Violation.Property, len(small.Steps)-1, *budget)
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
	dst := *out
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
func withProgress(still traces.Interesting, prog *progress, length int) traces.Interesting {
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
		prog.shrink(n, length)
		return kept, ok, err
	}
}
