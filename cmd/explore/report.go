package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/raftcheck/raftcheck/checker"
	"github.com/raftcheck/raftcheck/traces"
)

// report is what explore check prints about a run, for any model.
type report[S, A any] struct {
	config     any
	header     string
	strategy   string
	workers    int
	symmetry   bool
	invariants string
	res        *checker.Result[S, A]
	// tracePaths holds the file written for each of res.Violations.
	tracePaths []string
	// path prints a violation's counterexample step by step.
	path func(io.Writer, *checker.Violation[S, A]) error
	// switchedOff names the action kinds the configuration disables on
	// purpose, which a vacuous verdict does not list as never enabled.
	switchedOff  []string
	allowVacuous bool
	// note is a line printed before the verdict (what became of a bug).
	note string
}

// exitStatus is the documented exit status of the run's verdict.
func (r *report[S, A]) exitStatus() int {
	switch r.res.Verdict() {
	case checker.VerdictViolation:
		return exitViolation
	case checker.VerdictIncomplete:
		if r.res.Stopped == "interrupted" {
			return exitInterrupted
		}
		return exitLimit
	case checker.VerdictVacuous:
		if r.allowVacuous {
			return exitOK
		}
		return exitVacuous
	}
	return exitOK
}

// finish prints the report (as JSON or text) and returns the exit status.
func (r *report[S, A]) finish(stdout, stderr io.Writer, asJSON bool) int {
	if asJSON {
		if err := r.printJSON(stdout); err != nil {
			fmt.Fprintf(stderr, "explore check: %v\n", err)
			return exitUsage
		}
	} else if err := r.printSummary(stdout); err != nil {
		fmt.Fprintf(stderr, "explore check: %v\n", err)
		return exitViolation
	}
	return r.exitStatus()
}

// neverEnabled lists the action kinds no explored state enabled, except
// those the configuration switched off.
func (r *report[S, A]) neverEnabled() []string {
	var out []string
	for _, k := range r.res.Coverage.NeverEnabled() {
		if !slices.Contains(r.switchedOff, k) {
			out = append(out, k)
		}
	}
	return out
}

// writeTraces writes a trace for every violation under dir: for BFS and
// DFS the one counterexample as NAME.json (the same run gives the same
// file), for random walks each distinct violation as NAME-K.json with the
// first K not yet taken, so that no run overwrites another's.
func (r *report[S, A]) writeTraces(dir string, trace func(*checker.Violation[S, A]) *traces.Trace) error {
	for _, v := range r.res.Violations {
		p, err := writeCounterexample(dir, trace(v), r.strategy == "random")
		if err != nil {
			return err
		}
		r.tracePaths = append(r.tracePaths, p)
	}
	return nil
}

func commandLine(args []string) string {
	return strings.TrimSpace("explore check " + strings.Join(args, " "))
}

// writeCounterexample writes the trace under dir, named after the bug (if
// any) and the property, numbered if asked, and returns its path.
func writeCounterexample(dir string, t *traces.Trace, numbered bool) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("--out: %w", err)
	}
	name := t.Violation.Property
	if t.Config.Bug != "" {
		name = t.Config.Bug + "-" + name
	}
	b, err := t.Marshal()
	if err != nil {
		return "", err
	}
	if !numbered {
		path := filepath.Join(dir, name+".json")
		return path, os.WriteFile(path, b, 0o644)
	}
	for k := 1; ; k++ {
		path := filepath.Join(dir, fmt.Sprintf("%s-%d.json", name, k))
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if os.IsExist(err) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("--out: %w", err)
		}
		_, err = f.Write(b)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", fmt.Errorf("writing trace: %w", err)
		}
		return path, nil
	}
}

