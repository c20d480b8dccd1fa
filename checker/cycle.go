package checker

import "sort"

// cycle returns the edges of a cycle from n back to n within n's fair
// component that satisfies every fairness set of fm on its own: it takes
// an edge of each set some edge of the component takes, and visits a
// node disabling each weak set no edge takes.
func (s *sccSearch) cycle(n uint32, fm, strong uint64) []uint32 {
	g, c := s.g, s.comp[n]
	nodes := s.fair[c]
	sort.Slice(nodes, func(i, j int) bool { return nodes[i] < nodes[j] })
	var out []uint32
	cur := n
	for j := 0; j < maxFairness; j++ {
		if fm&(1<<j) == 0 {
			continue
		}
		if e, ok := s.edgeOf(nodes, 1<<j); ok {
			out = append(out, s.pathWithin(cur, func(m uint32) bool { return m == g.src(e) }, false)...)
			out, cur = append(out, e), g.to[e]
		} else if strong&(1<<j) == 0 {
			// A weak set no edge takes: the component is fair, so some
			// node disables it.
			i := 0
			for g.enabled[nodes[i]]&(1<<j) != 0 {
				i++
			}
			out = append(out, s.pathWithin(cur, func(m uint32) bool { return m == nodes[i] }, false)...)
			cur = nodes[i]
		}
	}
	if cur != n || len(out) == 0 {
		out = append(out, s.pathWithin(cur, func(m uint32) bool { return m == n }, len(out) == 0)...)
	}
	return out
}

// edgeOf returns the first edge within the component of nodes that takes
// a set of mask.
func (s *sccSearch) edgeOf(nodes []uint32, mask uint64) (uint32, bool) {
	g := s.g
	for _, n := range nodes {
		for e := g.off[n]; e < g.off[n+1]; e++ {
			if s.comp[g.to[e]] == s.comp[n] && g.masks[g.emask[e]]&mask != 0 {
				return e, true
			}
		}
	}
	return 0, false
}

// pathWithin returns the edges of a shortest path within from's component
// to a node satisfying goal, of at least one step if step is set.
func (s *sccSearch) pathWithin(from uint32, goal func(uint32) bool, step bool) []uint32 {
	if !step && goal(from) {
		return nil
	}
	g, c := s.g, s.comp[from]
	par := map[uint32]uint32{from: noEdge}
	for queue := []uint32{from}; len(queue) > 0; queue = queue[1:] {
		n := queue[0]
		for e := g.off[n]; e < g.off[n+1]; e++ {
			w := g.to[e]
			if s.comp[w] != c {
				continue
			}
			if goal(w) {
				path := []uint32{e}
				for p := par[n]; p != noEdge; p = par[g.src(p)] {
					path = append(path, p)
				}
				for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
					path[i], path[j] = path[j], path[i]
				}
				return path
			}
			if _, seen := par[w]; !seen {
				par[w] = e
				queue = append(queue, w)
			}
		}
	}
	panic("liveness: a component is not strongly connected")
}
