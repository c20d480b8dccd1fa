package checker

import (
	"sync"
	"sync/atomic"
)

// aheadPerWorker bounds how many units the workers may expand beyond the
// next one to insert, per worker, so that candidates waiting for their
// turn take little memory.
const aheadPerWorker = 8

// scheduler runs the expand and insert phases of one BFS level (see the
// comment at the top of bfs.go): it hands the units of the level out to
// the workers in order and inserts their candidates in that same order.
type scheduler[S, A any] struct {
	r     *run[S, A]
	level *frontier
	next  *frontier

	mu        sync.Mutex // guards everything below but the atomics
	wake      *sync.Cond // signalled when ins advances or the level ends
	pending   []unit     // units split off a block, not handed out yet
	nextBlock int        // the next block of level to split
	nextIndex int        // index of the first unit not yet split off
	blockBase int64      // id of the first state of block nextBlock
	outs      []*candidates[S]
	// Units are inserted in order, each as soon as it and all before it
	// are expanded, by the worker that completes that prefix: inserting
	// says one is at it, ins is the next unit to insert, and insDone that
	// a violation, a unit skipped for the time limit or an error ended
	// the insertion, and with it the level.
	inserting, insDone bool
	ins                int
	firstErr           error

	violUnit atomic.Int64 // lowest unit index with a violation
	stopped  atomic.Bool  // the time limit or an interrupt cut the level
}

// expandPhase expands the units of level on every worker and inserts
// their candidates, in unit order, into the visited set, the parent file
// and next, accounting for them in r.lv. It reports whether the time
// limit or an interrupt cut the level short.
func (r *run[S, A]) expandPhase(level *frontier, base int64, next *frontier) (bool, error) {
	sc := &scheduler[S, A]{r: r, level: level, next: next, blockBase: base}
	sc.wake = sync.NewCond(&sc.mu)
	sc.violUnit.Store(1 << 62)
	for len(r.bfsWorkers) < r.workers {
		r.bfsWorkers = append(r.bfsWorkers, r.newWorker())
	}
	var wg sync.WaitGroup
	for _, w := range r.bfsWorkers[:r.workers] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc.work(w)
		}()
	}
	wg.Wait()
	for _, c := range sc.outs {
		if c != nil { // expanded after the end of the insertion
			r.spare = append(r.spare, c)
		}
	}
	return sc.stopped.Load(), sc.firstErr
}

// work is one worker's loop: fetch a unit, expand it, publish it.
func (sc *scheduler[S, A]) work(w *worker[S, A]) {
	for {
		u, ok := sc.fetch()
		if !ok {
			return
		}
		c := sc.candidates(u.base)
		switch {
		case int64(u.index) > sc.violUnit.Load() || sc.stopped.Load():
			c.skipped = true
		case sc.r.timeUp():
			sc.stopped.Store(true)
			c.skipped = true
		default:
			if err := sc.r.expandUnit(w, u, c); err != nil {
				sc.mu.Lock()
				sc.fail(err)
				sc.mu.Unlock()
				return
			}
		}
		if c.viol != nil {
			sc.markViolation(u.index)
		}
		sc.publish(u.index, c)
	}
}

// candidates returns an empty set of candidates for the unit whose first
// state has id base, reusing one already inserted if it can.
func (sc *scheduler[S, A]) candidates(base int64) *candidates[S] {
	r := sc.r
	sc.mu.Lock()
	var c *candidates[S]
	if n := len(r.spare); n > 0 {
		c, r.spare = r.spare[n-1], r.spare[:n-1]
	} else {
		c = &candidates[S]{cov: newCoverage(r.kinds)}
	}
	sc.mu.Unlock()
	c.reset(base)
	return c
}

// markViolation lowers violUnit to unit u, which has a violation, so that
// no unit after it is expanded any more.
func (sc *scheduler[S, A]) markViolation(u int) {
	for cur := sc.violUnit.Load(); int64(u) < cur && !sc.violUnit.CompareAndSwap(cur, int64(u)); {
		cur = sc.violUnit.Load()
	}
}

// fail records err and ends the level; mu is held.
func (sc *scheduler[S, A]) fail(err error) {
	if sc.firstErr == nil {
		sc.firstErr = err
	}
	sc.insDone = true
	sc.wake.Broadcast()
}

// fetch hands out the next unit, waiting while the workers are too far
// ahead of the insertion; ok is false once there is nothing (more) worth
// expanding.
func (sc *scheduler[S, A]) fetch() (u unit, ok bool) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for {
		if sc.insDone || sc.stopped.Load() {
			return unit{}, false
		}
		idx := sc.nextIndex
		if len(sc.pending) > 0 {
			idx = sc.pending[0].index
		}
		if int64(idx) > sc.violUnit.Load() {
			return unit{}, false
		}
		if idx-sc.ins >= aheadPerWorker*sc.r.workers {
			// The unit ins is held by a worker that will publish it.
			sc.wake.Wait()
			continue
		}
		if len(sc.pending) > 0 {
			u, sc.pending = sc.pending[0], sc.pending[1:]
			return u, true
		}
		if sc.nextBlock == len(sc.level.blocks) || !sc.splitBlock() {
			return unit{}, false
		}
	}
}

// splitBlock splits the next block of the level into pending units; mu
// is held. It reports false after an error, which ends the level.
func (sc *scheduler[S, A]) splitBlock() bool {
	b := sc.level.blocks[sc.nextBlock]
	data, err := sc.level.load(sc.nextBlock)
	if err == nil {
		sc.pending, err = splitUnits(sc.pending, data, b.n, sc.blockBase, sc.nextIndex)
	}
	if err != nil {
		sc.fail(err)
		return false
	}
	sc.nextIndex += len(sc.pending)
	sc.blockBase += int64(b.n)
	sc.nextBlock++
	return true
}

// publish hands in the expanded unit u and, unless another worker is at
// it, inserts every unit of the expanded prefix.
func (sc *scheduler[S, A]) publish(u int, c *candidates[S]) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for len(sc.outs) <= u {
		sc.outs = append(sc.outs, nil)
	}
	sc.outs[u] = c
	if sc.inserting {
		return
	}
	sc.inserting = true
	for !sc.insDone && sc.ins < len(sc.outs) && sc.outs[sc.ins] != nil {
		sc.insertNext()
	}
	if sc.insDone {
		sc.wake.Broadcast() // waiting workers have nothing more to do
	}
	sc.inserting = false
}

// insertNext inserts unit ins, releasing mu meanwhile (inserting keeps the
// other workers out), and moves on to the next.
func (sc *scheduler[S, A]) insertNext() {
	c := sc.outs[sc.ins]
	if c.skipped {
		sc.insDone = true
		return
	}
	sc.mu.Unlock()
	err := sc.r.insertUnit(c, sc.next)
	sc.mu.Lock()
	if err != nil {
		sc.fail(err)
	}
	sc.insDone = sc.insDone || c.viol != nil
	// Reused at once, while its buffers are in cache.
	sc.outs[sc.ins] = nil
	sc.r.spare = append(sc.r.spare, c)
	sc.ins++
	sc.wake.Broadcast()
}
