package checker

import (
	"fmt"
	"time"
)

// Model is a transition system to explore. S is the state type, a value
// the checker copies (see "States are values" in the package doc), and A
// the action type.
type Model[S, A any] interface {
	// Init returns the initial states.
	Init() []S
	// Actions appends the actions enabled in s to dst, in a fixed order.
	Actions(s *S, dst []A) []A
	// Next writes the successor of s under a into out and reports whether
	// a was enabled. It must not modify s, and out must share no mutable
	// memory with s nor with the value *out held before the call.
	Next(s *S, a A, out *S) bool
	// Encode appends an encoding of s to dst: equal states, equal bytes.
	Encode(dst []byte, s *S) []byte
}

// Decoder is a model that can rebuild a state from its encoding. It is
// optional: with it the breadth-first frontier holds encodings only (and
// spills them to disk past Options.FrontierMemory); without it the
// frontier keeps the states themselves, in memory.
type Decoder[S any] interface {
	// Decode parses an encoding made by Encode or Canonical.
	Decode(src []byte, s *S) error
}

// Kinded is a model whose actions fall into named kinds, for the coverage
// counts. It is optional: without it, coverage counts every action under
// the single kind DefaultKind.
type Kinded[A any] interface {
	// ActionKind returns the index of a's kind in ActionKinds.
	ActionKind(a A) int
	// ActionKinds names the kinds of action.
	ActionKinds() []string
}

// DefaultKind is the one coverage kind of a model that is not Kinded.
const DefaultKind = "action"

// Symmetric is a model with a symmetry reduction: Canonical appends the
// encoding of a representative of s's equivalence class (equal for every
// member of the class), which Decode must accept when the model is a
// Decoder. Without a Decoder, the state expanded is the first member of
// its class reached, not the representative.
type Symmetric[S any] interface {
	Canonical(dst []byte, s *S) []byte
}

// Constrained is a model with a state constraint, with TLC's semantics: a
// state outside the constraint is checked against the invariants but is
// neither stored nor explored.
type Constrained[S any] interface {
	Within(s *S) bool
}

// Invariant is a named property every reachable state must satisfy; Check
// returns nil or an explanation of the violation.
type Invariant[S any] struct {
	Name  string
	Check func(s *S) error
}

// Transition is a named property every step must satisfy.
type Transition[S, A any] struct {
	Name  string
	Check func(before *S, a A, after *S) error
}

// Goal is a named reachability ("sometimes") property: the checker reports
// whether some reachable state satisfies Reached, or some step satisfies
// Step (exactly one of the two is set), with a path to the first one.
//
// An Expected goal is one the configuration is meant to reach (a leader
// elected, a value committed): a complete run that does not reach it has
// checked its properties vacuously, and Result.Verdict says so.
type Goal[S, A any] struct {
	Name     string
	Reached  func(s *S) bool
	Step     func(before *S, a A, after *S) bool
	Expected bool
	// Hint says what to change when an expected goal is not reached
	// (e.g. which bounds to raise); the report prints it.
	Hint string
}

// reachedBy reports whether the step (before, a, after) reaches g; before
// is nil for an initial state.
func (g *Goal[S, A]) reachedBy(before *S, a A, after *S) bool {
	if g.Step != nil {
		return before != nil && g.Step(before, a, after)
	}
	return g.Reached(after)
}

// Properties is what a run checks. A run calls the Properties factory once
// per worker, so the functions may keep scratch space of their own.
type Properties[S, A any] struct {
	Invariants  []Invariant[S]
	Transitions []Transition[S, A]
	Goals       []Goal[S, A]
	// Liveness lists the liveness properties (see Liveness), checked once
	// a complete search has found no safety violation. Without any, the
	// search costs nothing more.
	Liveness []Liveness[S, A]
	// TransitionsHold, if set, is a fast test that every transition
	// property holds on a step (it may check more than Transitions). When
	// it reports true the individual checks are skipped; when false they
	// run, to name and explain the violation.
	TransitionsHold func(before *S, a A, after *S) bool
}

// Strategy is a search order.
type Strategy int

// The strategies.
const (
	// BFS explores level by level; counterexamples are shortest. It runs on
	// every worker, level-synchronously, with results independent of the
	// number of workers.
	BFS Strategy = iota
	// DFS explores depth-first on one worker with a stack of states; memory
	// is the visited set plus the stack.
	DFS
	// Random runs seeded random walks; for state spaces too large to
	// exhaust. It never reports a run complete.
	Random
)

