package checker

import "fmt"

// checkLiveness checks the liveness properties once a search is complete
// without a safety violation. It explores the reachable states again,
// breadth-first on one goroutine, into an lgraph, then for each property
// From ~> To (From the initial states for "eventually"):
//
//  1. seeds: the nodes satisfying From but not To;
//  2. the nodes reachable from a seed through nodes not satisfying To,
//     breadth-first, each seed entering at its own depth, so that the
//     first node found of a kind has a shortest stem from an initial state;
//  3. the fair components of that subgraph (sccSearch);
//  4. the first node found that ends a fair behaviour: one in a fair
//     component, or one in which no fairness set of the property is
//     enabled, where the behaviour may stutter forever (a deadlock is
//     such a node).
//
// The graph is over concrete states unless Options.Symmetry is on and
// every property is Symmetric: fairness of a set of one server's actions
// is not preserved by permuting the servers, so the quotient graph would
// be unsound for it. With symmetric properties it is sound: a fair cycle
// of classes lifts to a path of the model that takes the same fairness
// sets and meets the same enabled ones, and a concrete fair cycle maps to
// a fair cycle of classes. The lifted path may end in another member of
// the class it started in; lasso unrolls it until a member repeats,
// which takes at most the size of the class. One goroutine builds the
// graph in a fixed order, so the verdicts and lassos do not depend on the
// number of workers.
func (r *run[S, A]) checkLiveness() error {
	live := r.props0.Liveness
	sets, err := validateLiveness(live)
	if err != nil {
		return err
	}
	for _, l := range live {
		r.res.Liveness = append(r.res.Liveness, LivenessResult[S, A]{Name: l.Name})
	}
	if !r.res.Complete || r.res.Violation != nil {
		return nil
	}
	r.liveSets = sets
	g, err := r.buildGraph(sets, r.quotient())
	if err != nil || g == nil {
		if g == nil && err == nil {
			r.res.Complete, r.res.Stopped = false, r.stopReason()
		}
		return err
	}
	s := newSCCSearch(g)
	bit := 0
	for k, l := range live {
		fm, strong := fairnessBits(l.Fairness, bit)
		bit += len(l.Fairness)
		v, err := r.checkProperty(g, s, k, fm, strong)
		if err != nil {
			return fmt.Errorf("liveness property %s: %w", l.Name, err)
		}
		lr := &r.res.Liveness[k]
		lr.Checked, lr.Holds, lr.Violation = true, v == nil, v
		lr.States, lr.Edges = int64(len(g.fp)), int64(len(g.to))
		if v != nil && r.res.Violation == nil {
			r.res.Violation, r.res.Violations = v, []*Violation[S, A]{v}
		}
	}
	return nil
}

// fairnessBits returns the mask of the fairness sets fair, numbered from
// first on, and that of the strong ones among them.
func fairnessBits[A any](fair []Fairness[A], first int) (all, strong uint64) {
	for j, f := range fair {
		all |= 1 << (first + j)
		if f.Strong {
			strong |= 1 << (first + j)
		}
	}
	return all, strong
}

// quotient reports whether the liveness graph is over symmetry classes.
func (r *run[S, A]) quotient() bool {
	for _, l := range r.props0.Liveness {
		if !l.Symmetric {
			return false
		}
	}
	return r.sym != nil
}

// checkProperty checks property k, whose fairness sets are fm (strong
// those of strong), and returns its lasso if it fails.
func (r *run[S, A]) checkProperty(g *lgraph, s *sccSearch, k int, fm, strong uint64) (*Violation[S, A], error) {
	leadsTo := r.props0.Liveness[k].From != nil
	order := reachAvoiding(g, k, leadsTo, s.rpar)
	if len(order) == 0 {
		return nil, nil
	}
	s.fairComponents(order, fm, strong)
	for _, n := range order {
		stutter := g.enabled[n]&fm == 0
		if _, fair := s.fair[s.comp[n]]; !stutter && !fair {
			continue
		}
		var l lassoEdges
		l.stem, l.root, l.seed = stemTo(g, s.rpar, n)
		if !stutter {
			l.cycle = s.cycle(n, fm, strong)
		}
		return r.lasso(g, k, &l)
	}
	return nil, nil
}

// reachAvoiding returns the nodes reachable from a seed of property k
// through nodes not satisfying its To, in breadth-first order where each
// seed enters at its own depth; it records in rpar the edge that reached
// each (noEdge for a seed).
func reachAvoiding(g *lgraph, k int, leadsTo bool, rpar []uint32) (order []uint32) {
	var seeds []uint32 // in id order, so by depth
	last := uint32(len(g.fp))
	if !leadsTo {
		last = uint32(len(g.init))
	}
	for n := uint32(0); n < last; n++ {
		if (!leadsTo || g.from(n, k)) && !g.goal(n, k) {
			seeds = append(seeds, n)
		}
	}
	for i := range rpar {
		rpar[i] = unseen
	}
	var cur, next []uint32
	for d, si := 0, 0; si < len(seeds) || len(cur) > 0; d++ {
		for ; si < len(seeds) && g.depth(seeds[si]) <= d; si++ {
			if rpar[seeds[si]] == unseen {
				rpar[seeds[si]] = noEdge
				cur, order = append(cur, seeds[si]), append(order, seeds[si])
			}
		}
		next = next[:0]
		for _, n := range cur {
			for e := g.off[n]; e < g.off[n+1]; e++ {
				w := g.to[e]
				if rpar[w] == unseen && !g.goal(w, k) {
					rpar[w] = e
					next, order = append(next, w), append(order, w)
				}
			}
		}
		cur, next = next, cur
	}
	return order
}

