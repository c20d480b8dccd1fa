package checker

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zeebo/xxh3"
)

// Check explores m under opts, checking the properties a fresh call of
// props returns (one call per worker). It returns an error only for
// problems of the run itself (temporary files, a model whose encoding does
// not decode); property violations are in the Result.
func Check[S, A any](m Model[S, A], props func() Properties[S, A], opts Options) (*Result[S, A], error) {
	r := newRun(m, props, opts)
	defer r.stopProgress()
	defer func() {
		if r.parents != nil {
			r.parents.close()
		}
	}()
	err := r.checkCheckpointOptions()
	if err == nil {
		err = r.checkShardOptions()
	}
	switch {
	case err != nil:
	case opts.Strategy == BFS:
		err = r.bfs()
	case opts.Strategy == DFS:
		err = r.dfs()
	case opts.Strategy == Random:
		err = r.random()
	default:
		err = fmt.Errorf("unknown strategy %d", opts.Strategy)
	}
	if err == nil && opts.ShardFingerprints != "" {
		if err = r.writeShardFingerprints(opts.ShardFingerprints); err != nil {
			err = fmt.Errorf("shard fingerprints %s: %w", opts.ShardFingerprints, err)
		}
	}
	if err == nil && len(r.props0.Liveness) > 0 {
		err = r.checkLiveness()
	}
	if err != nil {
		return nil, err
	}
	res := &r.res
	res.Elapsed = time.Since(r.start)
	res.Distinct = r.table.len()
	res.TableBytes = r.table.bytes()
	n, g := float64(res.Distinct), float64(res.Generated)
	res.CollisionProbability = n * math.Max(g-n, 0) / math.Exp2(64)
	for i, gl := range r.goalNames {
		g := &r.props0.Goals[i]
		gr := GoalResult[S, A]{Name: gl, Expected: g.Expected, Hint: g.Hint, Reached: r.goalHit[i] != nil}
		if h := r.goalHit[i]; h != nil {
			p, err := r.rebuild(h.path, h.parent, h.fp, r.props0.Goals[i].reachedBy)
			if err != nil {
				return nil, fmt.Errorf("goal %s: %w", gl, err)
			}
			gr.Path = p
		}
		res.Goals = append(res.Goals, gr)
	}
	return res, nil
}

// run is the state shared by the workers of one search.
type run[S, A any] struct {
	m          Model[S, A]
	dec        Decoder[S] // nil: the BFS frontier keeps states (levelStates)
	kinded     Kinded[A]  // nil: one coverage kind, DefaultKind
	kinds      []string
	sym        Symmetric[S]
	con        Constrained[S]
	props      func() Properties[S, A]
	props0     Properties[S, A] // used by the coordinating goroutine
	opts       Options
	workers    int
	table      *fpSet
	parents    *records
	spare      []*candidates[S] // BFS: reused once inserted
	blocks     blockPool        // frontier blocks, reused between levels
	lv         levelStats       // BFS: the level being expanded
	bfsWorkers []*worker[S, A]  // BFS: kept from level to level
	// Without a Decoder, the states of the BFS level being expanded, by id
	// minus levelBase, and those of the next level, in id order.
	levelStates, nextStates []S
	levelBase               int64
	sink                    atomic.Uint64 // keeps the loads of fpSet.touch from being optimised away
	res                     Result[S, A]
	start                   time.Time
	deadline                time.Time

	liveSets []Fairness[A] // the fairness sets of every liveness property
	ckpt     *checkpointer // nil without Options.Checkpoint
	shard    *sharding     // nil unless Options.Shards > 1

	goalNames []string
	goalHit   []*hit // first state reaching each goal

	// Progress counters, read by the progress goroutine.
	generated atomic.Int64
	// levelGenerated is the exact count of generated states at the end of
	// the last BFS level (generated runs ahead of it during a level).
	levelGenerated int64
	queue          atomic.Int64
	depth          atomic.Int64
	distinct       atomic.Int64
	stopProg       chan struct{}
	progDone       sync.WaitGroup
}

