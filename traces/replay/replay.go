package replay

import (
	"fmt"
	"strings"

	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/traces"
)

// Result is the outcome of replaying a trace on the model.
type Result struct {
	// Frames holds the initial state and the state after every step
	// replayed; a replay that stops early (a step not enabled) has fewer.
	Frames []Frame
	// Broken is the first property that broke, if any, with the step.
	Broken *Broken
	// Failures lists, in order, everything recorded in the trace that did
	// not hold: a step not enabled, an expectation, a recorded state that
	// differs, a claimed violation that did not happen (or happened at
	// another step), a violation the trace does not claim.
	Failures []string
}

// OK reports whether everything the trace records held.
func (r *Result) OK() bool { return len(r.Failures) == 0 }

// Model replays t on the model of its configuration (seeded bug included):
// every step must be enabled; after every step the recorded expectations,
// state and history are checked, and every property is evaluated. The
// trace's claimed violation must break exactly at its step, which is its
// last (traces.Validate refuses steps after it), and no property may break
// earlier (or at all, when none is claimed). Replay stops at the first
// step that cannot be taken.
func Model(t *traces.Trace) (*Result, error) {
	if err := t.RequireRaft(); err != nil {
		return nil, err
	}
	p, err := NewStepper(t.Config)
	if err != nil {
		return nil, err
	}
	r := &Result{Frames: []Frame{{Model: p.View().Clone()}}}
	c := NewClaims(t)
	states := []model.State{p.State()}
	for i, st := range t.Steps {
		before := p.State()
		o, err := p.Step(st.Action)
		if err != nil {
			c.Refused(i+1, err)
			break
		}
		if o.Broken == nil {
			o.Broken = modelBroken(p.Model(), &before, st.Action, t)
		}
		f := Frame{Step: i + 1, Action: st.Action, Caption: st.Caption, Model: o.After}
		c.Check(&f, o.Broken)
		r.Frames = append(r.Frames, f)
		states = append(states, p.State())
	}
	r.Failures, r.Broken = c.Finish(len(r.Frames)-1 == len(t.Steps)), c.Broken()
	r.Failures = append(r.Failures, CheckLasso(t, p.Model(), states)...)
	return r, nil
}

// Claims checks, step by step, what a trace records about the model: each
// step enabled, its expectations, its recorded state and history, and its
// claimed violation. Every replay of a trace checks them with it, on the
// model alone or beside an implementation.
type Claims struct {
	t        *traces.Trace
	broken   *Broken
	failures []string
}

// NewClaims starts checking t's claims.
func NewClaims(t *traces.Trace) *Claims { return &Claims{t: t} }

// Refused records that the model cannot take step n.
func (c *Claims) Refused(n int, err error) {
	c.failures = append(c.failures, fmt.Sprintf("step %d: %v", n, err))
}

// Check checks the model's state after step f.Step (f.Model) against the
// trace, given the properties the step broke, and annotates f with the
// failed expectations and the first property broken in the run.
func (c *Claims) Check(f *Frame, broken *Broken) {
	n, st := f.Step, &c.t.Steps[f.Step-1]
	f.Failed = checkExpect(st.Expect, &f.Model)
	if st.State != nil {
		if d := RecordedDiff(st.State, &f.Model); len(d) > 0 {
			f.Failed = append(f.Failed, "recorded state differs: "+strings.Join(d, "; "))
		}
	}
	for _, msg := range f.Failed {
		c.failures = append(c.failures, fmt.Sprintf("step %d: %s", n, msg))
	}
	if c.broken == nil && broken != nil {
		broken.Step = n
		c.broken = broken
		f.Violation, f.Message = broken.Property, broken.Message
	}
}

// Broken returns the first property broken so far.
func (c *Claims) Broken() *Broken { return c.broken }

// Finish returns every failure, the claimed violation compared with the
// one found included; complete says whether every step was replayed.
func (c *Claims) Finish(complete bool) []string {
	return append(c.failures, claimFailures(c.t.Violation, c.broken, complete)...)
}

// claimFailures compares the violation a trace claims with the one found.
func claimFailures(claim *traces.Violation, found *Broken, complete bool) []string {
	switch {
	case claim != nil && claim.Kind == "liveness" && found != nil:
		return []string{fmt.Sprintf("step %d: %s breaks: %s (the trace claims a liveness violation)", found.Step, found.Property, found.Message)}
	case claim != nil && claim.Kind == "liveness":
		return nil // CheckLasso checks the claim
	case claim == nil && found != nil:
		return []string{fmt.Sprintf("step %d: %s breaks: %s (the trace claims no violation)", found.Step, found.Property, found.Message)}
	case claim == nil || !complete && found == nil:
		return nil
	case found == nil:
		return []string{fmt.Sprintf("claimed violation of %s at step %d did not happen", claim.Property, claim.Step)}
	case found.Step < claim.Step:
		return []string{fmt.Sprintf("step %d: %s breaks before the claimed violation of %s at step %d: %s",
			found.Step, found.Property, claim.Property, claim.Step, found.Message)}
	case found.Step > claim.Step:
		return []string{fmt.Sprintf("claimed violation of %s at step %d did not happen (%s breaks at step %d)",
			claim.Property, claim.Step, found.Property, found.Step)}
	case !found.Breaks(claim.Property):
		return []string{fmt.Sprintf("step %d: %s breaks, not the claimed %s: %s", found.Step, found.Property, claim.Property, found.Message)}
	}
	return nil
}
