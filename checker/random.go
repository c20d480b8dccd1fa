package checker

import (
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// walkRound is the number of walks run between two merges of their
// results; results do not depend on the number of workers.
const walkRound = 64

// How a walk ended.
const (
	walkFull        = iota // it took its whole length
	walkDeadlocked         // no action was enabled
	walkConstrained        // it left the state constraint
	walkViolating          // it reached a violation
)

// walkResult is what one random walk found.
type walkResult struct {
	fps       []uint64
	kinds     []int // kinds[i] is the kind of the action that reached fps[i] (-1 for the first state)
	cov       Coverage
	steps     int
	generated int64
	end       int
	viol      *found
	violFP    uint64      // fingerprint of the violating state (invariant) or step's target (transition)
	goals     map[int]int // goal -> number of steps to the first state reaching it
	want      goalMask    // the goals not in goals yet
}

// walkLimits are the bounds of a run of random walks.
type walkLimits struct {
	walks, depth, maxViolations int
}

func (r *run[S, A]) walkLimits() (walkLimits, error) {
	l := walkLimits{walks: r.opts.Walks, depth: r.opts.MaxDepth, maxViolations: max(r.opts.MaxViolations, 1)}
	if l.depth <= 0 {
		l.depth = 100
	}
	if l.walks <= 0 && r.opts.TimeLimit <= 0 && r.opts.MaxStates <= 0 && r.opts.Interrupt == nil {
		return l, errors.New("random walks without a number of walks need a time limit, a state limit or an interrupt to end")
	}
	return l, nil
}

// random runs seeded random walks of at most MaxDepth steps: Walks of
// them, or with Walks 0 until a time limit, MaxStates distinct states or
// an interrupt ends the run. Walk w draws from its own generator seeded
// with (Seed, w), so it is the same walk whatever the workers, and the
// walks' results are merged in walk order; a violation's path is the walk
// up to the violation, rebuilt by replaying it. Distinct violations
// (property and violating state) are collected up to MaxViolations.
func (r *run[S, A]) random() error {
	lim, err := r.walkLimits()
	if err != nil {
		return err
	}
	r.res.Walks = &WalkStats{Lengths: map[int]int{}}
	defer func() { r.generated.Store(r.res.Generated) }()
	workers := make([]*worker[S, A], r.workers)
	for i := range workers {
		workers[i] = r.newWorker()
	}
	seen := map[violationKey]bool{}
	for first := 0; lim.walks <= 0 || first < lim.walks; first += walkRound {
		if reason := r.stopReason(); reason != "" {
			r.res.Stopped = reason
			return nil
		}
		n := walkRound
		if lim.walks > 0 {
			n = min(n, lim.walks-first)
		}
		results := r.runWalks(workers, first, n, lim.depth)
		for k, wr := range results {
			stop, err := r.mergeWalk(workers[0], first+k, wr, seen, lim)
			if err != nil || stop {
				return err
			}
		}
	}
	r.res.Stopped = "walks"
	return nil
}

// runWalks runs walks first..first+n-1 on the workers.
func (r *run[S, A]) runWalks(workers []*worker[S, A], first, n, depth int) []*walkResult {
	results := make([]*walkResult, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1) - 1)
				if k >= n {
					return
				}
				results[k] = r.walk(w, first+k, depth, nil)
			}
		}()
	}
	wg.Wait()
	return results
}

// violationKey identifies a distinct violation of random walks.
type violationKey struct {
	prop string
	fp   uint64
}

// mergeWalk adds walk idx's result to the run's and reports whether the
// run must stop (MaxStates reached, or enough violations collected).
func (r *run[S, A]) mergeWalk(w *worker[S, A], idx int, wr *walkResult, seen map[violationKey]bool, lim walkLimits) (bool, error) {
	st := r.res.Walks
	st.Walks++
	st.Lengths[wr.steps]++
	switch wr.end {
	case walkDeadlocked:
		st.Deadlocked++
	case walkConstrained:
		st.Constrained++
	case walkViolating:
		st.Violating++
	}
	r.res.Generated += wr.generated
	r.res.Coverage.add(&wr.cov)
	r.res.Depth = max(r.res.Depth, wr.steps+1)
	for i, fp := range wr.fps {
		if r.table.insert(fp) && wr.kinds[i] >= 0 {
			r.res.Coverage.New[wr.kinds[i]]++
		}
	}
	r.distinct.Store(r.table.len())
	for g, steps := range wr.goals {
		if r.goalHit[g] == nil {
			p := &Path[S, A]{}
			r.walk(w, idx, steps, p)
			r.goalHit[g] = &hit{path: p}
		}
	}
	if v := wr.viol; v != nil && !seen[violationKey{v.prop, wr.violFP}] {
		seen[violationKey{v.prop, wr.violFP}] = true
		if stop, err := r.walkViolation(w, idx, wr, lim); stop || err != nil {
			return true, err
		}
	}
	if r.opts.MaxStates > 0 && r.table.len() >= r.opts.MaxStates {
		r.res.Stopped = "max-states"
		return true, nil
	}
	return false, nil
}

