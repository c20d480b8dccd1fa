package checkertest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/raftcheck/raftcheck/checker"
)

// Spec is what the assertions run: a model, the properties to check (a
// factory, as checker.Check takes) and the options of the run.
type Spec[S, A any] struct {
	Model      checker.Model[S, A]
	Properties func() checker.Properties[S, A]
	Options    checker.Options
}

// check runs the spec, reporting a failed run to t.
func (sp Spec[S, A]) check(t testing.TB) *checker.Result[S, A] {
	t.Helper()
	res, err := checker.Check(sp.Model, sp.Properties, sp.Options)
	if err != nil {
		t.Errorf("checker.Check: %v", err)
		return nil
	}
	return res
}

// AssertProperties runs sp and fails t unless the verdict is ok: every
// property holds, the run is complete (no limit cut it short, which
// rules out random walks) and every expected goal was reached. A
// violation is reported with its counterexample path. It returns the
// result (nil if the run itself failed).
func AssertProperties[S, A any](t testing.TB, sp Spec[S, A]) *checker.Result[S, A] {
	t.Helper()
	res := sp.check(t)
	if res == nil {
		return nil
	}
	switch res.Verdict() {
	case checker.VerdictViolation:
		v := res.Violation
		t.Errorf("property %s violated: %v\n%s", v.Property, v.Err, FormatPath(&v.Path))
	case checker.VerdictIncomplete:
		t.Errorf("the run is not complete (stopped by %s after %d states): the properties were not checked everywhere", res.Stopped, res.Distinct)
	case checker.VerdictVacuous:
		t.Errorf("expected goals never reached, so the properties held vacuously: %s", strings.Join(res.Unreached(), ", "))
	}
	return res
}

// AssertDiscovery fails t unless goal (a goal of sp.Properties) can be
// reached. With actions, they must be enabled one after the other from
// an initial state (the first from which they all are) and the last step
// or state must reach the goal; sp.Options is not used. Without actions,
// the run of sp must reach the goal.
func AssertDiscovery[S, A any](t testing.TB, sp Spec[S, A], goal string, actions ...A) {
	t.Helper()
	g, ok := findGoal(sp, goal)
	if !ok {
		t.Errorf("no goal named %q", goal)
		return
	}
	if len(actions) > 0 {
		if err := replayTo(sp.Model, g, actions); err != nil {
			t.Errorf("goal %s: %v", goal, err)
		}
		return
	}
	res := sp.check(t)
	if res == nil {
		return
	}
	for _, gr := range res.Goals {
		if gr.Name == goal && !gr.Reached {
			t.Errorf("goal %s not discovered (%d states, complete %v, stopped %q)", goal, res.Distinct, res.Complete, res.Stopped)
		}
	}
}

// AssertNoDiscovery fails t if the run of sp reaches goal, showing the
// path to it, or if the run is not complete, since then the goal might
// lie beyond what it explored.
func AssertNoDiscovery[S, A any](t testing.TB, sp Spec[S, A], goal string) {
	t.Helper()
	if _, ok := findGoal(sp, goal); !ok {
		t.Errorf("no goal named %q", goal)
		return
	}
	res := sp.check(t)
	if res == nil {
		return
	}
	for _, gr := range res.Goals {
		if gr.Name == goal && gr.Reached {
			t.Errorf("goal %s discovered:\n%s", goal, FormatPath(gr.Path))
			return
		}
	}
	if !res.Complete {
		t.Errorf("goal %s not discovered, but the run is not complete (stopped by %s): it might be further", goal, res.Stopped)
	}
}

func findGoal[S, A any](sp Spec[S, A], name string) (checker.Goal[S, A], bool) {
	for _, g := range sp.Properties().Goals {
		if g.Name == name {
			return g, true
		}
	}
	return checker.Goal[S, A]{}, false
}

// replayTo replays actions from the first initial state that enables them
// all and reports whether the end reaches g.
func replayTo[S, A any](m checker.Model[S, A], g checker.Goal[S, A], actions []A) error {
	var why error
	for _, s := range m.Init() {
		before, after, err := replay(m, s, actions)
		if err != nil {
			why = err
			continue
		}
		if reached(g, &before, actions[len(actions)-1], &after) {
			return nil
		}
		return fmt.Errorf("not reached at the end of the actions, in %+v", after)
	}
	return why
}

// replay applies actions from s and returns the last two states.
func replay[S, A any](m checker.Model[S, A], s S, actions []A) (before, after S, err error) {
	after = s
	for i, a := range actions {
		before = after
		var next S // fresh: Next need not handle an out sharing memory with s
		if !m.Next(&before, a, &next) {
			return before, after, fmt.Errorf("action %d (%+v) is not enabled in %+v", i+1, a, before)
		}
		after = next
	}
	return before, after, nil
}

// reached reports whether the step (before, a, after) reaches g.
func reached[S, A any](g checker.Goal[S, A], before *S, a A, after *S) bool {
	if g.Step != nil {
		return g.Step(before, a, after)
	}
	return g.Reached(after)
}

// FormatPath renders a path one step a line: the initial state, then each
// action and the state after it.
func FormatPath[S, A any](p *checker.Path[S, A]) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  init: %+v\n", p.Init)
	for i, st := range p.Steps {
		fmt.Fprintf(&b, "  %d. %+v -> %+v\n", i+1, st.Action, st.State)
	}
	return b.String()
}
