package checker

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// walkRound is the number of walks run between two merges of their
// results; results do not depend on the number of workers.
const walkRound = 64

// walkResult is what one random walk found.
type walkResult struct {
	fps   []uint64
	kinds []int // kinds[i] is the kind of the action that reached fps[i] (-1 for the first state)
	cov   Coverage
	steps int
	viol  *found
	goals map[int]int // goal -> number of steps to the first state reaching it
}

// random runs opts.Walks seeded random walks of at most opts.MaxDepth
// steps. Walk w draws from its own generator seeded with (Seed, w), so it
// is the same walk whatever the workers; a violation's path is the walk up
// to the violation, rebuilt by replaying it.
func (r *run[S, A]) random() error {
	depth := r.opts.MaxDepth
	if depth <= 0 {
		depth = 100
	}
	walks := r.opts.Walks
	if walks <= 0 {
		walks = 1000
	}
	r.res.Stopped = "walks"
	defer func() { r.res.Generated = r.generated.Load() }()
	workers := make([]*worker[S, A], r.workers)
	for i := range workers {
		workers[i] = r.newWorker()
	}
	for first := 0; first < walks; first += walkRound {
		if r.timeUp() {
			r.res.Stopped = "time-limit"
			return nil
		}
		n := min(walkRound, walks-first)
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
		for k, wr := range results {
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
					r.walk(workers[0], first+k, steps, p)
					r.goalHit[g] = &hit{path: p}
				}
			}
			if wr.viol != nil {
				p := &Path[S, A]{}
				r.walk(workers[0], first+k, wr.steps, p)
				wr.viol.path = p
				r.res.Generated = r.generated.Load()
				return r.violation(wr.viol)
			}
		}
	}
	return nil
}

// walk runs walk number idx for at most maxSteps steps. With record set,
// it only replays the walk into record (no checking, no counting).
func (r *run[S, A]) walk(w *worker[S, A], idx, maxSteps int, record *Path[S, A]) *walkResult {
	rng := rand.New(rand.NewPCG(r.opts.Seed, uint64(idx)))
	inits := r.m.Init()
	wr := &walkResult{cov: newCoverage(r.m.ActionKinds()), goals: map[int]int{}}
	cur := inits[rng.IntN(len(inits))]
	if record != nil {
		record.Init = cur
	} else {
		r.generated.Add(1)
		if !r.visit(w, wr, nil, *new(A), &cur, 0, -1) {
			return wr
		}
	}
	for step := 1; step <= maxSteps; step++ {
		w.acts = r.m.Actions(&cur, w.acts[:0])
		if len(w.acts) == 0 {
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
			wr.cov.Enabled[r.m.ActionKind(b)]++
		}
		kind := r.m.ActionKind(a)
		if !r.m.Next(&cur, a, &w.next) {
			break
		}
		wr.cov.Fired[kind]++
		r.generated.Add(1)
		wr.steps = step
		if k, err := checkTransitions(&w.props, &cur, a, &w.next); err != nil {
			wr.viol = &found{prop: w.props.Transitions[k].Name, kind: TransitionProperty, err: err, index: k}
			return wr
		}
		prev := cur
		cur = w.next
		if !r.visit(w, wr, &prev, a, &cur, step, kind) {
			return wr
		}
	}
	return wr
}

// visit checks the state a walk reached after step steps and records its
// fingerprint; it reports whether the walk may go on.
func (r *run[S, A]) visit(w *worker[S, A], wr *walkResult, before *S, a A, s *S, step, kind int) bool {
	if k, err := checkInvariants(&w.props, s); err != nil {
		wr.viol = &found{prop: w.props.Invariants[k].Name, kind: InvariantProperty, err: err, index: k}
		return false
	}
	for g := range w.props.Goals {
		if _, ok := wr.goals[g]; !ok && w.props.Goals[g].reachedBy(before, a, s) {
			wr.goals[g] = step
		}
	}
	if !r.within(s) {
		return false
	}
	w.key = r.key(w.key[:0], s)
	wr.fps = append(wr.fps, hashKey(w.key))
	wr.kinds = append(wr.kinds, kind)
	return true
}