// jsonResult is the --json output.
type jsonResult struct {
	Config               any             `json:"config"`
	Strategy             string          `json:"strategy"`
	Workers              int             `json:"workers"`
	Symmetry             bool            `json:"symmetry"`
	Verdict              checker.Verdict `json:"verdict"`
	ExitStatus           int             `json:"exit_status"`
	DistinctStates       int64           `json:"distinct_states"`
	GeneratedStates      int64           `json:"generated_states"`
	Depth                int             `json:"depth"`
	ElapsedSeconds       float64         `json:"elapsed_seconds"`
	StatesPerSecond      float64         `json:"states_per_second"`
	Complete             bool            `json:"complete"`
	Stopped              string          `json:"stopped,omitempty"`
	CollisionProbability float64         `json:"collision_probability"`
	TableBytes           int64           `json:"table_bytes"`
	Coverage             jsonCoverage    `json:"coverage"`
	UnreachedGoals       []string        `json:"unreached_goals"`
	NeverEnabled         []string        `json:"never_enabled"`
	Note                 string          `json:"note,omitempty"`
	Violation            *jsonViolation  `json:"violation"`
	Violations           []jsonViolation `json:"violations,omitempty"`
	Walks                *jsonWalks      `json:"walks,omitempty"`
}

type jsonCoverage struct {
	Actions map[string]jsonAction `json:"actions"`
	Goals   map[string]jsonGoal   `json:"goals"`
}

type jsonAction struct {
	Enabled int64 `json:"enabled"`
	Fired   int64 `json:"fired"`
	New     int64 `json:"new"`
}

type jsonGoal struct {
	Expected bool `json:"expected"`
	Reached  bool `json:"reached"`
	Steps    int  `json:"steps,omitempty"`
}

type jsonViolation struct {
	Property string `json:"property"`
	Kind     string `json:"kind"`
	Message  string `json:"message"`
	Length   int    `json:"length"`
	Trace    string `json:"trace"`
}

type jsonWalks struct {
	Walks       int         `json:"walks"`
	Lengths     map[int]int `json:"lengths"`
	Deadlocked  int         `json:"deadlocked"`
	Constrained int         `json:"constrained"`
	Violating   int         `json:"violating"`
}

func (r *report[S, A]) printJSON(w io.Writer) error {
	res := r.res
	out := jsonResult{Config: r.config, Strategy: r.strategy, Workers: r.effectiveWorkers(), Symmetry: r.symmetry,
		Verdict: res.Verdict(), ExitStatus: r.exitStatus(),
		DistinctStates: res.Distinct, GeneratedStates: res.Generated, Depth: res.Depth,
		ElapsedSeconds: res.Elapsed.Seconds(), StatesPerSecond: rate(res), Complete: res.Complete, Stopped: res.Stopped,
		CollisionProbability: res.CollisionProbability, TableBytes: res.TableBytes,
		Coverage:       jsonCoverage{Actions: map[string]jsonAction{}, Goals: map[string]jsonGoal{}},
		UnreachedGoals: nonNil(res.Unreached()), NeverEnabled: nonNil(r.neverEnabled()), Note: r.note}
	c := res.Coverage
	for i, k := range c.Kinds {
		out.Coverage.Actions[k] = jsonAction{Enabled: c.Enabled[i], Fired: c.Fired[i], New: c.New[i]}
	}
	for _, g := range res.Goals {
		jg := jsonGoal{Expected: g.Expected, Reached: g.Reached}
		if g.Path != nil {
			jg.Steps = g.Path.Len()
		}
		out.Coverage.Goals[g.Name] = jg
	}
	for i, v := range res.Violations {
		kind := "invariant"
		if v.Kind == checker.TransitionProperty {
			kind = "transition"
		}
		out.Violations = append(out.Violations, jsonViolation{Property: v.Property, Kind: kind, Message: v.Err.Error(),
			Length: v.Path.Len(), Trace: r.tracePaths[i]})
	}
	if len(out.Violations) > 0 {
		out.Violation = &out.Violations[0]
	}
	if len(out.Violations) < 2 {
		out.Violations = nil
	}
	if st := res.Walks; st != nil {
		out.Walks = &jsonWalks{Walks: st.Walks, Lengths: st.Lengths, Deadlocked: st.Deadlocked, Constrained: st.Constrained, Violating: st.Violating}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// nonNil makes an empty list print as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func rate[S, A any](res *checker.Result[S, A]) float64 {
	if s := res.Elapsed.Seconds(); s > 0 {
		return float64(res.Generated) / s
	}
	return 0
}

// effectiveWorkers is the number of workers the strategy used.
func (r *report[S, A]) effectiveWorkers() int {
	if r.strategy == "dfs" {
		return 1
	}
	return r.workers
}