// hit locates a state found during the search: the state reached from
// parent (an id in the parent file, or noParent for an initial state) with
// fingerprint fp. For DFS and random walks, path holds the path itself.
type hit struct {
	parent uint64
	fp     uint64
	path   any
}

func newRun[S, A any](m Model[S, A], props func() Properties[S, A], opts Options) *run[S, A] {
	r := &run[S, A]{m: m, props: props, props0: props(), opts: opts, workers: max(opts.Workers, 1),
		table: newFPSet(), start: time.Now()}
	if opts.Symmetry {
		r.sym, _ = m.(Symmetric[S])
	}
	r.con, _ = m.(Constrained[S])
	r.dec, _ = m.(Decoder[S])
	r.kinds = []string{DefaultKind}
	if k, ok := m.(Kinded[A]); ok {
		r.kinded, r.kinds = k, k.ActionKinds()
	}
	if opts.TimeLimit > 0 {
		r.deadline = r.start.Add(opts.TimeLimit)
	}
	r.res.Coverage = newCoverage(r.kinds)
	for _, g := range r.props0.Goals {
		r.goalNames = append(r.goalNames, g.Name)
	}
	r.goalHit = make([]*hit, len(r.goalNames))
	if opts.Progress != nil {
		every := opts.ProgressEvery
		if every <= 0 {
			every = time.Second
		}
		r.stopProg = make(chan struct{})
		r.progDone.Add(1)
		go func() {
			defer r.progDone.Done()
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-r.stopProg:
					return
				case <-t.C:
					opts.Progress(r.progress())
				}
			}
		}()
	}
	return r
}

func (r *run[S, A]) progress() Progress {
	return Progress{Distinct: r.distinct.Load(), Generated: r.generated.Load(), Queue: r.queue.Load(),
		Depth: int(r.depth.Load()), Elapsed: time.Since(r.start), TableBytes: r.table.bytes()}
}

func (r *run[S, A]) stopProgress() {
	if r.stopProg != nil {
		close(r.stopProg)
		r.progDone.Wait()
		r.stopProg = nil
	}
}

// stopReason returns what ends the run now: "time-limit" once the time
// limit has passed, "interrupted" once Options.Interrupt is closed, or "".
func (r *run[S, A]) stopReason() string {
	if !r.deadline.IsZero() && time.Now().After(r.deadline) {
		return "time-limit"
	}
	select {
	case <-r.opts.Interrupt:
		return "interrupted"
	default:
	}
	return ""
}

// timeUp reports whether the run must stop now (stopReason is set).
func (r *run[S, A]) timeUp() bool { return r.stopReason() != "" }

// key appends the bytes that identify s: its canonical encoding under
// symmetry, its plain encoding otherwise.
func (r *run[S, A]) key(dst []byte, s *S) []byte {
	if r.sym != nil {
		return r.sym.Canonical(dst, s)
	}
	return r.m.Encode(dst, s)
}

// unreached returns the mask of the goals not reached yet.
func (r *run[S, A]) unreached() goalMask {
	var m goalMask
	for g, h := range r.goalHit {
		if h == nil {
			m |= goalBit(g)
		}
	}
	return m
}

// kindOf returns the coverage kind of a.
func (r *run[S, A]) kindOf(a A) int {
	if r.kinded == nil {
		return 0
	}
	return r.kinded.ActionKind(a)
}

func hashKey(k []byte) uint64 { return fingerprint(xxh3.Hash(k)) }

// found is a violation located during the search, before its path is
// rebuilt.
type found struct {
	prop   string
	kind   PropertyKind
	err    error
	parent uint64 // noParent for an initial state
	fp     uint64 // the violating state (invariant) or step's target (transition)
	index  int    // property index, to re-check while rebuilding
	path   any    // DFS and random walks: the path itself
}