// walkViolation adds the violation walk idx ended with to the result,
// with its path, and reports whether enough violations are collected.
func (r *run[S, A]) walkViolation(w *worker[S, A], idx int, wr *walkResult, lim walkLimits) (bool, error) {
	p := &Path[S, A]{}
	r.walk(w, idx, wr.steps, p)
	wr.viol.path = p
	viol, err := r.buildViolation(wr.viol)
	if err != nil {
		return true, err
	}
	if r.res.Violation == nil {
		r.res.Violation = viol
	}
	r.res.Violations = append(r.res.Violations, viol)
	if len(r.res.Violations) < lim.maxViolations {
		return false, nil
	}
	r.res.Stopped = "violation"
	if lim.maxViolations > 1 {
		r.res.Stopped = "max-violations"
	}
	return true, nil
}

// walk runs walk number idx for at most maxSteps steps. With record set,
// it only replays the walk into record (no checking, no counting).
func (r *run[S, A]) walk(w *worker[S, A], idx, maxSteps int, record *Path[S, A]) *walkResult {
	rng := rand.New(rand.NewPCG(r.opts.Seed, uint64(idx)))
	inits := r.m.Init()
	wr := &walkResult{cov: newCoverage(r.kinds), goals: map[int]int{}, want: allGoals(len(r.goalHit))}
	cur := inits[rng.IntN(len(inits))]
	if record != nil {
		record.Init = cur
	} else {
		r.count(wr)
		if !r.visit(w, wr, nil, *new(A), &cur, 0, -1) {
			return wr
		}
	}
	for step := 1; step <= maxSteps; step++ {
		w.acts = r.m.Actions(&cur, w.acts[:0])
		if len(w.acts) == 0 {
			wr.end = walkDeadlocked
			break
		}
		a := w.acts[rng.IntN(len(w.acts))]
		if record != nil {
			r.m.Next(&cur, a, &w.next)
			record.Steps = append(record.Steps, Step[S, A]{Action: a, State: w.next})
			cur = w.next
			continue
		}
		for _, b := range w.acts {
			wr.cov.Enabled[r.kindOf(b)]++
		}
		kind := r.kindOf(a)
		if !r.m.Next(&cur, a, &w.next) {
			wr.end = walkDeadlocked
			break
		}
		wr.cov.Fired[kind]++
		r.count(wr)
		wr.steps = step
		prev := cur
		cur = w.next
		if !r.visit(w, wr, &prev, a, &cur, step, kind) {
			return wr
		}
	}
	return wr
}

// count counts one generated state of a walk.
func (r *run[S, A]) count(wr *walkResult) {
	wr.generated++
	r.generated.Add(1)
}

// visit checks the step by which a walk reached s after step steps
// (before nil for its initial state) and records s's fingerprint; it
// reports whether the walk may go on.
func (r *run[S, A]) visit(w *worker[S, A], wr *walkResult, before *S, a A, s *S, step, kind int) bool {
	out := w.sc.check(before, a, s, false, wr.want)
	for _, g := range w.sc.hits {
		if _, ok := wr.goals[g]; !ok {
			wr.goals[g] = step
			wr.want = wr.want.done(g)
		}
	}
	w.key = r.key(w.key[:0], s)
	switch out {
	case stepViolation:
		wr.viol = w.sc.violation(0, 0)
		wr.end, wr.violFP = walkViolating, hashKey(w.key)
		return false
	case stepOutside:
		wr.end = walkConstrained
		return false
	}
	wr.fps = append(wr.fps, hashKey(w.key))
	wr.kinds = append(wr.kinds, kind)
	return true
}
