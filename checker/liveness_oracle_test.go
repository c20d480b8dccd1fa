package checker

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestLivenessAgainstOracle checks Eventually and LeadsTo on random small
// graphs against a brute-force oracle: a fair violating behaviour exists
// iff some set C of nodes reachable from a trigger through non-goal nodes
// is strongly connected by edges within it and fair for the cycle that
// takes every one of them (or is one node enabling no fairness set, where
// the behaviour stutters). For "eventually" the lasso's stem is also
// checked to be shortest.
func TestLivenessAgainstOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 1))
	verdicts := map[bool]int{}
	defer func() {
		if verdicts[true] < 100 || verdicts[false] < 100 {
			t.Errorf("too few of a verdict to test much: %v", verdicts)
		}
	}()
	for iter := range 400 {
		g := randomGraph(rng)
		kinds := []string{"a", "b", "c"}
		var fair []Fairness[string]
		for _, k := range kinds {
			sel := func(a string) bool { return a[:1] == k }
			switch rng.IntN(3) {
			case 1:
				fair = append(fair, WF(k, sel))
			case 2:
				fair = append(fair, SF(k, sel))
			}
		}
		goal, from := rng.Uint32(), rng.Uint32()
		inGoal := func(s *int) bool { return goal&(1<<*s) != 0 }
		inFrom := func(s *int) bool { return from&(1<<*s) != 0 }
		prop := Eventually("ev", inGoal, fair...)
		if iter%2 == 1 {
			prop = LeadsTo("leads", inFrom, inGoal, fair...)
		}
		fails, stem := oracle(g, prop)
		verdicts[fails]++
		name := fmt.Sprintf("graph %d init %v %v goal %b from %b fairness %d", iter, g.init, g.edges, goal&63, from&63, len(fair))
		c := liveCase[int, string]{name: name, prop: prop, holds: !fails, stem: stem, cycle: -1}
		checkLive(t, g, Options{}, []liveCase[int, string]{c})
	}
}

// randomGraph returns a graph of up to 6 nodes, node 0 initial and half
// the time another one, each edge named by its kind and target.
func randomGraph(rng *rand.Rand) *table {
	n := 1 + rng.IntN(6)
	m := &table{init: []int{0}, edges: map[int][]tedge{}}
	if n > 1 && rng.IntN(2) == 0 {
		m.init = append(m.init, 1+rng.IntN(n-1))
	}
	for v := range n {
		seen := map[string]bool{}
		for range rng.IntN(4) {
			e := tedge{to: rng.IntN(n)}
			e.name = fmt.Sprintf("%c%d", 'a'+rng.IntN(3), e.to)
			if !seen[e.name] {
				seen[e.name] = true
				m.edges[v] = append(m.edges[v], e)
			}
		}
	}
	return m
}

// oracle decides prop on g by brute force and, for "eventually", returns
// the shortest stem of a violating lasso (-1 for "leads to").
func oracle(g *table, prop Liveness[int, string]) (fails bool, stem int) {
	reach := reachable(g, g.init, func(int) bool { return true })
	var seeds []int
	for v := range reach {
		if (prop.From == nil && slices.Contains(g.init, v) || prop.From != nil && prop.From(&v)) && !prop.To(&v) {
			seeds = append(seeds, v)
		}
	}
	avoid := func(v int) bool { return !prop.To(&v) }
	region := reachable(g, seeds, avoid)
	var nodes []int
	for v := range region {
		nodes = append(nodes, v)
	}
	stem = -1
	for sub := 1; sub < 1<<len(nodes); sub++ {
		in := map[int]bool{}
		for i, v := range nodes {
			if sub&(1<<i) != 0 {
				in[v] = true
			}
		}
		if !fairSet(g, in, prop.Fairness) {
			continue
		}
		fails = true
		for v := range in {
			if d := region[v]; prop.From == nil && (stem < 0 || d < stem) {
				stem = d
			}
		}
	}
	return fails, stem
}

// reachable returns the nodes reachable from seeds through nodes that ok
// accepts, with their distance from the nearest seed.
func reachable(g *table, seeds []int, ok func(int) bool) map[int]int {
	dist := map[int]int{}
	queue := []int{}
	for _, s := range seeds {
		if _, seen := dist[s]; !seen {
			dist[s] = 0
			queue = append(queue, s)
		}
	}
	for ; len(queue) > 0; queue = queue[1:] {
		v := queue[0]
		for _, e := range g.edges[v] {
			if _, seen := dist[e.to]; !seen && ok(e.to) {
				dist[e.to] = dist[v] + 1
				queue = append(queue, e.to)
			}
		}
	}
	return dist
}

// fairSet reports whether the behaviour that cycles through every node and
// edge within in forever (or, for one node without such an edge,
// stutters there) is fair and possible.
func fairSet(g *table, in map[int]bool, fairness []Fairness[string]) bool {
	edges := 0
	for v := range in {
		for _, e := range g.edges[v] {
			if in[e.to] {
				edges++
			}
		}
		within := reachable(g, []int{v}, func(w int) bool { return in[w] })
		if len(within) != len(in) {
			return false
		}
	}
	if edges == 0 && len(in) > 1 {
		return false
	}
	for _, f := range fairness {
		some, every, taken := false, true, false
		for v := range in {
			on := false
			for _, e := range g.edges[v] {
				if f.Actions(e.name) {
					on = true
					taken = taken || (in[e.to] && edges > 0)
				}
			}
			some, every = some || on, every && on
		}
		if !taken && ((f.Strong && some) || (!f.Strong && every)) {
			return false
		}
	}
	return true
}
