package checker

import (
	"fmt"
	"sort"
)

// lgraph is the reachable state graph the liveness properties are checked
// on, in memory, as compressed adjacency lists. Nodes are numbered in
// breadth-first order, initial states first, so the node ids of one depth
// are consecutive and each node's tree edge gives a shortest path from an
// initial state. The graph is over concrete states (Encode) or, with
// quotient, over symmetry classes (Canonical): see checkLiveness.
//
// Memory: per node 8 bytes of fingerprint, 8 of enabled fairness sets,
// 4 of edge offset, 4 of tree edge, 2 bits per liveness property and an
// entry of the fingerprint map (about 40 bytes); per edge 8 bytes (target,
// action index, fairness mask index). The breadth-first queue holds the
// states of the frontier as their encodings (the states themselves for a
// model that is not a Decoder), and the checking adds about 25 bytes
// a node (sccSearch, reachAvoiding). Measured on the default Raft
// configuration (5.9 million classes, 22 million edges): 13 s on one
// core, and a peak of 1.7 GB with the safety run and the garbage
// collector's headroom.
type lgraph struct {
	fp      []uint64
	enabled []uint64 // fairness sets enabled in each node, a bit per set
	off     []uint32 // node n's edges are off[n] .. off[n+1]-1
	to      []uint32
	act     []uint16 // index of the edge's action in Actions of its source
	emask   []uint16 // index in masks of the fairness sets the action is in
	masks   []uint64
	maskIdx map[uint64]uint16
	tree    []uint32 // the edge by which the search first reached n
	init    []int    // index in Init() of initial node n
	levels  []uint32 // depth d holds the nodes levels[d] .. levels[d+1]-1
	preds   bitset   // bit 2·(n·L+k) for From, +1 for To, of property k
	nprops  int
	// quotient: nodes are symmetry classes, keyed by Canonical.
	quotient bool
}

// noEdge is the tree edge of an initial node.
const noEdge = ^uint32(0)

// bitset is a set of small integers.
type bitset []uint64

func (b *bitset) set(i int) {
	for len(*b) <= i/64 {
		*b = append(*b, 0)
	}
	(*b)[i/64] |= 1 << (i % 64)
}

func (b bitset) has(i int) bool { return i/64 < len(b) && b[i/64]&(1<<(i%64)) != 0 }

// src returns the source node of edge e.
func (g *lgraph) src(e uint32) uint32 {
	return uint32(sort.Search(len(g.off)-1, func(n int) bool { return g.off[n+1] > e }))
}

// depth returns the breadth-first depth of node n.
func (g *lgraph) depth(n uint32) int {
	return sort.Search(len(g.levels), func(d int) bool { return g.levels[d] > n }) - 1
}

// from and goal report whether node n satisfies property k's From and To.
func (g *lgraph) from(n uint32, k int) bool { return g.preds.has(2 * (int(n)*g.nprops + k)) }
func (g *lgraph) goal(n uint32, k int) bool { return g.preds.has(2*(int(n)*g.nprops+k) + 1) }

// graphBuilder explores the reachable states breadth-first into an lgraph.
type graphBuilder[S, A any] struct {
	r     *run[S, A]
	g     *lgraph
	sets  []Fairness[A]
	live  []Liveness[S, A]
	ids   map[uint64]uint32
	queue fifo[S] // the states to expand, without a Decoder
	// encs holds instead the states' encodings (Encode) when the model is a
	// Decoder: a few dozen bytes a state rather than the whole state.
	encs fifo[[]byte]
	acts []A
	buf  []byte
	cur  S
	next S
}

// buildGraph explores every reachable state within the constraint and
// returns its graph, or nil if the time limit or an interrupt stopped it.
func (r *run[S, A]) buildGraph(sets []Fairness[A], quotient bool) (*lgraph, error) {
	b := &graphBuilder[S, A]{r: r, sets: sets, live: r.props0.Liveness, ids: map[uint64]uint32{},
		g: &lgraph{maskIdx: map[uint64]uint16{}, nprops: len(r.props0.Liveness), quotient: quotient}}
	for i, s := range r.m.Init() {
		if r.con != nil && !r.con.Within(&s) {
			continue
		}
		if _, known := b.node(&s, noEdge); !known {
			b.g.init = append(b.g.init, i)
		}
	}
	var end uint32 // the first node of the next depth
	for n := uint32(0); b.queue.n > 0 || b.encs.n > 0; n++ {
		if n == end {
			// Every node of this depth was found expanding the last one.
			b.g.levels = append(b.g.levels, n)
			end = uint32(len(b.g.fp))
		}
		if n%1024 == 0 && r.timeUp() {
			return nil, nil
		}
		if err := b.expand(n); err != nil {
			return nil, err
		}
	}
	b.g.off = append(b.g.off, uint32(len(b.g.to)))
	b.g.levels = append(b.g.levels, uint32(len(b.g.fp)))
	return b.g, nil
}

