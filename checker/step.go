package checker

// One routine checks a step for every strategy (breadth-first,
// depth-first, random walks), so that they agree on what is checked and
// in which order: the transition properties, the step goals, then, for a
// state not known already, the invariants, the state goals and the
// constraint. A step that violates a transition property is not checked
// further; a state that violates an invariant is not checked against the
// state goals (it ends the search, or the walk, there).

// outcome is what checking one step found.
type outcome uint8

const (
	// stepNew: the state is not known, satisfies every invariant and is
	// within the constraint: it is to be explored.
	stepNew outcome = iota
	// stepKnown: the state is known already, so only the transition
	// properties and step goals were checked.
	stepKnown
	// stepOutside: checked, but outside the constraint: not explored.
	stepOutside
	// stepViolation: a property is violated (stepChecker.violation).
	stepViolation
)

// goalMask has bit g set for each goal g still looked for. Goals from 63
// on share bit 63: they are looked for while any of them is.
type goalMask uint64

func goalBit(g int) goalMask { return 1 << min(g, 63) }

// done returns m without goal g, which has been reached (a shared bit
// stays: the goals sharing it may not be).
func (m goalMask) done(g int) goalMask {
	if g < 63 {
		m &^= 1 << g
	}
	return m
}

// allGoals is the mask of n goals.
func allGoals(n int) goalMask {
	var m goalMask
	for g := range n {
		m |= goalBit(g)
	}
	return m
}

// stepChecker checks steps against one worker's properties.
type stepChecker[S, A any] struct {
	props *Properties[S, A]
	con   Constrained[S]
	// hits lists the goals the last step reached, among those wanted; it
	// is filled even when the step is a violation (the step goals found
	// before the invariants were checked).
	hits []int
	// The violation of the last step, when its outcome is stepViolation.
	kind  PropertyKind
	index int
	err   error
}

// check checks the step (before, a, after), before nil for an initial
// state; known says the visited set holds after, want which goals to look
// for.
func (c *stepChecker[S, A]) check(before *S, a A, after *S, known bool, want goalMask) outcome {
	c.hits = c.hits[:0]
	p := c.props
	if before != nil {
		if k, err := checkTransitions(p, before, a, after); err != nil {
			c.kind, c.index, c.err = TransitionProperty, k, err
			return stepViolation
		}
		for g := 0; want != 0 && g < len(p.Goals); g++ {
			if want&goalBit(g) != 0 && p.Goals[g].Step != nil && p.Goals[g].Step(before, a, after) {
				c.hits = append(c.hits, g)
			}
		}
	}
	if known {
		return stepKnown
	}
	if k, err := checkInvariants(p, after); err != nil {
		c.kind, c.index, c.err = InvariantProperty, k, err
		return stepViolation
	}
	for g := 0; want != 0 && g < len(p.Goals); g++ {
		if want&goalBit(g) != 0 && p.Goals[g].Step == nil && p.Goals[g].Reached(after) {
			c.hits = append(c.hits, g)
		}
	}
	if c.con != nil && !c.con.Within(after) {
		return stepOutside
	}
	return stepNew
}

// violation returns the last step's violation, located at the state with
// fingerprint fp reached from parent.
func (c *stepChecker[S, A]) violation(parent, fp uint64) *found {
	name := ""
	if c.kind == TransitionProperty {
		name = c.props.Transitions[c.index].Name
	} else {
		name = c.props.Invariants[c.index].Name
	}
	return &found{prop: name, kind: c.kind, err: c.err, parent: parent, fp: fp, index: c.index}
}

// checkInvariants returns the first invariant s violates.
func checkInvariants[S, A any](p *Properties[S, A], s *S) (int, error) {
	for i := range p.Invariants {
		if err := p.Invariants[i].Check(s); err != nil {
			return i, err
		}
	}
	return -1, nil
}

func checkTransitions[S, A any](p *Properties[S, A], before *S, a A, after *S) (int, error) {
	if p.TransitionsHold != nil && p.TransitionsHold(before, a, after) {
		return -1, nil
	}
	for i := range p.Transitions {
		if err := p.Transitions[i].Check(before, a, after); err != nil {
			return i, err
		}
	}
	return -1, nil
}
