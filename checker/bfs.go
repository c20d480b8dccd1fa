package checker

import (
	"encoding/binary"
	"fmt"
)

// The breadth-first search is level-synchronous, so that its results do
// not depend on the number of workers. Within a level:
//
//   - Expand (parallel): workers take units of the frontier in order and
//     compute every successor; each is checked against the transition
//     properties, and, if its fingerprint is not in the visited set,
//     against the invariants and goals, and kept as a candidate.
//   - Insert (in unit order): as soon as a unit and all units before it are
//     expanded, the worker that completed that prefix inserts the unit's
//     candidates into the visited set, so the first occurrence of a state
//     in the global order is the one marked new; new states get
//     consecutive ids, their parent links go to the parent file and their
//     encodings to the next frontier. With one worker, expansion inserts
//     at once, while the slot is in cache. Workers run at most
//     aheadPerWorker units per worker ahead of the insertion, and stop
//     fetching units once a violation, the time limit or an error has
//     ended the level.
//
// The visited-set lookups of the expand phase run while units are being
// inserted, so they may or may not see the newest fingerprints; that only
// decides whether a state already known is kept as a redundant candidate
// (and its invariants checked again), never which state is new. A state
// that violates an invariant is never inserted, so every unit finds the
// same first violation whatever the timing.
//
// The first violation in the global order is the one reported; its path is
// a shortest one, because levels are explored in order. The counts reported
// with it cover exactly the units up to it (the units after it are dropped
// even if some worker expanded them), so they too are independent of the
// number of workers.

// candidates is the output of expanding one unit.
type candidates[S any] struct {
	fps  []uint64
	kind []uint8 // action kind, for coverage
	// With several workers, for insertUnit: the index of each candidate's
	// parent within the unit, and the candidates laid out as frontier
	// items, candidate k's at enc[offs[k]:offs[k+1]].
	parent   []uint32
	offs     []uint32
	enc      []byte
	isNew    []bool
	goals    []goalHit
	viol     *found
	skipped  bool  // not expanded: past a violation, or out of time
	unitBase int64 // id of the unit's first state
	// generated and cov count this unit's work, so that a level cut short
	// by a violation accounts exactly for the units before it, whatever
	// the workers did after.
	generated int64
	cov       Coverage
	// out and recs are the unit's new states and parent records, laid out
	// by insertUnit (with one worker, while expanding); nNew counts them.
	out, recs []byte
	nNew      int
	// states holds the candidates themselves, parallel to fps, when the
	// model has no Decoder.
	states []S
}

// reset empties c for reuse, keeping its arrays.
func (c *candidates[S]) reset(base int64) {
	c.fps, c.parent, c.kind, c.offs, c.enc = c.fps[:0], c.parent[:0], c.kind[:0], c.offs[:0], c.enc[:0]
	c.isNew, c.goals, c.viol, c.skipped, c.unitBase = c.isNew[:0], c.goals[:0], nil, false, base
	c.generated = 0
	c.cov.reset()
	c.out, c.recs, c.nNew = c.out[:0], c.recs[:0], 0
	clear(c.states) // drops references into the model's memory
	c.states = c.states[:0]
}

type goalHit struct {
	goal int
	hit  hit
}

// worker is one goroutine's scratch space.
type worker[S, A any] struct {
	props     Properties[S, A]
	sc        stepChecker[S, A] // checks against props
	next      S                 // DFS and random walks
	acts      []A
	key       []byte
	cov       Coverage // DFS only; BFS counts per unit
	generated int64    // not yet added to run.generated
	// The batch of frontier states being expanded (BFS), their actions and
	// successors, the successors' keys (concatenated), fingerprints and
	// whether the visited set holds them.
	items    [][]byte // the batch's frontier states, encoded
	curs     []S      // and decoded
	actOff   []int32  // state i's actions are acts[actOff[i]:actOff[i+1]]
	kinds    []uint8  // ActionKind of each action
	succ     []S      // successor by acts[k] is succ[k]
	fired    []int32  // index in acts of each successor
	firedOff []int32  // state i's successors are fired[firedOff[i]:firedOff[i+1]]
	keys     []byte
	keyOffs  []uint32
	fps      []uint64
	seen     []bool
	// local holds the fingerprints of the unit's candidates, so several
	// workers drop duplicates within a unit before insertUnit.
	local localSet
	sink  uint64 // keeps fpSet.touch from being optimised away
}