// node returns the id of state s, adding it (reached by edge via) if it
// is new, and whether it was known.
func (b *graphBuilder[S, A]) node(s *S, via uint32) (uint32, bool) {
	b.buf = b.r.liveKey(b.g, b.buf[:0], s)
	fp := hashKey(b.buf)
	if id, ok := b.ids[fp]; ok {
		return id, true
	}
	g := b.g
	id := uint32(len(g.fp))
	b.ids[fp] = id
	g.fp, g.tree, g.enabled = append(g.fp, fp), append(g.tree, via), append(g.enabled, 0)
	for k, l := range b.live {
		if l.From != nil && l.From(s) {
			g.preds.set(2 * (int(id)*g.nprops + k))
		}
		if l.To(s) {
			g.preds.set(2*(int(id)*g.nprops+k) + 1)
		}
	}
	if b.r.dec != nil {
		b.encs.push(b.r.m.Encode(nil, s))
	} else {
		b.queue.push(*s)
	}
	return id, false
}

// expand adds the edges of node n, the head of the queue.
func (b *graphBuilder[S, A]) expand(n uint32) error {
	g, m := b.g, b.r.m
	// A field, not a local: its address goes to the model's methods, and a
	// local would escape, one allocation a state.
	if b.r.dec != nil {
		if err := b.r.dec.Decode(b.encs.pop(), &b.cur); err != nil {
			return fmt.Errorf("liveness: decoding a queued state: %w", err)
		}
	} else {
		b.cur = b.queue.pop()
	}
	s := &b.cur
	g.off = append(g.off, uint32(len(g.to)))
	b.acts = m.Actions(s, b.acts[:0])
	if len(b.acts) > 1<<16 {
		return fmt.Errorf("liveness: a state enables %d actions, more than %d", len(b.acts), 1<<16)
	}
	for k, a := range b.acts {
		if !m.Next(s, a, &b.next) {
			continue
		}
		if b.r.con != nil && !b.r.con.Within(&b.next) {
			continue // the behaviours stay within the constraint
		}
		mask := setsOf(b.sets, a)
		g.enabled[n] |= mask
		to, _ := b.node(&b.next, uint32(len(g.to)))
		mi, err := g.maskIndex(mask)
		if err != nil {
			return err
		}
		g.to, g.act, g.emask = append(g.to, to), append(g.act, uint16(k)), append(g.emask, mi)
	}
	if len(g.to) >= int(unseen) {
		return fmt.Errorf("liveness: more than %d edges", unseen-1)
	}
	return nil
}

// setsOf returns the mask of the fairness sets a belongs to.
func setsOf[A any](sets []Fairness[A], a A) uint64 {
	var m uint64
	for j := range sets {
		if sets[j].Actions(a) {
			m |= 1 << j
		}
	}
	return m
}

// liveKey appends the bytes that identify s as a node of g.
func (r *run[S, A]) liveKey(g *lgraph, dst []byte, s *S) []byte {
	if g.quotient {
		return r.key(dst, s)
	}
	return r.m.Encode(dst, s)
}

// maskIndex returns the index of mask in g.masks, adding it if new.
func (g *lgraph) maskIndex(mask uint64) (uint16, error) {
	if i, ok := g.maskIdx[mask]; ok {
		return i, nil
	}
	if len(g.masks) == 1<<16 {
		return 0, fmt.Errorf("liveness: more than %d distinct sets of fairness assumptions on actions", 1<<16)
	}
	g.masks = append(g.masks, mask)
	g.maskIdx[mask] = uint16(len(g.masks) - 1)
	return uint16(len(g.masks) - 1), nil
}

// fifo is a queue in chunks: a slice used as a queue (pop by reslicing,
// push by append) copies the live states over and over as it grows.
type fifo[T any] struct {
	chunks [][]T
	head   int // index of the first element in chunks[0]
	n      int
}

const fifoChunk = 1024

func (q *fifo[T]) push(v T) {
	if k := len(q.chunks); k == 0 || len(q.chunks[k-1]) == fifoChunk {
		q.chunks = append(q.chunks, make([]T, 0, fifoChunk))
	}
	last := &q.chunks[len(q.chunks)-1]
	*last = append(*last, v)
	q.n++
}

// pop removes and returns the first element; q is not empty.
func (q *fifo[T]) pop() T {
	c := q.chunks[0]
	v := c[q.head]
	var zero T
	c[q.head] = zero // drops references into the model's memory
	q.head++
	q.n--
	if q.head == fifoChunk {
		q.chunks[0] = nil
		q.chunks, q.head = q.chunks[1:], 0
	}
	return v
}