// ParseStrategy parses "bfs", "dfs" or "random".
func ParseStrategy(s string) (Strategy, error) {
	switch s {
	case "bfs":
		return BFS, nil
	case "dfs":
		return DFS, nil
	case "random":
		return Random, nil
	}
	return 0, fmt.Errorf("unknown strategy %q (want bfs, dfs or random)", s)
}

// String returns the strategy's flag name.
func (s Strategy) String() string {
	return [...]string{"bfs", "dfs", "random"}[s]
}

// Options configures a run.
type Options struct {
	Strategy Strategy
	// Workers is the number of goroutines (BFS and Random); 0 means 1.
	Workers int
	// Symmetry uses the model's Canonical encoding when it has one.
	Symmetry bool
	// MaxStates stops the search once this many distinct states are known
	// (at the end of that BFS level); 0 for no limit.
	MaxStates int64
	// MaxDepth bounds the depth (initial states are at depth 1); states at
	// it are not expanded. For Random it is the length of a walk. 0 for no
	// limit (Random: 100).
	MaxDepth int
	// TimeLimit stops the search after this long; 0 for no limit.
	TimeLimit time.Duration
	// Seed and Walks configure Random: walk k draws from a generator
	// seeded with (Seed, k). Walks 0 means no limit on the number of walks
	// (the run then needs TimeLimit, MaxStates or Interrupt to end).
	Seed  uint64
	Walks int
	// MaxViolations is how many distinct violations (property and
	// violating state) random walks collect before they stop; 0 or 1 stops
	// at the first. BFS and DFS always stop at the first.
	MaxViolations int
	// Interrupt, when closed, ends the run as incomplete ("interrupted")
	// with what was covered so far, as a time limit does.
	Interrupt <-chan struct{}
	// FrontierMemory is how many bytes of BFS frontier stay in memory
	// before the rest spills to disk; 0 means 1 GiB.
	FrontierMemory int64
	// TempDir holds spill and parent files ("" for the system default).
	TempDir string
	// Progress, if set, is called about every ProgressEvery (default 1s)
	// from a separate goroutine while the run goes on.
	Progress      func(Progress)
	ProgressEvery time.Duration
	// Checkpoint, if set, is a directory where a breadth-first run saves
	// itself between levels about every CheckpointEvery (0: one minute),
	// and when a time limit or an interrupt stops it. Resume continues the
	// run saved there: the resumed run reports the same counts, coverage,
	// goals and counterexample as one never stopped (Elapsed includes the
	// time before the checkpoint). CheckpointID identifies what the run
	// checks (the model's configuration and the options that change the
	// search); a checkpoint is resumed only by a run with the same ID.
	// Checkpoints need a Decoder.
	Checkpoint      string
	CheckpointEvery time.Duration
	CheckpointID    string
	Resume          bool
	// Shards > 1 makes the breadth-first run shard number Shard (0-based)
	// of Shards independent parts of the search (see ShardInfo): at the
	// first level with at least ShardMinStates (0: 64) states per shard,
	// it keeps only the states whose fingerprint modulo Shards is Shard.
	// ShardFingerprints, if set, is a file the run writes its stored
	// fingerprints to, sorted, for MergeFingerprints.
	Shard, Shards     int
	ShardMinStates    int
	ShardFingerprints string
}

// Progress is a snapshot of a running search.
type Progress struct {
	Distinct, Generated int64
	Queue               int64
	Depth               int
	Elapsed             time.Duration
	TableBytes          int64
}

// Result is the outcome of a run.
type Result[S, A any] struct {
	Distinct  int64 // distinct states stored
	Generated int64 // initial states plus every successor computed
	Depth     int   // deepest level reached; initial states are level 1
	Complete  bool  // every reachable state within the bounds was explored
	// Stopped says which limit ended an incomplete run: "max-states",
	// "max-depth", "time-limit", "interrupted", "walks", "max-violations"
	// or "violation".
	Stopped string
	// Shard describes the split of a sharded run (nil when not sharded).
	Shard *ShardInfo
	// Resumed is the level a resumed run continued from (Options.Resume),
	// 0 for a run that started from the initial states.
	Resumed int
	Elapsed time.Duration
	// CollisionProbability estimates the chance that two distinct states
	// shared a fingerprint, computed as TLC's optimistic estimate
	// n·(g−n)/2^64 for n distinct and g generated states.
	CollisionProbability float64
	// TableBytes is the memory of the visited set at the end.
	TableBytes int64
	Coverage   Coverage
	Goals      []GoalResult[S, A]
	// Liveness has the verdict on each liveness property, in order.
	Liveness []LivenessResult[S, A]
	// Violation is the first violation found (a safety violation, else the
	// first liveness property that fails); Violations lists every
	// distinct one random walks collected (Violation first), and holds
	// just Violation for BFS and DFS.
	Violation  *Violation[S, A]
	Violations []*Violation[S, A]
	// Walks summarises the random walks (nil for BFS and DFS).
	Walks *WalkStats
}