func (r *run[S, A]) newWorker() *worker[S, A] {
	w := &worker[S, A]{props: r.props(), cov: newCoverage(r.kinds)}
	w.sc = stepChecker[S, A]{props: &w.props, con: r.con}
	return w
}

func (r *run[S, A]) bfs() error {
	level, base, err := r.startBFS()
	if err != nil || level == nil {
		return err
	}
	defer func() { r.res.Generated = r.generated.Load() }()
	for level.count > 0 {
		r.distinct.Store(r.table.len())
		r.depth.Store(int64(r.res.Depth))
		r.queue.Store(level.count)
		if limit := r.levelLimit(); limit != "" {
			r.res.Stopped = limit
			level.close()
			return nil
		}
		// The level will add about as many states as the last one did:
		// grow the shards that this would fill now, on every worker, rather
		// than one by one in the middle of the in-order insertion.
		r.table.growFor(level.count, r.workers)
		r.maybeSplit(level)
		st := r.startOfLevel(level, base)
		if err := r.maybeCheckpoint(st, false); err != nil {
			level.close()
			return err
		}
		next, viol, stopped, err := r.expandLevel(level, base)
		if err == nil && stopped && viol == nil {
			// A run cut short resumes at the start of the level it was in.
			err = r.maybeCheckpoint(st, true)
		}
		level.close()
		switch {
		case err != nil:
			return err
		case viol != nil:
			r.res.Generated = r.generated.Load()
			return r.violation(viol)
		case stopped:
			r.res.Stopped = r.stopReason()
			return nil
		}
		base += level.count
		if next.count > 0 {
			r.res.Depth++
		}
		level = next
	}
	r.res.Complete = true
	return nil
}

// startBFS returns the first level to expand and the id of its first
// state: the initial states, or the level a checkpoint was taken at (nil
// after a violation in the initial states).
func (r *run[S, A]) startBFS() (*frontier, int64, error) {
	if r.opts.Resume {
		return r.resume()
	}
	level, err := r.firstLevel()
	if err != nil || level == nil {
		return nil, 0, err
	}
	r.res.Depth = 1
	r.levelGenerated = r.generated.Load()
	return level, 0, nil
}

// levelLimit returns the limit that stops the search before the next
// level, or "".
func (r *run[S, A]) levelLimit() string {
	if r.opts.MaxDepth > 0 && r.res.Depth >= r.opts.MaxDepth {
		return "max-depth"
	}
	if r.opts.MaxStates > 0 && r.table.len() >= r.opts.MaxStates {
		return "max-states"
	}
	return ""
}

// firstLevel opens the parent file and returns level 1, the initial
// states; it returns nil after a violation (then in the result).
func (r *run[S, A]) firstLevel() (*frontier, error) {
	var err error
	if r.parents, err = newRecords(r.opts.TempDir); err != nil {
		return nil, err
	}
	level := r.newLevel()
	w0 := r.newWorker()
	for _, s := range r.m.Init() {
		r.generated.Add(1)
		w0.key = r.key(w0.key[:0], &s)
		fp := hashKey(w0.key)
		out := w0.sc.check(nil, *new(A), &s, r.table.contains(fp), r.unreached())
		for _, g := range w0.sc.hits {
			if r.goalHit[g] == nil { // goals from 63 on share a bit of the mask
				r.goalHit[g] = &hit{parent: noParent, fp: fp}
			}
		}
		if out == stepViolation {
			r.res.Generated = r.generated.Load()
			level.close()
			return nil, r.violation(w0.sc.violation(noParent, fp))
		}
		if out != stepNew {
			continue
		}
		r.table.insert(fp)
		if err := r.parents.add(fp, noParent); err != nil {
			return nil, err
		}
		if err := r.addInit(level, w0.key, &s); err != nil {
			return nil, err
		}
	}
	return level, nil
}

// newLevel returns the search's first frontier level, empty, with the
// memory budget of Options.FrontierMemory (1 GiB by default) and the
// block pool sized to it; later levels take the budget from their
// predecessor.
func (r *run[S, A]) newLevel() *frontier {
	budget := r.opts.FrontierMemory
	if budget <= 0 {
		budget = 1 << 30
	}
	r.blocks.max = int(budget / blockSize)
	return newFrontier(r.opts.TempDir, budget, &r.blocks)
}

