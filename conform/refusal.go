package conform

import (
	"errors"
	"fmt"
	"strings"

	"github.com/raftcheck/raftcheck/checker"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/spec"
	"github.com/raftcheck/raftcheck/traces"
)

// accepted completes the result of a run whose divergence is a forbidden
// action the system did not refuse cleanly: the action is found again
// from the explanation's head, and confirmed on a system driven afresh
// along the path.
func (c *transitionChecker) accepted(out *TransitionResult, v *checker.Violation[model.State, model.Action]) (*TransitionResult, error) {
	out.Accepted = true
	last := &v.Path.Init
	if n := len(v.Path.Steps); n > 0 {
		last = &v.Path.Steps[n-1].State
	}
	for _, act := range c.m.Forbidden(last) {
		if strings.HasPrefix(v.Err.Error(), act.String()+": ") {
			out.Forbidden = act
			break
		}
	}
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
	sys, err := c.opts.System(Setup{Servers: cfg.Servers, MaxCopies: cfg.MaxCopies, Features: cfg.Features, Snapshots: cfg.MaxSnapshots > 0})
	if err != nil {
		return false, fmt.Errorf("starting the system: %w", err)
	}
	defer sys.Close()
	abs := c.opts.Abstraction
	for i, st := range t.Steps {
		a := st.Action
		if a.Message != nil && abs.Message != nil {
			msg := abs.systemMessage(a.Message, sys.State().Network)
			a.Message = &msg
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
