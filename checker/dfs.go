package checker

// dfs explores depth-first on one goroutine. The stack holds the path from
// an initial state, so a violation's path is the stack itself (not
// necessarily shortest). A state is expanded once, when first reached, so
// with a depth bound a state first reached deep is not re-expanded when
// later reached shallower: use BFS for exact depth-bounded counts.
func (r *run[S, A]) dfs() error {
	w := r.newWorker()
	type frame struct {
		state S
		via   A // action that led here (none for the root)
		acts  []A
		next  int
	}
	var stack []*frame
	pathOf := func(extra *Step[S, A]) *Path[S, A] {
		p := &Path[S, A]{Init: stack[0].state}
		for _, f := range stack[1:] {
			p.Steps = append(p.Steps, Step[S, A]{Action: f.via, State: f.state})
		}
		if extra != nil {
			p.Steps = append(p.Steps, *extra)
		}
		return p
	}
	defer func() {
		r.res.Generated = r.generated.Load()
		r.res.Coverage.add(&w.cov)
	}()
	r.res.Complete = true
	var spare []*frame
	push := func(s *S, via A) {
		var f *frame
		if n := len(spare); n > 0 {
			f, spare = spare[n-1], spare[:n-1]
		} else {
			f = &frame{}
		}
		f.state, f.via, f.next = *s, via, 0
		f.acts = r.m.Actions(&f.state, f.acts[:0])
		for _, a := range f.acts {
			w.cov.Enabled[r.kindOf(a)]++
		}
		stack = append(stack, f)
		r.res.Depth = max(r.res.Depth, len(stack))
	}
	var zero A
	for _, s := range r.m.Init() {
		r.generated.Add(1)
		w.key = r.key(w.key[:0], &s)
		fp := hashKey(w.key)
		if r.table.contains(fp) {
			continue
		}
		if k, err := checkInvariants(&w.props, &s); err != nil {
			stack = []*frame{{state: s}}
			return r.violation(&found{prop: w.props.Invariants[k].Name, kind: InvariantProperty, err: err, index: k, path: pathOf(nil)})
		}
		if !r.within(&s) {
			continue
		}
		r.table.insert(fp)
		stack = stack[:0]
		push(&s, zero)
		r.goalsOnPath(&w.props, nil, zero, &s, pathOf, nil)
		for len(stack) > 0 {
			r.distinct.Store(r.table.len())
			r.depth.Store(int64(len(stack)))
			top := stack[len(stack)-1]
			if top.next == len(top.acts) || (r.opts.MaxDepth > 0 && len(stack) >= r.opts.MaxDepth) {
				if top.next < len(top.acts) {
					r.res.Complete, r.res.Stopped = false, "max-depth"
				}
				spare = append(spare, top)
				stack = stack[:len(stack)-1]
				continue
			}
			if r.opts.MaxStates > 0 && r.table.len() >= r.opts.MaxStates {
				r.res.Complete, r.res.Stopped = false, "max-states"
				return nil
			}
			if r.generated.Load()&0x3ff == 0 && r.timeUp() {
				r.res.Complete, r.res.Stopped = false, r.stopReason()
				return nil
			}
			a := top.acts[top.next]
			top.next++
			kind := r.kindOf(a)
			if !r.m.Next(&top.state, a, &w.next) {
				continue
			}
			w.cov.Fired[kind]++
			r.generated.Add(1)
			if k, err := checkTransitions(&w.props, &top.state, a, &w.next); err != nil {
				return r.violation(&found{prop: w.props.Transitions[k].Name, kind: TransitionProperty, err: err, index: k,
					path: pathOf(&Step[S, A]{Action: a, State: w.next})})
			}
			w.key = r.key(w.key[:0], &w.next)
			fp := hashKey(w.key)
			r.goalsOnPath(&w.props, &top.state, a, &w.next, pathOf, &Step[S, A]{Action: a, State: w.next})
			if r.table.contains(fp) {
				continue
			}
			if k, err := checkInvariants(&w.props, &w.next); err != nil {
				return r.violation(&found{prop: w.props.Invariants[k].Name, kind: InvariantProperty, err: err, index: k,
					path: pathOf(&Step[S, A]{Action: a, State: w.next})})
			}
			if !r.within(&w.next) {
				continue
			}
			r.table.insert(fp)
			w.cov.New[kind]++
			push(&w.next, a)
		}
	}
	return nil
}

// goalsOnPath records the goals that the step (before, a, after) reaches,
// after being the state on top of the path extended by step.
func (r *run[S, A]) goalsOnPath(p *Properties[S, A], before *S, a A, after *S, pathOf func(*Step[S, A]) *Path[S, A], step *Step[S, A]) {
	for g := range p.Goals {
		if r.goalHit[g] == nil && p.Goals[g].reachedBy(before, a, after) {
			r.goalHit[g] = &hit{path: pathOf(step)}
		}
	}
}