// addInit adds an initial state to the first level: its encoding, or
// without a Decoder the state itself.
func (r *run[S, A]) addInit(level *frontier, enc []byte, s *S) error {
	if r.dec == nil {
		r.nextStates = append(r.nextStates, *s)
		enc = nil
	}
	return level.add(enc)
}

// startLevel makes the states found by the last level, held without a
// Decoder, the ones to expand; base is the id of the first.
func (r *run[S, A]) startLevel(base int64) {
	if r.dec == nil {
		clear(r.levelStates)
		r.levelStates, r.nextStates = r.nextStates, r.levelStates[:0]
		r.levelBase = base
	}
}

// levelStats is what the units of a level report as they are inserted,
// in unit order, up to and including the first one with a violation.
type levelStats struct {
	generated int64
	viol      *found
	goals     []*hit // the first hit of each goal in the level
}

// expandLevel expands one level and returns the next, or the first
// violation, or stopped when the time limit cut the level short.
func (r *run[S, A]) expandLevel(level *frontier, base int64) (next *frontier, viol *found, stopped bool, err error) {
	next = newFrontier(r.opts.TempDir, level.budget, &r.blocks)
	r.startLevel(base)
	r.lv.generated, r.lv.viol = 0, nil
	r.lv.goals = grow(r.lv.goals, len(r.goalHit))
	clear(r.lv.goals)
	stopped, err = r.expandPhase(level, base, next)
	if err != nil {
		next.close()
		return nil, nil, false, err
	}
	r.levelGenerated += r.lv.generated
	r.generated.Store(r.levelGenerated)
	viol = r.lv.viol
	if viol == nil && stopped {
		next.close()
		return nil, nil, true, nil
	}
	for g, h := range r.lv.goals {
		if h != nil && r.goalHit[g] == nil {
			r.goalHit[g] = h
		}
	}
	if viol != nil {
		// The path is rebuilt from the violation's parent, already on file.
		next.close()
		return nil, viol, false, nil
	}
	return next, nil, false, nil
}

// grow returns s resized to n elements, reusing its array when it can.
func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}

// expandUnit computes the successors of every state of u into c.
func (r *run[S, A]) expandUnit(w *worker[S, A], u unit, c *candidates[S]) error {
	// Only goals not reached before this level are looked for (goalHit is
	// written between levels), and not those already hit in this unit;
	// once all are reached the checks vanish.
	want := r.unreached()
	w.local.reset()
	rest := u.data
	for g0 := 0; g0 < u.n; g0 += batchStates {
		items := w.items[:0]
		for range min(batchStates, u.n-g0) {
			var item []byte
			item, rest = nextItem(rest)
			items = append(items, item)
		}
		w.items = items
		if err := r.successors(w, items, u.base+int64(g0)); err != nil {
			return err
		}
		// All the lookups of the batch together: they are independent
		// loads from a large table, and issued together (touch) their cache
		// and TLB misses overlap instead of being paid one after another.
		w.seen = grow(w.seen, len(w.fps))
		w.sink += r.table.touch(w.fps)
		for j, fp := range w.fps {
			w.seen[j] = r.table.contains(fp)
		}
		if r.checkBatch(w, c, uint64(g0), &want) {
			break
		}
	}
	c.offs = append(c.offs, uint32(len(c.enc)))
	c.isNew = grow(c.isNew, len(c.fps))
	for k := range c.isNew {
		// One worker inserted them already, and kept only new states.
		c.isNew[k] = r.workers == 1
	}
	r.generated.Add(w.generated)
	w.generated = 0
	return nil
}

// batchStates is the number of frontier states whose successors are
// computed before their visited-set lookups are issued together.
const batchStates = 16

