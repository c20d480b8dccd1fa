package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/raftcheck/raftcheck/conform"
	"github.com/raftcheck/raftcheck/conform/implcluster"
	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/traces"
	"github.com/raftcheck/raftcheck/traces/replay"
	"github.com/raftcheck/raftcheck/traces/view"
)

// cmdReplay is `explore replay [--impl | --system PROGRAM] FILE`: replay a
// trace on the model (and on a system under test), printing every step.
func cmdReplay(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explore replay", flag.ContinueOnError)
	impl := fs.Bool("impl", false, "also replay on the production implementation and compare after every step")
	var sf systemFlags
	sf.add(fs, false)
	quiet := fs.Bool("q", false, "print only the verdict")
	full := fs.Bool("full", false, "print whole states instead of what each step changed")
	if err := parseFlags(fs, args, stdout, 1); err != nil {
		return usageError(stderr, fs, err)
	}
	t, err := traces.ReadFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "explore replay: %v\n", err)
		return exitUsage
	}
	sf.timers = t.IsRaft() && t.Config.Timers && !t.Config.Synchrony
	sys, err := sf.open(stderr, false)
	if err != nil {
		fmt.Fprintf(stderr, "explore replay: %v\n", err)
		return exitUsage
	}
	defer sys.stop()
	opts := view.TextOptions{Full: *full, Loop: t.Loop}
	if *impl || sf.program != "" {
		r, err := conform.Replay(t, sys.factory, sys.abs)
		if err != nil {
			fmt.Fprintf(stderr, "explore replay: %s: %v\n", fs.Arg(0), err)
			return exitUsage
		}
		if !*quiet {
			printFrames(stdout, t, r.Frames, opts)
		}
		return implVerdict(stdout, t, r)
	}
	r, err := replay.Model(t)
	if err != nil {
		fmt.Fprintf(stderr, "explore replay: %s: %v\n", fs.Arg(0), err)
		return exitUsage
	}
	if !*quiet {
		printFrames(stdout, t, r.Frames, opts)
	}
	return modelVerdict(stdout, t, r.Failures, r.Broken)
}

// modelVerdict prints the outcome of a replay on the model — every failure
// of what the trace records, or the OK line — and returns the exit status:
// 0 when everything recorded held, 1 otherwise.
func modelVerdict(w io.Writer, t *traces.Trace, failures []string, broken *replay.Broken) int {
	for _, f := range failures {
		fmt.Fprintf(w, "FAILED: %s\n", f)
	}
	if len(failures) > 0 {
		return exitViolation
	}
	if v := t.Violation; v != nil && t.IsLasso() {
		fmt.Fprintf(w, "OK: %d steps replayed on the model; %s\n", len(t.Steps), lassoVerdict(t))
	} else if v != nil {
		if v.Message != "" && broken.Property == v.Property && v.Message != broken.Message {
			fmt.Fprintf(w, "note: the trace explains the violation differently: %s\n", v.Message)
		}
		fmt.Fprintf(w, "OK: %d steps replayed on the model; %s breaks at step %d as claimed: %s\n", len(t.Steps), v.Property, v.Step, broken.Message)
	} else {
		fmt.Fprintf(w, "OK: %d steps replayed on the model; every expectation and property holds\n", len(t.Steps))
	}
	return exitOK
}

// printFrames prints a replay as a step list, with the notation's legend.
func printFrames(w io.Writer, t *traces.Trace, frames []replay.Frame, opts view.TextOptions) {
	if t.Title != "" {
		fmt.Fprintf(w, "%s\n", t.Title)
	}
	fmt.Fprintf(w, "config: %v\n%s\n\n", t.Config, view.Legend)
	view.WriteText(w, frames, opts)
	if lines := view.ViolationSummary(frames); len(lines) > 0 {
		fmt.Fprintln(w)
		for _, l := range lines {
			fmt.Fprintln(w, l)
		}
	}
}

// implFaults is the --impl-faults flag: seeded bugs mirrored by the
// implementation's test-only fault switches.
func implFaults(list string) (raft.Faults, error) {
	if list == "" || list == "none" {
		return raft.Faults{}, nil
	}
	f, err := implcluster.FaultsFor(strings.Split(list, ","))
	if err != nil {
		return f, fmt.Errorf("--impl-faults: %w", err)
	}
	if !raft.FaultsCompiled {
		return f, fmt.Errorf("--impl-faults: this explore is built without the implementation's fault switches; build it with -tags %s (go run -tags %[1]s ./cmd/explore …)", raft.BuildTag)
	}
	return f, nil
}

// implVerdict prints the outcome of a replay on the model and the
// implementation and returns the exit status: 0 when the trace replays as
// it claims on the model and the implementation never diverges, 1
// otherwise.
func implVerdict(w io.Writer, t *traces.Trace, r *conform.Result) int {
	if v := r.ImplBroken; v != nil {
		fmt.Fprintf(w, "the implementation breaks %s at step %d: %s\n", v.Property, v.Step, v.Message)
	}
	if d := r.Divergence; d != nil {
		at := "in the initial state"
		if d.Step > 0 {
			at = fmt.Sprintf("at step %d, %v", d.Step, r.Frames[d.Step].Action)
		}
		fmt.Fprintf(w, "DIVERGED %s (%s):\n", at, d.Kind)
		for _, x := range d.Lines() {
			fmt.Fprintf(w, "  %s\n", x)
		}
	}
	for _, f := range r.Failures {
		fmt.Fprintf(w, "FAILED on the model: %s\n", f)
	}
	if !r.OK() {
		return exitViolation
	}
	claim := "every expectation and property holds"
	if v := t.Violation; v != nil {
		claim = fmt.Sprintf("%s breaks at step %d as claimed", v.Property, v.Step)
	}
	fmt.Fprintf(w, "OK: %d steps replayed on the model and the implementation with identical views and messages; on the model %s\n", r.Steps, claim)
	return exitOK
}
