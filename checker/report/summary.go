package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/raftcheck/raftcheck/checker"
)

// PrintSummary writes the human-readable report: the header, the counts,
// the coverage and goals, the walk statistics, and the verdict with the
// counterexample.
func (r *Report[S, A]) PrintSummary(w io.Writer) error {
	res := r.Result
	sym := "on"
	if !r.Symmetry {
		sym = "off"
	}
	fmt.Fprintf(w, "%s: %s\n", r.Command, r.Header)
	workers := fmt.Sprintf("%d workers", r.EffectiveWorkers())
	if r.EffectiveWorkers() == 1 {
		workers = "1 worker"
	}
	fmt.Fprintf(w, "  strategy %s, %s, symmetry %s, properties: %s\n", r.Strategy, workers, sym, r.Properties)
	fmt.Fprintf(w, "%s distinct states, %s generated, depth %d, %.2fs (%s generated/s)\n",
		Commas(res.Distinct), Commas(res.Generated), res.Depth, res.Elapsed.Seconds(), Human(Rate(res)))
	if res.Resumed > 0 {
		fmt.Fprintf(w, "resumed from a checkpoint at level %d (counts and time include the run before it)\n", res.Resumed)
	}
	fmt.Fprintf(w, "visited set %s (%.1f bytes/state); fingerprint collision probability %.1e\n",
		BytesHuman(res.TableBytes), float64(res.TableBytes)/float64(max(res.Distinct, 1)), res.CollisionProbability)
	r.printCoverage(w)
	if st := res.Walks; st != nil {
		printWalks(w, st, &res.Coverage, res.Distinct)
	}
	fmt.Fprintln(w)
	return r.printVerdict(w)
}

func (r *Report[S, A]) printCoverage(w io.Writer) {
	res := r.Result
	fmt.Fprintln(w, "\ncoverage:")
	c := res.Coverage
	width := len("action")
	for _, k := range c.Kinds {
		width = max(width, len(k))
	}
	fmt.Fprintf(w, "  %-*s %14s %14s %14s\n", width, "action", "enabled", "fired", "new states")
	for i, k := range c.Kinds {
		fmt.Fprintf(w, "  %-*s %14s %14s %14s\n", width, k, Commas(c.Enabled[i]), Commas(c.Fired[i]), Commas(c.New[i]))
	}
	if len(res.Goals) > 0 {
		fmt.Fprintln(w, "goals (* expected at these bounds):")
	}
	for _, g := range res.Goals {
		mark := " "
		if g.Expected {
			mark = "*"
		}
		if g.Reached {
			fmt.Fprintf(w, " %s%-30s reached in %s\n", mark, g.Name, Plural(g.Path.Len(), "step"))
		} else {
			fmt.Fprintf(w, " %s%-30s NOT REACHED\n", mark, g.Name)
		}
	}
}

// printWalks prints the statistics of random walks: how long they were,
// how they ended, which actions they took, what they saw.
func printWalks(w io.Writer, st *checker.WalkStats, c *checker.Coverage, distinct int64) {
	lengths := make([]int, 0, st.Walks)
	for l, n := range st.Lengths {
		for range n {
			lengths = append(lengths, l)
		}
	}
	slices.Sort(lengths)
	fmt.Fprintf(w, "walks: %s, %s distinct states seen\n", Commas(int64(st.Walks)), Commas(distinct))
	if len(lengths) > 0 {
		q := func(p float64) int { return lengths[min(len(lengths)-1, int(p*float64(len(lengths))))] }
		fmt.Fprintf(w, "  steps per walk: min %d, median %d, 90th percentile %d, max %d\n", lengths[0], q(0.5), q(0.9), lengths[len(lengths)-1])
	}
	fmt.Fprintf(w, "  ended early: %d with no action enabled, %d at a violation, %d outside the constraint\n", st.Deadlocked, st.Violating, st.Constrained)
	var total int64
	for _, n := range c.Fired {
		total += n
	}
	var parts []string
	for i, k := range c.Kinds {
		if c.Fired[i] > 0 {
			parts = append(parts, fmt.Sprintf("%s %.1f%%", k, 100*float64(c.Fired[i])/float64(max(total, 1))))
		}
	}
	fmt.Fprintf(w, "  actions taken: %s\n", strings.Join(parts, ", "))
}

// printVerdict prints the verdict line (and the counterexample).
func (r *Report[S, A]) printVerdict(w io.Writer) error {
	res := r.Result
	if r.Note != "" {
		fmt.Fprintln(w, r.Note)
	}
	switch res.Verdict() {
	case checker.VerdictViolation:
		v := res.Violation
		fmt.Fprintf(w, "VIOLATION of %s after %d steps: %v\n\n", v.Property, v.Path.Len(), v.Err)
		if err := r.Path(w, v); err != nil {
			return err
		}
		fmt.Fprintf(w, "\ncounterexample trace: %s\n", r.TracePaths[0])
		if n := len(res.Violations); n > 1 {
			fmt.Fprintf(w, "%d distinct violations, each written as a trace:\n", n)
			for i, v := range res.Violations {
				fmt.Fprintf(w, "  %s after %d steps: %s\n", v.Property, v.Path.Len(), r.TracePaths[i])
			}
		}
	case checker.VerdictOK:
		fmt.Fprintln(w, "OK: every property holds in every reachable state within the bounds")
	case checker.VerdictVacuous:
		r.printVacuous(w)
	default:
		r.printIncomplete(w)
	}
	return nil
}

func (r *Report[S, A]) printVacuous(w io.Writer) {
	fmt.Fprintf(w, "VACUOUS: every property holds, but on too little: not reached: %s", strings.Join(r.Result.Unreached(), ", "))
	if never := r.NeverEnabled(); len(never) > 0 {
		fmt.Fprintf(w, "; never enabled: %s", strings.Join(never, ", "))
	}
	fmt.Fprintln(w)
	for _, g := range r.Result.Goals {
		if g.Expected && !g.Reached && g.Hint != "" {
			fmt.Fprintf(w, "  to reach %s: %s\n", g.Name, g.Hint)
		}
	}
	if r.AllowVacuous {
		fmt.Fprintln(w, "  accepted by --allow-vacuous")
	} else {
		fmt.Fprintln(w, "  --allow-vacuous accepts this verdict (exit 0)")
	}
}

func (r *Report[S, A]) printIncomplete(w io.Writer) {
	res := r.Result
	what := "stopped by " + res.Stopped
	switch res.Stopped {
	case "interrupted":
		what = "interrupted"
	case "walks":
		what = "random walks never prove a configuration"
	}
	fmt.Fprintf(w, "INCOMPLETE: %s; no violation among the states explored\n", what)
	if u := res.Unreached(); len(u) > 0 {
		fmt.Fprintf(w, "  not reached so far: %s\n", strings.Join(u, ", "))
	}
}