// violation turns a found violation into the result's, rebuilding its
// path.
func (r *run[S, A]) violation(f *found) error {
	v, err := r.buildViolation(f)
	if err != nil {
		return err
	}
	r.res.Violation = v
	r.res.Violations = []*Violation[S, A]{v}
	r.res.Stopped = "violation"
	return nil
}

// buildViolation rebuilds a found violation's path and explains it on that
// path.
func (r *run[S, A]) buildViolation(f *found) (*Violation[S, A], error) {
	v := &Violation[S, A]{Property: f.prop, Kind: f.kind, Err: f.err}
	match := func(before *S, a A, after *S) bool {
		if f.kind == TransitionProperty {
			return r.props0.Transitions[f.index].Check(before, a, after) != nil
		}
		return r.props0.Invariants[f.index].Check(after) != nil
	}
	p, err := r.rebuild(f.path, f.parent, f.fp, match)
	if err != nil {
		return nil, fmt.Errorf("rebuilding the counterexample: %w", err)
	}
	v.Path = *p
	// The violation was found on a state expanded from a canonical
	// representative, which may name the servers differently from the
	// rebuilt path: explain it again on the path's own last step.
	last := v.Path.Last()
	before := &v.Path.Init
	var act A
	if n := len(v.Path.Steps); n > 0 {
		act = v.Path.Steps[n-1].Action
		if n > 1 {
			before = &v.Path.Steps[n-2].State
		}
	}
	var again error
	if f.kind == TransitionProperty {
		if len(v.Path.Steps) > 0 {
			again = r.props0.Transitions[f.index].Check(before, act, last)
		}
	} else {
		again = r.props0.Invariants[f.index].Check(last)
	}
	if again != nil {
		v.Err = again
	}
	return v, nil
}

// rebuild returns the path to the state with fingerprint fp reached from
// the state parent, replaying actions from an initial state: at each step
// the first action whose successor has the next fingerprint of the parent
// chain, and at the last step the first that also satisfies last. A path
// recorded directly (DFS, random walks) is returned as it is.
func (r *run[S, A]) rebuild(direct any, parent, fp uint64, last func(before *S, a A, after *S) bool) (*Path[S, A], error) {
	if direct != nil {
		p := direct.(*Path[S, A])
		return p, nil
	}
	var chain []uint64
	if parent != noParent {
		var err error
		if chain, err = r.parents.chain(parent); err != nil {
			return nil, err
		}
	}
	chain = append(chain, fp)
	p := &Path[S, A]{}
	var buf []byte
	var err error
	if p.Init, buf, err = r.initWith(chain, last); err != nil {
		return nil, err
	}
	cur := p.Init
	var acts []A
	var next S
	for k := 1; k < len(chain); k++ {
		acts = r.m.Actions(&cur, acts[:0])
		ok := false
		for _, a := range acts {
			if !r.m.Next(&cur, a, &next) {
				continue
			}
			buf = r.key(buf[:0], &next)
			if hashKey(buf) != chain[k] || (k == len(chain)-1 && !last(&cur, a, &next)) {
				continue
			}
			p.Steps = append(p.Steps, Step[S, A]{Action: a, State: next})
			cur, ok = next, true
			break
		}
		if !ok {
			return nil, fmt.Errorf("step %d: no action leads to fingerprint %x", k, chain[k])
		}
	}
	return p, nil
}

// initWith returns the initial state with fingerprint chain[0] (which
// satisfies last when the chain ends there), and the key buffer.
func (r *run[S, A]) initWith(chain []uint64, last func(before *S, a A, after *S) bool) (S, []byte, error) {
	var buf []byte
	inits := r.m.Init()
	for i := range inits {
		buf = r.key(buf[:0], &inits[i])
		if hashKey(buf) == chain[0] && (len(chain) > 1 || last(nil, *new(A), &inits[i])) {
			return inits[i], buf, nil
		}
	}
	var zero S
	return zero, buf, fmt.Errorf("no initial state has fingerprint %x", chain[0])
}