// successors decodes the states of items into w.curs (without a Decoder,
// copies the level's states first .. first+len(items)-1) and computes
// every successor, its key and fingerprint. Successors are numbered in order of
// parent then action: state i's are j in firedOff[i] .. firedOff[i+1]-1,
// reached by acts[fired[j]] into succ[fired[j]].
func (r *run[S, A]) successors(w *worker[S, A], items [][]byte, first int64) error {
	w.curs = grow(w.curs, len(items))
	w.actOff = append(w.actOff[:0], 0)
	w.acts = w.acts[:0]
	for i, item := range items {
		if r.dec == nil {
			w.curs[i] = r.levelStates[first+int64(i)-r.levelBase]
		} else if err := r.dec.Decode(item, &w.curs[i]); err != nil {
			return fmt.Errorf("decoding a frontier state: %w", err)
		}
		if !r.otherShard(item) {
			w.acts = r.m.Actions(&w.curs[i], w.acts)
		}
		w.actOff = append(w.actOff, int32(len(w.acts)))
	}
	w.kinds = grow(w.kinds, len(w.acts))
	for k, a := range w.acts {
		w.kinds[k] = uint8(r.kindOf(a))
	}
	w.succ = grow(w.succ, len(w.acts))
	w.fired = w.fired[:0]
	w.firedOff = append(w.firedOff[:0], 0)
	w.keys, w.keyOffs, w.fps = w.keys[:0], w.keyOffs[:0], w.fps[:0]
	for i := range items {
		for k := w.actOff[i]; k < w.actOff[i+1]; k++ {
			if !r.m.Next(&w.curs[i], w.acts[k], &w.succ[k]) {
				continue
			}
			w.fired = append(w.fired, k)
			w.keyOffs = append(w.keyOffs, uint32(len(w.keys)))
			w.keys = r.key(w.keys, &w.succ[k])
			w.fps = append(w.fps, hashKey(w.keys[w.keyOffs[len(w.keyOffs)-1]:]))
		}
		w.firedOff = append(w.firedOff, int32(len(w.fired)))
	}
	w.keyOffs = append(w.keyOffs, uint32(len(w.keys)))
	return nil
}

// checkBatch checks the successors computed by successors, state by
// state, and keeps the candidates in c. first is the index within the unit
// of the batch's first state, want the goals still looked for in the unit.
// It reports a violation, which ends the unit: the counts then cover the
// states up to the violating one (all its successors), exactly as if the
// unit were expanded one state at a time.
func (r *run[S, A]) checkBatch(w *worker[S, A], c *candidates[S], first uint64, want *goalMask) bool {
	for i := 0; i+1 < len(w.actOff); i++ {
		parent := uint64(c.unitBase) + first + uint64(i)
		w.countState(c, i)
		for j := w.firedOff[i]; j < w.firedOff[i+1]; j++ {
			// Known already, or earlier in this unit: insertUnit would not
			// mark it new either.
			known := w.seen[j] || (r.workers > 1 && !w.local.add(w.fps[j]))
			next := &w.succ[w.fired[j]]
			out := w.sc.check(&w.curs[i], w.acts[w.fired[j]], next, known, *want)
			for _, g := range w.sc.hits {
				*want = want.done(g)
				c.goals = append(c.goals, goalHit{goal: g, hit: hit{parent: parent, fp: w.fps[j]}})
			}
			switch out {
			case stepViolation:
				c.viol = w.sc.violation(parent, w.fps[j])
				return true
			case stepNew:
				r.keep(w, c, j, parent, uint32(first)+uint32(i))
			}
		}
	}
	return false
}

// countState counts the actions of state i of the batch in c's coverage
// and the generated states.
func (w *worker[S, A]) countState(c *candidates[S], i int) {
	for k := w.actOff[i]; k < w.actOff[i+1]; k++ {
		c.cov.Enabled[w.kinds[k]]++
	}
	for _, k := range w.fired[w.firedOff[i]:w.firedOff[i+1]] {
		c.cov.Fired[w.kinds[k]]++
	}
	nfired := int64(w.firedOff[i+1] - w.firedOff[i])
	c.generated += nfired
	w.generated += nfired
}

// keep makes successor j of the batch, reached from the state with id
// parent (index inUnit in the unit), a candidate of c.
func (r *run[S, A]) keep(w *worker[S, A], c *candidates[S], j int32, parent uint64, inUnit uint32) {
	fp := w.fps[j]
	if r.workers == 1 && !r.table.insert(fp) {
		// One worker inserts at once, in the global order itself, while
		// the slot is in cache; insertUnit then only appends.
		return
	}
	c.fps = append(c.fps, fp)
	c.kind = append(c.kind, w.kinds[w.fired[j]])
	enc := w.keys[w.keyOffs[j]:w.keyOffs[j+1]]
	if r.dec == nil {
		// The state itself goes to the next level; its item is empty.
		c.states = append(c.states, w.succ[w.fired[j]])
		enc = nil
	}
	if r.workers == 1 {
		// New for sure: lay it out for insertUnit right away.
		c.addNew(enc, fp, parent)
		return
	}
	c.parent = append(c.parent, inUnit)
	c.offs = append(c.offs, uint32(len(c.enc)))
	c.enc = appendItem(c.enc, enc)
}

