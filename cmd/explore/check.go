package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/raftcheck/raftcheck/checker"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/model/checking"
	"github.com/raftcheck/raftcheck/spec"
	"github.com/raftcheck/raftcheck/traces"
)

// boundFlags are the flags that set the model's bounds; with --bug and none
// of them given, the bug's documented bounds apply.
var boundFlags = []string{"servers", "max-term", "max-values", "max-msgs", "max-copies", "max-restarts", "max-partitions", "max-drops", "max-dups"}

// addBoundFlags defines the flags of the model's bounds on fs, with the
// default configuration's values.
func addBoundFlags(fs *flag.FlagSet, cfg *model.Config) {
	def := model.DefaultConfig()
	fs.IntVar(&cfg.Servers, "servers", def.Servers, "number of servers (3 to 7)")
	fs.IntVar(&cfg.MaxTerm, "max-term", def.MaxTerm, "highest term a server may reach")
	fs.IntVar(&cfg.MaxValues, "max-values", def.MaxValues, "number of client values (each proposed once)")
	fs.IntVar(&cfg.MaxMsgs, "max-msgs", def.MaxMsgs, "messages in flight, copies included")
	fs.IntVar(&cfg.MaxCopies, "max-copies", def.MaxCopies, "copies of one message in flight")
	fs.IntVar(&cfg.MaxRestarts, "max-restarts", def.MaxRestarts, "crash-restarts per run")
	fs.IntVar(&cfg.MaxPartitions, "max-partitions", def.MaxPartitions, "network partitions per run")
	fs.IntVar(&cfg.MaxDrops, "max-drops", def.MaxDrops, "lost messages per run")
	fs.IntVar(&cfg.MaxDups, "max-dups", def.MaxDups, "duplicated messages per run")
}

// checkFlags holds the parsed flags of explore check.
type checkFlags struct {
	cfg        model.Config
	symmetry   bool
	workers    int
	strategy   string
	seed       uint64
	walks      int
	maxDepth   int
	maxStates  int64
	timeLimit  time.Duration
	invariants string
	bug        string
	out        string
	json       bool
	frontier   int64
	progress   string
}

