package conform

import (
	"errors"
	"fmt"

	"github.com/raftcheck/raftcheck/checker"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/spec"
	"github.com/raftcheck/raftcheck/traces"
)

// notRefused is the explanation of a forbidden action the system did not
// refuse cleanly.
type notRefused struct {
	act spec.Action
	err error
}

func (e *notRefused) Error() string { return fmt.Sprintf("%v: %v", e.act, e.err) }

// accepted completes the result of a run whose divergence is a forbidden
// action the system did not refuse cleanly (v.Err a *notRefused), confirmed
// on a system driven afresh along the path.
func (c *transitionChecker) accepted(out *TransitionResult, v *checker.Violation[model.State, model.Action]) (*TransitionResult, error) {
	var nr *notRefused
	if !errors.As(v.Err, &nr) {
		return nil, fmt.Errorf("conform: %s violated without naming the action: %w", refusesProperty, v.Err)
	}
	out.Accepted, out.Forbidden = true, nr.act
	ok, err := c.confirmRefusal(out.Divergence, out.Forbidden)
	if err != nil {
		return nil, fmt.Errorf("conform: confirming the divergence: %w", err)
	}
	out.Confirmed = ok
	return out, nil
}

// confirmRefusal drives a new system along t's steps and reports whether
// it, too, fails to refuse act cleanly at the end.
func (c *transitionChecker) confirmRefusal(t *traces.Trace, act spec.Action) (bool, error) {
	cfg := c.opts.Config
	sys, err := c.opts.System(SetupOf(cfg))
	if err != nil {
		return false, fmt.Errorf("starting the system: %w", err)
	}
	defer sys.Close()
	abs := c.opts.Abstraction
	for i, st := range t.Steps {
		a := st.Action
		if a.Message != nil {
			a = abs.systemAction(a, sys.State().Network)
		}
		if err := sys.Apply(a); err != nil {
			return false, fmt.Errorf("step %d, %v: %w", i+1, a, err)
		}
	}
	before := sys.State()
	err = sys.Apply(act)
	if err != nil && !errors.Is(err, ErrNotEnabled) {
		return false, fmt.Errorf("%v: %w", act, err)
	}
	after := sys.State()
	return err == nil || abs.compare(&before, &after) != nil, nil
}
