package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/traces"
)

// cmdReplay is `explore replay [--impl] FILE`: replay a trace on the model
// (and with --impl on the implementation), printing every step.
func cmdReplay(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explore replay", flag.ContinueOnError)
	impl := fs.Bool("impl", false, "also replay on the production implementation and compare after every step")
	faultList := fs.String("impl-faults", "", "with --impl: seeded bugs the implementation mirrors by its test-only fault switches (comma list)")
	quiet := fs.Bool("q", false, "print only the verdict")
	if err := parseFlags(fs, args, stdout, 1); err != nil {
		return usageError(stderr, fs, err)
	}
	faults, err := implFaults(*faultList)
	if err != nil {
		fmt.Fprintf(stderr, "explore replay: %v\n", err)
		return exitUsage
	}
	t, err := traces.ReadFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "explore replay: %v\n", err)
		return exitUsage
	}
	if *impl {
		return replayImpl(t, fs.Arg(0), faults, *quiet, stdout, stderr)
	}
	r, err := traces.ReplayModel(t)
	if err != nil {
		fmt.Fprintf(stderr, "explore replay: %s: %v\n", fs.Arg(0), err)
		return exitUsage
	}
	if !*quiet {
		printFrames(stdout, t, r.Frames)
	}
	return modelVerdict(stdout, t, r)
}

// modelVerdict prints the outcome of a model replay and returns the exit
// status: 0 when everything recorded held, 1 otherwise.
func modelVerdict(w io.Writer, t *traces.Trace, r *traces.ModelReplay) int {
	for _, f := range r.Failures {
		fmt.Fprintf(w, "FAILED: %s\n", f)
	}
	if !r.OK() {
		return exitViolation
	}
	if v := t.Violation; v != nil {
		if v.Message != "" && r.Broken.Property == v.Property && v.Message != r.Broken.Message {
			fmt.Fprintf(w, "note: the trace explains the violation differently: %s\n", v.Message)
		}
		fmt.Fprintf(w, "OK: %d steps replayed on the model; %s breaks at step %d as claimed: %s\n", len(t.Steps), v.Property, v.Step, r.Broken.Message)
	} else {
		fmt.Fprintf(w, "OK: %d steps replayed on the model; every expectation and property holds\n", len(t.Steps))
	}
	return exitOK
}

// printFrames prints a replay as a step list.
func printFrames(w io.Writer, t *traces.Trace, frames []traces.Frame) {
	if t.Title != "" {
		fmt.Fprintf(w, "%s\n", t.Title)
	}
	fmt.Fprintf(w, "config: %v\n", t.Config)
	for _, f := range frames {
		if f.Step == 0 {
			fmt.Fprintf(w, "initial state:\n")
		} else {
			fmt.Fprintf(w, "step %d: %v\n", f.Step, f.Action)
		}
		if f.Caption != "" {
			fmt.Fprintf(w, "  # %s\n", f.Caption)
		}
		fmt.Fprint(w, f.Model.String())
		for _, x := range f.Failed {
			fmt.Fprintf(w, "  !! %s\n", x)
		}
		if f.Violation != "" {
			fmt.Fprintf(w, "  !! %s breaks: %s\n", f.Violation, f.Message)
		}
	}
}

// implFaults is the --impl-faults flag: seeded bugs mirrored by the
// implementation's test-only fault switches.
func implFaults(list string) (raft.Faults, error) {
	if list == "" || list == "none" {
		return raft.Faults{}, nil
	}
	f, err := traces.FaultsFor(strings.Split(list, ","))
	if err != nil {
		return f, fmt.Errorf("--impl-faults: %w", err)
	}
	return f, nil
}

// replayImpl replays t on the model and the implementation side by side.
func replayImpl(t *traces.Trace, file string, faults raft.Faults, quiet bool, stdout, stderr io.Writer) int {
	r, err := traces.ReplayImpl(t, traces.ImplOptions{Faults: faults})
	if err != nil {
		fmt.Fprintf(stderr, "explore replay: %s: %v\n", file, err)
		return exitUsage
	}
	if !quiet {
		printFrames(stdout, t, r.Frames)
	}
	return implVerdict(stdout, r)
}

// implVerdict prints the outcome of a replay on the implementation and
// returns the exit status: 0 when identical throughout, 1 otherwise.
func implVerdict(w io.Writer, r *traces.ImplReplay) int {
	if r.ModelFailure != "" {
		fmt.Fprintf(w, "FAILED on the model: %s\n", r.ModelFailure)
		return exitViolation
	}
	if v := r.ImplBroken; v != nil {
		fmt.Fprintf(w, "the implementation breaks %s at step %d: %s\n", v.Property, v.Step, v.Message)
	}
	if d := r.Divergence; d != nil {
		fmt.Fprintf(w, "DIVERGED at step %d (%s):\n", d.Step, d.Kind)
		for _, x := range d.Diff {
			fmt.Fprintf(w, "  %s\n", x)
		}
		return exitViolation
	}
	fmt.Fprintf(w, "OK: %d steps replayed on the model and the implementation with identical views and messages\n", r.Steps)
	return exitOK
}