func parseCheckFlags(args []string, stdout io.Writer) (*checkFlags, *flag.FlagSet, error) {
	fs := flag.NewFlagSet("explore check", flag.ContinueOnError)
	f := &checkFlags{}
	addBoundFlags(fs, &f.cfg)
	fs.BoolVar(&f.symmetry, "symmetry", true, "reduce by symmetry over server identities")
	fs.IntVar(&f.workers, "workers", runtime.NumCPU(), "worker goroutines (bfs and random)")
	fs.StringVar(&f.strategy, "strategy", "bfs", "search strategy: bfs, dfs or random")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the random walks")
	fs.IntVar(&f.walks, "walks", 1000, "number of random walks")
	fs.IntVar(&f.maxDepth, "max-depth", 0, "deepest level to explore (initial state at 1; random: walk length, default 100)")
	fs.Int64Var(&f.maxStates, "max-states", 0, "stop after this many distinct states (0: no limit)")
	fs.DurationVar(&f.timeLimit, "time-limit", 0, "stop after this long, e.g. 30s (0: no limit)")
	fs.StringVar(&f.invariants, "invariants", "all", "comma-separated properties to check (see explore bugs -properties)")
	fs.StringVar(&f.bug, "bug", "", "seeded bug to switch on (see explore bugs)")
	fs.StringVar(&f.out, "out", "counterexamples", "directory for counterexample traces")
	fs.BoolVar(&f.json, "json", false, "print one JSON object on stdout")
	fs.Int64Var(&f.frontier, "frontier-mem", 1<<30, "bytes of BFS frontier kept in memory before spilling to disk")
	fs.StringVar(&f.progress, "progress", "auto", "live progress on stderr: auto (when a terminal), on, off")
	fs.String("model", "raft", "the model: raft, or tlaraft for the rendering of raft.tla (see explore check --model tlaraft -h)")
	if err := parseFlags(fs, args, stdout, 0); err != nil {
		return nil, fs, err
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if f.bug != "" {
		b, ok := model.LookupBug(f.bug)
		if !ok {
			return nil, fs, fmt.Errorf("--bug: unknown seeded bug %q (known: %s)", f.bug, strings.Join(model.BugNames(), ", "))
		}
		anyBound := false
		for _, name := range boundFlags {
			anyBound = anyBound || set[name]
		}
		if !anyBound {
			f.cfg = b.Bounds
			if !set["strategy"] && b.Strategy != "" {
				f.strategy = b.Strategy
			}
		}
		f.cfg.Bug = f.bug
	}
	if err := f.cfg.Validate(); err != nil {
		return nil, fs, fmt.Errorf("--%w", err)
	}
	switch {
	case f.workers < 1:
		return nil, fs, fmt.Errorf("--workers: %d must be at least 1", f.workers)
	case f.maxDepth < 0:
		return nil, fs, fmt.Errorf("--max-depth: %d must not be negative", f.maxDepth)
	case f.maxStates < 0:
		return nil, fs, fmt.Errorf("--max-states: %d must not be negative", f.maxStates)
	case f.timeLimit < 0:
		return nil, fs, fmt.Errorf("--time-limit: %v must not be negative", f.timeLimit)
	case f.walks < 1:
		return nil, fs, fmt.Errorf("--walks: %d must be at least 1", f.walks)
	case f.frontier < 1:
		return nil, fs, fmt.Errorf("--frontier-mem: %d must be positive", f.frontier)
	case f.progress != "auto" && f.progress != "on" && f.progress != "off":
		return nil, fs, fmt.Errorf("--progress: %q is not auto, on or off", f.progress)
	}
	if _, err := checker.ParseStrategy(f.strategy); err != nil {
		return nil, fs, fmt.Errorf("--strategy: %w", err)
	}
	if _, err := spec.ParsePropertyList(f.invariants); err != nil {
		return nil, fs, fmt.Errorf("--invariants: %w", err)
	}
	return f, fs, nil
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
	f, _, err := parseCheckFlags(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "explore check: %v\n", err)
		return exitUsage
	}
	m := model.MustNew(f.cfg)
	strategy, _ := checker.ParseStrategy(f.strategy)
	names, _ := spec.ParsePropertyList(f.invariants)
	opts := checker.Options{Strategy: strategy, Workers: f.workers, Symmetry: f.symmetry, MaxStates: f.maxStates,
		MaxDepth: f.maxDepth, TimeLimit: f.timeLimit, Seed: f.seed, Walks: f.walks, FrontierMemory: f.frontier}
	prog := newProgress(stderr, f.progress)
	if prog != nil {
		opts.Progress = prog.update
		opts.ProgressEvery = 200 * time.Millisecond
	}
	res, err := checker.Check[model.State, model.Action](checking.Adapter{Model: m}, checking.Properties(m, names), opts)
	prog.finish()
	if err != nil {
		fmt.Fprintf(stderr, "explore check: %v\n", err)
		return exitUsage
	}
	var tracePath string
	if v := res.Violation; v != nil {
		t := traces.FromPath(m, &v.Path, v, traces.Producer{Tool: "explore check", Command: commandLine(args),
			Strategy: f.strategy, Seed: f.seed})
		t.Title = fmt.Sprintf("%s violated after %d steps", v.Property, v.Path.Len())
		if f.cfg.Bug != "" {
			t.Title = fmt.Sprintf("Seeded bug %s: %s", f.cfg.Bug, t.Title)
		}
		tracePath, err = writeCounterexample(f.out, t)
		if err != nil {
			fmt.Fprintf(stderr, "explore check: %v\n", err)
			return exitUsage
		}
	}
	rep := report[model.State, model.Action]{config: f.cfg, header: fmt.Sprint(f.cfg), strategy: f.strategy, workers: f.workers,
		symmetry: f.symmetry, invariants: f.invariants, res: res, tracePath: tracePath,
		path: func(w io.Writer, p *checker.Path[model.State, model.Action]) { printPath(w, m, p) }}
	return rep.finish(stdout, stderr, f.json)
}

