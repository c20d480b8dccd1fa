package report

import (
	"encoding/json"
	"io"

	"github.com/raftcheck/raftcheck/checker"
)

// JSONResult is the JSON output of a run (explore check --json).
type JSONResult struct {
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
	ResumedFromLevel     int             `json:"resumed_from_level,omitempty"`
	CollisionProbability float64         `json:"collision_probability"`
	TableBytes           int64           `json:"table_bytes"`
	Coverage             JSONCoverage    `json:"coverage"`
	UnreachedGoals       []string        `json:"unreached_goals"`
	NeverEnabled         []string        `json:"never_enabled"`
	Note                 string          `json:"note,omitempty"`
	Violation            *JSONViolation  `json:"violation"`
	Violations           []JSONViolation `json:"violations,omitempty"`
	Walks                *JSONWalks      `json:"walks,omitempty"`
	Shard                *JSONShard      `json:"shard,omitempty"`
}

// JSONShard is a sharded run's split (checker.ShardInfo) and what a merge
// needs: the fingerprint file and the identity every shard must share.
type JSONShard struct {
	Index           int                   `json:"index"`
	Count           int                   `json:"count"`
	SplitDepth      int                   `json:"split_depth"`
	PrefixGenerated int64                 `json:"prefix_generated"`
	PrefixDistinct  int64                 `json:"prefix_distinct"`
	PrefixCoverage  map[string]JSONAction `json:"prefix_coverage"`
	Fingerprints    string                `json:"fingerprints"`
	ID              string                `json:"id"`
}

// JSONCoverage is the coverage of a run: per action kind, per goal.
type JSONCoverage struct {
	Actions map[string]JSONAction `json:"actions"`
	Goals   map[string]JSONGoal   `json:"goals"`
}

// JSONAction counts the actions of one kind (checker.Coverage).
type JSONAction struct {
	Enabled int64 `json:"enabled"`
	Fired   int64 `json:"fired"`
	New     int64 `json:"new"`
}

// JSONGoal says whether a goal was reached, and in how many steps.
type JSONGoal struct {
	Expected bool `json:"expected"`
	Reached  bool `json:"reached"`
	Steps    int  `json:"steps,omitempty"`
}

// JSONViolation is one violation and the file of its counterexample.
type JSONViolation struct {
	Property string `json:"property"`
	Kind     string `json:"kind"`
	Message  string `json:"message"`
	Length   int    `json:"length"`
	// Loop is a liveness lasso's cycle length (checker.Violation.Loop).
	Loop  int    `json:"loop,omitempty"`
	Trace string `json:"trace"`
}

// JSONWalks summarises random walks (checker.WalkStats).
type JSONWalks struct {
	Walks       int         `json:"walks"`
	Lengths     map[int]int `json:"lengths"`
	Deadlocked  int         `json:"deadlocked"`
	Constrained int         `json:"constrained"`
	Violating   int         `json:"violating"`
}

// PrintJSON writes the report as one indented JSON object.
func (r *Report[S, A]) PrintJSON(w io.Writer) error {
	res := r.Result
	out := JSONResult{Config: r.Config, Strategy: r.Strategy, Workers: r.EffectiveWorkers(), Symmetry: r.Symmetry,
		Verdict: res.Verdict(), ExitStatus: r.ExitStatus(),
		DistinctStates: res.Distinct, GeneratedStates: res.Generated, Depth: res.Depth,
		ElapsedSeconds: res.Elapsed.Seconds(), StatesPerSecond: Rate(res), Complete: res.Complete, Stopped: res.Stopped,
		ResumedFromLevel: res.Resumed, CollisionProbability: res.CollisionProbability, TableBytes: res.TableBytes,
		Coverage:       JSONCoverage{Actions: map[string]JSONAction{}, Goals: map[string]JSONGoal{}},
		UnreachedGoals: nonNil(res.Unreached()), NeverEnabled: nonNil(r.NeverEnabled()), Note: r.Note}
	out.Coverage.Actions = coverageJSON(&res.Coverage)
	for _, g := range res.Goals {
		jg := JSONGoal{Expected: g.Expected, Reached: g.Reached}
		if g.Path != nil {
			jg.Steps = g.Path.Len()
		}
		out.Coverage.Goals[g.Name] = jg
	}
	for i, v := range res.Violations {
		kind := [...]string{checker.InvariantProperty: "invariant", checker.TransitionProperty: "transition",
			checker.LivenessProperty: "liveness"}[v.Kind]
		out.Violations = append(out.Violations, JSONViolation{Property: v.Property, Kind: kind, Message: v.Err.Error(),
			Length: v.Path.Len(), Loop: v.Loop, Trace: r.TracePaths[i]})
	}
	if len(out.Violations) > 0 {
		out.Violation = &out.Violations[0]
	}
	if len(out.Violations) < 2 {
		out.Violations = nil
	}
	if st := res.Walks; st != nil {
		out.Walks = &JSONWalks{Walks: st.Walks, Lengths: st.Lengths, Deadlocked: st.Deadlocked, Constrained: st.Constrained, Violating: st.Violating}
	}
	if sh := res.Shard; sh != nil {
		out.Shard = &JSONShard{Index: sh.Index, Count: sh.Count, SplitDepth: sh.SplitDepth, PrefixGenerated: sh.PrefixGenerated,
			PrefixDistinct: sh.PrefixDistinct, PrefixCoverage: coverageJSON(&sh.PrefixCoverage),
			Fingerprints: r.ShardFingerprints, ID: r.ShardID}
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

// coverageJSON is the per-kind table of c.
func coverageJSON(c *checker.Coverage) map[string]JSONAction {
	out := map[string]JSONAction{}
	for i, k := range c.Kinds {
		out[k] = JSONAction{Enabled: c.Enabled[i], Fired: c.Fired[i], New: c.New[i]}
	}
	return out
}
