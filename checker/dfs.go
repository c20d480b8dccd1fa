package checker

// dfs explores depth-first on one goroutine. The stack holds the path from
// an initial state, so a violation's path is the stack itself (not
// necessarily shortest). A state is expanded once, when first reached, so
// with a depth bound a state first reached deep is not re-expanded when
// later reached shallower: use BFS for exact depth-bounded counts.
func (r *run[S, A]) dfs() error {
	d := &dfsSearch[S, A]{r: r, w: r.newWorker()}
	defer func() {
		r.res.Generated = r.generated.Load()
		r.res.Coverage.add(&d.w.cov)
	}()
	r.res.Complete = true
	for _, s := range r.m.Init() {
		if err := d.root(s); err != nil || r.res.Violation != nil {
			return err
		}
		for len(d.stack) > 0 {
			if stop, err := d.step(); stop || err != nil {
				return err
			}
		}
	}
	return nil
}

// dfsSearch is the state of a depth-first search.
type dfsSearch[S, A any] struct {
	r     *run[S, A]
	w     *worker[S, A]
	stack []*frame[S, A]
	spare []*frame[S, A] // popped frames, reused
}

// frame is a state on the stack, with its actions and the next to take.
type frame[S, A any] struct {
	state S
	via   A // action that led here (none for the root)
	acts  []A
	next  int
}

// pathOf returns the path of the stack, extended by extra if set.
func (d *dfsSearch[S, A]) pathOf(extra *Step[S, A]) *Path[S, A] {
	p := &Path[S, A]{Init: d.stack[0].state}
	for _, f := range d.stack[1:] {
		p.Steps = append(p.Steps, Step[S, A]{Action: f.via, State: f.state})
	}
	if extra != nil {
		p.Steps = append(p.Steps, *extra)
	}
	return p
}

// push puts s, reached by via, on the stack, counting its actions.
func (d *dfsSearch[S, A]) push(s *S, via A) {
	var f *frame[S, A]
	if n := len(d.spare); n > 0 {
		f, d.spare = d.spare[n-1], d.spare[:n-1]
	} else {
		f = &frame[S, A]{}
	}
	f.state, f.via, f.next = *s, via, 0
	f.acts = d.r.m.Actions(&f.state, f.acts[:0])
	for _, a := range f.acts {
		d.w.cov.Enabled[d.r.kindOf(a)]++
	}
	d.stack = append(d.stack, f)
	d.r.res.Depth = max(d.r.res.Depth, len(d.stack))
}

// root checks the initial state s and, if it is new, starts the stack
// with it.
func (d *dfsSearch[S, A]) root(s S) error {
	r, w := d.r, d.w
	r.generated.Add(1)
	w.key = r.key(w.key[:0], &s)
	fp := hashKey(w.key)
	var zero A
	out := w.sc.check(nil, zero, &s, r.table.contains(fp), r.unreached())
	d.hits(func() *Path[S, A] { return &Path[S, A]{Init: s} })
	switch out {
	case stepViolation:
		f := w.sc.violation(noParent, fp)
		f.path = &Path[S, A]{Init: s}
		return r.violation(f)
	case stepNew:
		r.table.insert(fp)
		d.stack = d.stack[:0]
		d.push(&s, zero)
	}
	return nil
}

// hits records the first hits of the goals the last check reached, on
// the path path returns.
func (d *dfsSearch[S, A]) hits(path func() *Path[S, A]) {
	for _, g := range d.w.sc.hits {
		if d.r.goalHit[g] == nil {
			d.r.goalHit[g] = &hit{path: path()}
		}
	}
}

// step takes the next action of the state on top of the stack (or pops
// it) and reports whether the search must stop: a limit, the time, or a
// violation (then in the result).
func (d *dfsSearch[S, A]) step() (bool, error) {
	r, w := d.r, d.w
	r.distinct.Store(r.table.len())
	r.depth.Store(int64(len(d.stack)))
	top := d.stack[len(d.stack)-1]
	if top.next == len(top.acts) || (r.opts.MaxDepth > 0 && len(d.stack) >= r.opts.MaxDepth) {
		if top.next < len(top.acts) {
			r.res.Complete, r.res.Stopped = false, "max-depth"
		}
		d.spare = append(d.spare, top)
		d.stack = d.stack[:len(d.stack)-1]
		return false, nil
	}
	if r.opts.MaxStates > 0 && r.table.len() >= r.opts.MaxStates {
		r.res.Complete, r.res.Stopped = false, "max-states"
		return true, nil
	}
	if r.generated.Load()&0x3ff == 0 && r.timeUp() {
		r.res.Complete, r.res.Stopped = false, r.stopReason()
		return true, nil
	}
	a := top.acts[top.next]
	top.next++
	kind := r.kindOf(a)
	if !r.m.Next(&top.state, a, &w.next) {
		return false, nil
	}
	w.cov.Fired[kind]++
	r.generated.Add(1)
	w.key = r.key(w.key[:0], &w.next)
	fp := hashKey(w.key)
	out := w.sc.check(&top.state, a, &w.next, r.table.contains(fp), r.unreached())
	d.hits(func() *Path[S, A] { return d.pathOf(&Step[S, A]{Action: a, State: w.next}) })
	switch out {
	case stepViolation:
		f := w.sc.violation(0, fp)
		f.path = d.pathOf(&Step[S, A]{Action: a, State: w.next})
		return true, r.violation(f)
	case stepNew:
		r.table.insert(fp)
		w.cov.New[kind]++
		d.push(&w.next, a)
	}
	return false, nil
}