// report is what explore check prints about a run, for any model.
type report[S, A any] struct {
	config     any
	header     string
	strategy   string
	workers    int
	symmetry   bool
	invariants string
	res        *checker.Result[S, A]
	tracePath  string
	path       func(io.Writer, *checker.Path[S, A])
}

// finish prints the report (as JSON or text) and returns the exit status.
func (r *report[S, A]) finish(stdout, stderr io.Writer, asJSON bool) int {
	if asJSON {
		if err := r.printJSON(stdout); err != nil {
			fmt.Fprintf(stderr, "explore check: %v\n", err)
			return exitUsage
		}
	} else {
		r.printSummary(stdout)
	}
	switch {
	case r.res.Violation != nil:
		return exitViolation
	case !r.res.Complete:
		return exitLimit
	}
	return exitOK
}

func commandLine(args []string) string {
	return strings.TrimSpace("explore check " + strings.Join(args, " "))
}

// writeCounterexample writes the trace under dir, named after the bug (if
// any) and the property, and returns its path.
func writeCounterexample(dir string, t *traces.Trace) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("--out: %w", err)
	}
	name := t.Violation.Property
	if t.Config.Bug != "" {
		name = t.Config.Bug + "-" + name
	}
	path := filepath.Join(dir, name+".json")
	return path, t.WriteFile(path)
}

// jsonResult is the --json output.
type jsonResult struct {
	Config               any            `json:"config"`
	Strategy             string         `json:"strategy"`
	Workers              int            `json:"workers"`
	Symmetry             bool           `json:"symmetry"`
	DistinctStates       int64          `json:"distinct_states"`
	GeneratedStates      int64          `json:"generated_states"`
	Depth                int            `json:"depth"`
	ElapsedSeconds       float64        `json:"elapsed_seconds"`
	StatesPerSecond      float64        `json:"states_per_second"`
	Complete             bool           `json:"complete"`
	Stopped              string         `json:"stopped,omitempty"`
	CollisionProbability float64        `json:"collision_probability"`
	TableBytes           int64          `json:"table_bytes"`
	Coverage             jsonCoverage   `json:"coverage"`
	Violation            *jsonViolation `json:"violation"`
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
	Reached bool `json:"reached"`
	Steps   int  `json:"steps,omitempty"`
}

type jsonViolation struct {
	Property string `json:"property"`
	Kind     string `json:"kind"`
	Message  string `json:"message"`
	Length   int    `json:"length"`
	Trace    string `json:"trace"`
}

