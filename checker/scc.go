package checker

// sccSearch finds the fair strongly connected components of subgraphs of
// an lgraph with Tarjan's algorithm, iteratively (an explicit call stack:
// the graphs have millions of nodes). Its arrays are indexed by node and
// reused from subgraph to subgraph; a subgraph is the set of nodes whose
// stamp is the current one.
type sccSearch struct {
	g          *lgraph
	stamp      []uint32
	cur        uint32
	index, low []uint32 // Tarjan's; index 0: not visited yet
	onStack    []bool
	stack      []uint32
	calls      []sccCall
	comp       []uint32 // the component last found for each node
	ncomp      uint32
	// fair lists the nodes of each fair component found, by component.
	fair map[uint32][]uint32
	rpar []uint32 // for reachAvoiding
}

// sccCall is a frame of the explicit call stack: a node and its next edge.
type sccCall struct{ n, e uint32 }

func newSCCSearch(g *lgraph) *sccSearch {
	n := len(g.fp)
	return &sccSearch{g: g, stamp: make([]uint32, n), index: make([]uint32, n), low: make([]uint32, n),
		onStack: make([]bool, n), comp: make([]uint32, n), rpar: make([]uint32, n)}
}

// fairComponents finds, within nodes, the components in which a cycle is
// fair for the fairness sets of mask fm (strong those of strong too), and
// records them in s.fair. A component with a strong set enabled in some
// node but taken by none of its edges has no fair cycle through those
// nodes: they are removed and the rest searched again (the standard
// refinement for strong fairness). Weak fairness needs no refinement: a
// component is fair for a weak set when one of its edges takes it or one
// of its nodes disables it, as a cycle through all of it then shows.
func (s *sccSearch) fairComponents(nodes []uint32, fm, strong uint64) {
	s.fair = map[uint32][]uint32{}
	work := [][]uint32{nodes}
	for len(work) > 0 {
		sub := work[len(work)-1]
		work = work[:len(work)-1]
		s.tarjan(sub, func(scc []uint32) {
			rest, fair := s.classify(scc, fm, strong)
			switch {
			case fair:
				s.fair[s.ncomp] = append([]uint32(nil), scc...)
			case len(rest) > 0:
				work = append(work, rest)
			}
		})
	}
}

// classify numbers the component scc and reports whether it is fair, or
// else the nodes left once those enabling an untaken strong set are
// removed (nil when that is none or all of them).
func (s *sccSearch) classify(scc []uint32, fm, strong uint64) (rest []uint32, fair bool) {
	g := s.g
	s.ncomp++
	for _, n := range scc {
		s.comp[n] = s.ncomp
	}
	some, all, taken, cycle := uint64(0), ^uint64(0), uint64(0), false
	for _, n := range scc {
		some |= g.enabled[n]
		all &= g.enabled[n]
		for e := g.off[n]; e < g.off[n+1]; e++ {
			if s.comp[g.to[e]] == s.ncomp {
				cycle = true
				taken |= g.masks[g.emask[e]]
			}
		}
	}
	if !cycle {
		return nil, false // a single node without a self-loop
	}
	if bad := some & strong & fm &^ taken; bad != 0 {
		for _, n := range scc {
			if g.enabled[n]&bad == 0 {
				rest = append(rest, n)
			}
		}
		return rest, false
	}
	return nil, all&fm&^strong&^taken == 0
}

// tarjan calls emit with each strongly connected component of the
// subgraph of nodes (emit must not keep the slice).
func (s *sccSearch) tarjan(nodes []uint32, emit func(scc []uint32)) {
	s.cur++
	for _, n := range nodes {
		s.stamp[n], s.index[n] = s.cur, 0
	}
	var counter uint32
	for _, root := range nodes {
		if s.index[root] != 0 {
			continue
		}
		s.visit(root, &counter)
		for len(s.calls) > 0 {
			s.advance(&counter, emit)
		}
	}
}

// visit starts node n: numbers it and pushes it.
func (s *sccSearch) visit(n uint32, counter *uint32) {
	*counter++
	s.index[n], s.low[n] = *counter, *counter
	s.stack = append(s.stack, n)
	s.onStack[n] = true
	s.calls = append(s.calls, sccCall{n: n, e: s.g.off[n]})
}

// advance follows the next edge of the top call, or returns from it.
func (s *sccSearch) advance(counter *uint32, emit func([]uint32)) {
	g := s.g
	c := &s.calls[len(s.calls)-1]
	n := c.n
	if c.e < g.off[n+1] {
		w := g.to[c.e]
		c.e++
		switch {
		case s.stamp[w] != s.cur:
		case s.index[w] == 0:
			s.visit(w, counter)
		case s.onStack[w]:
			s.low[n] = min(s.low[n], s.index[w])
		}
		return
	}
	s.calls = s.calls[:len(s.calls)-1]
	if k := len(s.calls); k > 0 {
		p := s.calls[k-1].n
		s.low[p] = min(s.low[p], s.low[n])
	}
	if s.low[n] != s.index[n] {
		return
	}
	k := len(s.stack) - 1
	for s.stack[k] != n {
		k--
	}
	scc := s.stack[k:]
	for _, m := range scc {
		s.onStack[m] = false
	}
	s.stack = s.stack[:k]
	emit(scc)
}