// WalkStats summarises the random walks of a run.
type WalkStats struct {
	// Walks is the number of walks run; Lengths[k] how many took exactly k
	// steps.
	Walks   int
	Lengths map[int]int
	// Deadlocked counts the walks that ended before their length because
	// no action was enabled, Constrained those that left the state
	// constraint, Violating those that ended at a violation.
	Deadlocked, Constrained, Violating int
}

// Verdict classifies a run's outcome for a user.
type Verdict string

// The verdicts.
const (
	// VerdictOK: complete, every property holds and every expected goal
	// was reached.
	VerdictOK Verdict = "ok"
	// VerdictViolation: a property is violated.
	VerdictViolation Verdict = "violation"
	// VerdictVacuous: complete and no violation, but an expected goal was
	// never reached, so the properties were checked on too little.
	VerdictVacuous Verdict = "vacuous"
	// VerdictIncomplete: a limit ended the run before it was complete.
	VerdictIncomplete Verdict = "incomplete"
)

// Verdict returns the run's verdict.
func (r *Result[S, A]) Verdict() Verdict {
	switch {
	case r.Violation != nil:
		return VerdictViolation
	case !r.Complete:
		return VerdictIncomplete
	case len(r.Unreached()) > 0:
		return VerdictVacuous
	}
	return VerdictOK
}

// Unreached lists the expected goals the run did not reach.
func (r *Result[S, A]) Unreached() []string {
	var out []string
	for _, g := range r.Goals {
		if g.Expected && !g.Reached {
			out = append(out, g.Name)
		}
	}
	return out
}

// Coverage counts, per action kind, how often an action of that kind was
// enabled in an expanded state, fired (its successor computed), and led to
// a state not seen before.
type Coverage struct {
	Kinds   []string
	Enabled []int64
	Fired   []int64
	New     []int64
}

func newCoverage(kinds []string) Coverage {
	n := len(kinds)
	return Coverage{Kinds: kinds, Enabled: make([]int64, n), Fired: make([]int64, n), New: make([]int64, n)}
}

// clone returns a copy of c that shares no counts with it.
func (c *Coverage) clone() Coverage {
	d := newCoverage(c.Kinds)
	d.add(c)
	return d
}

func (c *Coverage) reset() {
	clear(c.Enabled)
	clear(c.Fired)
	clear(c.New)
}

// NeverEnabled lists the action kinds no explored state enabled.
func (c *Coverage) NeverEnabled() []string {
	var out []string
	for i, k := range c.Kinds {
		if c.Enabled[i] == 0 {
			out = append(out, k)
		}
	}
	return out
}

func (c *Coverage) add(o *Coverage) {
	for i := range c.Kinds {
		c.Enabled[i] += o.Enabled[i]
		c.Fired[i] += o.Fired[i]
		c.New[i] += o.New[i]
	}
}

// GoalResult says whether a goal was reached, and how.
type GoalResult[S, A any] struct {
	Name     string
	Expected bool   // the goal's Expected
	Hint     string // the goal's Hint
	Reached  bool
	Path     *Path[S, A] // shortest known path to a state reaching the goal
}

// PropertyKind distinguishes invariants from transition properties.
type PropertyKind int

// The kinds of property.
const (
	InvariantProperty PropertyKind = iota
	TransitionProperty
	// LivenessProperty: the path is a lasso (see Violation.Loop).
	LivenessProperty
)

// Violation is a property that failed, with a path from an initial state
// to the state (or through the step) that violates it.
type Violation[S, A any] struct {
	Property string
	Kind     PropertyKind
	Err      error // the property's explanation
	Path     Path[S, A]
	// Loop is, for a liveness property, the length of the lasso's cycle:
	// the behaviour follows Path, then repeats its last Loop steps (which
	// return to the state Loop steps before the end) forever; with Loop 0
	// it stutters at Path's last state forever. 0 for other properties.
	Loop int
}

// Path is a run of the model: an initial state and the steps from it.
type Path[S, A any] struct {
	Init  S
	Steps []Step[S, A]
}

// Step is one action and the state after it.
type Step[S, A any] struct {
	Action A
	State  S
}

// Len is the number of steps of the path.
func (p *Path[S, A]) Len() int { return len(p.Steps) }

// Last returns the final state of the path.
func (p *Path[S, A]) Last() *S {
	if len(p.Steps) == 0 {
		return &p.Init
	}
	return &p.Steps[len(p.Steps)-1].State
}