// insertBatch is the number of fingerprints whose slots insertUnit loads
// together before inserting them.
const insertBatch = 32

// insertUnit inserts the candidates of one unit into the visited set (with
// one worker, expandUnit did), lays out the new ones and appends them to
// the parent file and next. It runs for one unit at a time, in unit order,
// so the first occurrence of a state in that order is the one marked new,
// whatever the number of workers. Of a violation's unit only the counts
// matter: nothing of it is written.
func (r *run[S, A]) insertUnit(c *candidates[S], next *frontier) error {
	items := c.out
	if r.workers > 1 {
		c.recs, c.nNew = c.recs[:0], 0
		var sink uint64
		for b := 0; b < len(c.fps); b += insertBatch {
			batch := c.fps[b:min(b+insertBatch, len(c.fps))]
			sink += r.table.touch(batch)
			for k, fp := range batch {
				k += b
				if c.isNew[k] = r.table.insert(fp); c.isNew[k] {
					c.addRec(fp, uint64(c.unitBase)+uint64(c.parent[k]))
				}
			}
		}
		r.sink.Add(sink)
		// The candidates are laid out as items already; they need
		// compacting only when some were found earlier in the order.
		items = c.enc
		if c.nNew < len(c.fps) {
			c.out = c.out[:0]
			for k := range c.fps {
				if c.isNew[k] {
					c.out = append(c.out, c.enc[c.offs[k]:c.offs[k+1]]...)
				}
			}
			items = c.out
		}
	}
	r.account(c)
	if c.viol != nil {
		return nil
	}
	for k := range c.states {
		if c.isNew[k] {
			r.nextStates = append(r.nextStates, c.states[k])
		}
	}
	if err := r.parents.addRaw(c.recs, c.nNew); err != nil {
		return err
	}
	return next.addChunk(items, c.nNew)
}

// account adds a unit's counts, coverage, goals and violation to the
// level's (units come in order, so the first hit of a goal wins).
func (r *run[S, A]) account(c *candidates[S]) {
	r.lv.generated += c.generated
	r.res.Coverage.add(&c.cov)
	for k := range c.fps {
		if c.isNew[k] {
			r.res.Coverage.New[c.kind[k]]++
		}
	}
	for _, gh := range c.goals {
		if r.lv.goals[gh.goal] == nil {
			h := gh.hit
			r.lv.goals[gh.goal] = &h
		}
	}
	if c.viol != nil {
		r.lv.viol = c.viol
	}
}

// addNew lays out one new state: its frontier item and parent record.
func (c *candidates[S]) addNew(enc []byte, fp, parent uint64) {
	c.out = appendItem(c.out, enc)
	c.addRec(fp, parent)
}

// addRec adds the parent record of one new state.
func (c *candidates[S]) addRec(fp, parent uint64) {
	c.recs = binary.LittleEndian.AppendUint64(c.recs, fp)
	c.recs = binary.LittleEndian.AppendUint64(c.recs, parent)
	c.nNew++
}

// localSet is a small set of fingerprints, emptied in constant time. When
// it is nearly full it accepts everything (add reports true), which only
// forgoes the saving.
type localSet struct {
	fps  []uint64
	gen  []uint32
	cur  uint32
	size int
}

const localSlots = 1 << 14

func (l *localSet) reset() {
	if l.fps == nil {
		l.fps, l.gen = make([]uint64, localSlots), make([]uint32, localSlots)
	}
	l.cur++
	l.size = 0
}

// add inserts fp and reports whether it was not there.
func (l *localSet) add(fp uint64) bool {
	if l.size >= localSlots*3/4 {
		return true
	}
	for i := int(fp % localSlots); ; i = (i + 1) % localSlots {
		if l.gen[i] != l.cur {
			l.fps[i], l.gen[i] = fp, l.cur
			l.size++
			return true
		}
		if l.fps[i] == fp {
			return false
		}
	}
}