func (r *report[S, A]) printJSON(w io.Writer) error {
	res, tracePath := r.res, r.tracePath
	out := jsonResult{Config: r.config, Strategy: r.strategy, Workers: r.workers, Symmetry: r.symmetry,
		DistinctStates: res.Distinct, GeneratedStates: res.Generated, Depth: res.Depth,
		ElapsedSeconds: res.Elapsed.Seconds(), StatesPerSecond: rate(res), Complete: res.Complete, Stopped: res.Stopped,
		CollisionProbability: res.CollisionProbability, TableBytes: res.TableBytes,
		Coverage: jsonCoverage{Actions: map[string]jsonAction{}, Goals: map[string]jsonGoal{}}}
	c := res.Coverage
	for i, k := range c.Kinds {
		out.Coverage.Actions[k] = jsonAction{Enabled: c.Enabled[i], Fired: c.Fired[i], New: c.New[i]}
	}
	for _, g := range res.Goals {
		jg := jsonGoal{Reached: g.Reached}
		if g.Path != nil {
			jg.Steps = g.Path.Len()
		}
		out.Coverage.Goals[g.Name] = jg
	}
	if v := res.Violation; v != nil {
		kind := "invariant"
		if v.Kind == checker.TransitionProperty {
			kind = "transition"
		}
		out.Violation = &jsonViolation{Property: v.Property, Kind: kind, Message: v.Err.Error(), Length: v.Path.Len(), Trace: tracePath}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func rate[S, A any](res *checker.Result[S, A]) float64 {
	if s := res.Elapsed.Seconds(); s > 0 {
		return float64(res.Generated) / s
	}
	return 0
}

// printSummary writes the human-readable report.
func (r *report[S, A]) printSummary(w io.Writer) {
	res, tracePath := r.res, r.tracePath
	sym := "on"
	if !r.symmetry {
		sym = "off"
	}
	fmt.Fprintf(w, "explore check: %s\n", r.header)
	workers := fmt.Sprintf("%d workers", r.workers)
	if r.workers == 1 {
		workers = "1 worker"
	}
	fmt.Fprintf(w, "  strategy %s, %s, symmetry %s, properties: %s\n", r.strategy, workers, sym, r.invariants)
	fmt.Fprintf(w, "%s distinct states, %s generated, depth %d, %.2fs (%s generated/s)\n",
		commas(res.Distinct), commas(res.Generated), res.Depth, res.Elapsed.Seconds(), human(rate(res)))
	fmt.Fprintf(w, "visited set %s (%.1f bytes/state); fingerprint collision probability %.1e\n",
		bytesHuman(res.TableBytes), float64(res.TableBytes)/float64(max(res.Distinct, 1)), res.CollisionProbability)
	fmt.Fprintln(w, "\ncoverage:")
	c := res.Coverage
	width := len("action")
	for _, k := range c.Kinds {
		width = max(width, len(k))
	}
	fmt.Fprintf(w, "  %-*s %14s %14s %14s\n", width, "action", "enabled", "fired", "new states")
	for i, k := range c.Kinds {
		fmt.Fprintf(w, "  %-*s %14s %14s %14s\n", width, k, commas(c.Enabled[i]), commas(c.Fired[i]), commas(c.New[i]))
	}
	if len(res.Goals) > 0 {
		fmt.Fprintln(w, "goals:")
	}
	for _, g := range res.Goals {
		if g.Reached {
			fmt.Fprintf(w, "  %-30s reached in %d steps\n", g.Name, g.Path.Len())
		} else {
			fmt.Fprintf(w, "  %-30s NOT REACHED\n", g.Name)
		}
	}
	for _, g := range res.Goals {
		if g.Name == "value-committed" && !g.Reached && res.Complete {
			fmt.Fprintln(w, "\nWARNING: no value is ever committed within these bounds, so the properties about")
			fmt.Fprintln(w, "committed entries hold vacuously; raise --max-values or --max-term.")
		}
	}
	fmt.Fprintln(w)
	switch v := res.Violation; {
	case v != nil:
		fmt.Fprintf(w, "VIOLATION of %s after %d steps: %v\n\n", v.Property, v.Path.Len(), v.Err)
		r.path(w, &v.Path)
		fmt.Fprintf(w, "\ncounterexample trace: %s\n", tracePath)
	case res.Complete:
		fmt.Fprintln(w, "OK: every property holds in every reachable state within the bounds")
	default:
		fmt.Fprintf(w, "INCOMPLETE: stopped by %s; no violation among the states explored\n", res.Stopped)
	}
}

// printPath prints a path as a readable step list.
func printPath(w io.Writer, m *model.Model, p *checker.Path[model.State, model.Action]) {
	init, steps := checking.SpecPath(m, p)
	fmt.Fprintf(w, "initial state:\n%s", init.String())
	for i, st := range steps {
		fmt.Fprintf(w, "step %d: %v\n%s", i+1, st.Action, st.State.String())
	}
}

func commas(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func human(x float64) string {
	switch {
	case x >= 1e9:
		return fmt.Sprintf("%.2fG", x/1e9)
	case x >= 1e6:
		return fmt.Sprintf("%.2fM", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.1fk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}

func bytesHuman(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
}
