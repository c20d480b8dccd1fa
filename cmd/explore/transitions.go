package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/raftcheck/raftcheck/checker"
	"github.com/raftcheck/raftcheck/checker/report"
	"github.com/raftcheck/raftcheck/conform"
)

// transitions is explore conform's default mode: every transition out of
// every reachable state, the system restored to the source state of each.
func (f *conformFlags) transitions(stdout, stderr io.Writer, args []string) int {
	prog := report.NewProgress(stderr, f.progress, "conforming")
	if prog != nil {
		f.trans.Progress = prog.Update
	}
	start := time.Now()
	res, err := conform.Transitions(f.trans)
	prog.Finish()
	if err != nil {
		fmt.Fprintf(stderr, "explore conform: %v\n", err)
		return exitUsage
	}
	sym := "off"
	if f.trans.Symmetry {
		sym = "on"
	}
	fmt.Fprintf(stdout, "explore conform: %v; every transition of every reachable state (symmetry %s, %s)\n",
		f.trans.Config, sym, report.Plural(f.trans.Workers, "worker"))
	ex := res.Explored
	fmt.Fprintf(stdout, "%s states, %s transitions compared in %.1fs\n", report.Commas(ex.Distinct), report.Commas(ex.Generated), time.Since(start).Seconds())
	if res.Divergence != nil {
		return f.transitionDivergence(stdout, stderr, res, args)
	}
	return transitionVerdict(stdout, res, f.allowVacuous, f.sys.abstraction)
}

// transitionVerdict prints the verdict of a run without divergence.
func transitionVerdict(w io.Writer, res *conform.TransitionResult, allowVacuous bool, abstraction string) int {
	ex := res.Explored
	switch ex.Verdict() {
	case checker.VerdictIncomplete:
		fmt.Fprintf(w, "INCOMPLETE (%s): no divergence on the transitions compared so far\n", ex.Stopped)
		if ex.Stopped == "interrupted" {
			return exitInterrupted
		}
		return exitLimit
	case checker.VerdictVacuous:
		fmt.Fprintf(w, "VACUOUS: no divergence, but no reachable state %s; raise the bounds\n", strings.Join(ex.Unreached(), ", "))
		if allowVacuous {
			fmt.Fprintln(w, "  accepted by --allow-vacuous")
			return exitOK
		}
		return exitVacuous
	}
	agree := "identical states and messages"
	if abstraction != "exact" {
		agree = fmt.Sprintf("states and messages agreeing under the %s abstraction", abstraction)
	}
	if res.DurableCompared {
		agree += ", and identical stable storage"
	}
	fmt.Fprintf(w, "OK: the implementation took every transition the model took, with %s, and refused what the protocol forbids\n", agree)
	return exitOK
}

// transitionDivergence writes the path to the diverging transition and
// prints the divergence. When replaying the path does not diverge, the
// system's Restore is what differs: the comparison after the restore is
// printed instead, and the exit status is still a violation.
func (f *conformFlags) transitionDivergence(stdout, stderr io.Writer, res *conform.TransitionResult, args []string) int {
	if res.Accepted {
		return f.acceptedForbidden(stdout, stderr, res, args)
	}
	run := &conform.RunResult{Divergence: res.Divergence, Replay: res.Replay}
	if !res.RestoreOnly {
		return f.divergence(stdout, stderr, run, args)
	}
	v := res.Explored.Violation
	fmt.Fprintf(stdout, "DIVERGED after a restore only, at the last step (%d) of the path written below: %v\n", len(res.Divergence.Steps), v.Err)
	fmt.Fprintln(stdout, "  replaying the path does not diverge: the system's Restore leaves out some of its state")
	f.divergence(io.Discard, stderr, run, args)
	fmt.Fprintf(stdout, "path to the transition: %s\n", filepath.Join(f.out, "conform-divergence.json"))
	return exitViolation
}

// acceptedForbidden prints a divergence in which the system did not
// refuse an action the protocol forbids, and writes the path to the state.
func (f *conformFlags) acceptedForbidden(stdout, stderr io.Writer, res *conform.TransitionResult, args []string) int {
	path, ok := f.writeDivergence(stderr, res.Divergence, args)
	if !ok {
		return exitUsage
	}
	where := "the initial state"
	if n := len(res.Divergence.Steps); n > 0 {
		where = fmt.Sprintf("the state after step %d of the path below", n)
	}
	fmt.Fprintf(stdout, "DIVERGED in %s: %v\n", where, res.Explored.Violation.Err)
	if res.Confirmed {
		fmt.Fprintf(stdout, "  confirmed: driven along the path, the system does the same with %v\n", res.Forbidden)
	} else {
		fmt.Fprintln(stdout, "  driven along the path, the system refuses it: its Restore leaves out some of its state")
	}
	fmt.Fprintf(stdout, "path to the state: %s\n", path)
	return exitViolation
}