// unseen marks a node reachAvoiding has not reached.
const unseen = noEdge - 1

// lassoEdges is a lasso in the graph: the stem from the initial node root
// (whose step seed reaches the seed), then the cycle.
type lassoEdges struct {
	stem, cycle []uint32
	root        uint32
	seed        int
}

// stemTo returns the edges of the stem to n (the tree path from an initial
// state to the seed n was reached from, then the path from that seed), its
// initial node and the step reaching the seed.
func stemTo(g *lgraph, rpar []uint32, n uint32) (stem []uint32, root uint32, seed int) {
	var rev []uint32
	for e := rpar[n]; e != noEdge; e = rpar[n] {
		rev = append(rev, e)
		n = g.src(e)
	}
	after := len(rev)
	for e := g.tree[n]; e != noEdge; e = g.tree[n] {
		rev = append(rev, e)
		n = g.src(e)
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev, n, len(rev) - after
}

// lasso replays l from its initial state into a violation of property k.
func (r *run[S, A]) lasso(g *lgraph, k int, l *lassoEdges) (*Violation[S, A], error) {
	prop := r.props0.Liveness[k]
	v := &Violation[S, A]{Property: prop.Name, Kind: LivenessProperty, Loop: len(l.cycle)}
	v.Path.Init = r.m.Init()[g.init[l.root]]
	if err := r.replay(g, &v.Path, append(l.stem, l.cycle...)); err != nil {
		return nil, err
	}
	if g.quotient && len(l.cycle) > 0 {
		if err := r.unroll(g, v, l.cycle); err != nil {
			return nil, err
		}
	}
	v.Err = explainLasso(prop.From != nil, v.Path.Len()-v.Loop, v.Loop, l.seed)
	return v, nil
}

// maxUnroll bounds how often unroll repeats a cycle of classes: the size
// of a class, which the model's symmetry group bounds.
const maxUnroll = 1 << 12

// unroll repeats the cycle of classes at the end of v.Path until the path
// returns to a concrete state it started a repetition in, and makes the
// repetitions from that one on the lasso's cycle.
func (r *run[S, A]) unroll(g *lgraph, v *Violation[S, A], cycle []uint32) error {
	starts := map[string]int{} // concrete state -> the step where a repetition starts there
	stateAt := func(i int) *S {
		if i == 0 {
			return &v.Path.Init
		}
		return &v.Path.Steps[i-1].State
	}
	first := v.Path.Len() - len(cycle)
	for rep := 0; rep < maxUnroll; rep++ {
		starts[string(r.m.Encode(nil, stateAt(first+rep*len(cycle))))] = first + rep*len(cycle)
		if at, ok := starts[string(r.m.Encode(nil, v.Path.Last()))]; ok {
			v.Loop = v.Path.Len() - at
			return nil
		}
		if err := r.replay(g, &v.Path, cycle); err != nil {
			return err
		}
	}
	return fmt.Errorf("the cycle of classes does not close on a concrete state in %d repetitions (is Canonical a symmetry of the model?)", maxUnroll)
}

// explainLasso says how a lasso violates its property.
func explainLasso(leadsTo bool, stem, cycle, seed int) error {
	how := fmt.Sprintf("the behaviour stops at step %d and stutters there forever", stem)
	if cycle > 0 {
		how = fmt.Sprintf("from step %d on the behaviour repeats a fair cycle of length %d forever", stem, cycle)
	}
	if leadsTo {
		return fmt.Errorf("the state at step %d satisfies the trigger and no later state the goal: %s", seed, how)
	}
	return fmt.Errorf("no state of a fair behaviour satisfies the goal: %s", how)
}

// replay appends to p the steps along edges, from p.Init, checking each
// state's fingerprint against the graph's.
func (r *run[S, A]) replay(g *lgraph, p *Path[S, A], edges []uint32) error {
	cur := *p.Last()
	var acts []A
	for i, e := range edges {
		acts = r.m.Actions(&cur, acts[:0])
		var next S
		k := r.stepAlong(g, &cur, acts, e, &next)
		if k < 0 {
			return fmt.Errorf("replaying the lasso: no action of step %d reaches the state of the graph (is the model deterministic?)", i+1)
		}
		p.Steps = append(p.Steps, Step[S, A]{Action: acts[k], State: next})
		cur = next
	}
	return nil
}

// stepAlong returns the index in acts of the action that follows edge e
// from cur, whose successor it writes into next, or -1. Over concrete
// states that is the edge's own action; over classes cur may be another
// member of the class than the one expanded, so it is the first action
// that reaches the edge's target class and takes the same fairness sets.
func (r *run[S, A]) stepAlong(g *lgraph, cur *S, acts []A, e uint32, next *S) int {
	var buf []byte
	for k, a := range acts {
		if !g.quotient && k != int(g.act[e]) {
			continue
		}
		if !r.m.Next(cur, a, next) {
			continue
		}
		if buf = r.liveKey(g, buf[:0], next); hashKey(buf) != g.fp[g.to[e]] {
			continue
		}
		if !g.quotient || setsOf(r.liveSets, a) == g.masks[g.emask[e]] {
			return k
		}
	}
	return -1
}
