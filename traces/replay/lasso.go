package replay

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/raftcheck/raftcheck/checker"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/model/checking"
	"github.com/raftcheck/raftcheck/spec"
	"github.com/raftcheck/raftcheck/traces"
)

// State returns the model's current packed state (timers included).
func (p *Stepper) State() model.State { return p.s }

// CheckLasso checks what a lasso claims, given the model's states along it
// (states[0] the initial state, states[i] the state after step i): that
// the loop closes (the state after the last step is the state after step
// Loop, exactly: timers, network and history included), that the claimed
// property fails on the behaviour (a state satisfying its trigger from
// which no state of the lasso, cycle included, satisfies its goal), and
// that the cycle is fair for the claim's fairness (or, with an empty
// cycle, that no fairness set is enabled where the behaviour stutters).
// It returns the failures, empty when the lasso holds.
func CheckLasso(t *traces.Trace, m *model.Model, states []model.State) []string {
	if !t.IsLasso() || len(states) != len(t.Steps)+1 {
		return nil
	}
	k, n := t.LoopStart(), len(t.Steps)
	var out []string
	if k < n && !bytes.Equal(m.Encode(nil, &states[k]), m.Encode(nil, &states[n])) {
		var a, b spec.State
		m.View(&states[k], &a)
		m.View(&states[n], &b)
		diff := strings.Join(RecordedDiff(&a, &b), "; ")
		if diff == "" {
			diff = "the timers differ"
		}
		out = append(out, fmt.Sprintf("loop: the state after step %d is not the state after step %d, where the loop starts: %s", n, k, diff))
	}
	fair, err := checking.ParseFair(t.Violation.Fair)
	if err != nil {
		return append(out, fmt.Sprintf("violation.fair: %v", err))
	}
	props := checking.Liveness(m, []string{t.Violation.Property}, fair)
	if len(props) != 1 {
		return append(out, fmt.Sprintf("violation.property: %s is not a liveness property", t.Violation.Property))
	}
	if msg := lassoViolates(&props[0], states, k); msg != "" {
		out = append(out, msg)
	}
	return append(out, lassoUnfair(t, m, fair, states, k)...)
}

// lassoViolates returns "" when the lasso violates l: no state of the
// cycle satisfies To (it repeats forever), and some state satisfies From
// (for "eventually", the initial state) with no state after it in the
// prefix satisfying To.
func lassoViolates(l *checker.Liveness[model.State, model.Action], states []model.State, k int) string {
	for j := k; j < len(states); j++ {
		if l.To(&states[j]) {
			return fmt.Sprintf("%s: the cycle reaches its goal at the state after step %d, and it repeats forever", l.Name, j)
		}
	}
	for i := len(states) - 1; i >= 0; i-- {
		if l.To(&states[i]) {
			break
		}
		if (l.From == nil && i == 0) || (l.From != nil && l.From(&states[i])) {
			return ""
		}
	}
	return fmt.Sprintf("%s: no state of the lasso satisfies the trigger without the goal after it", l.Name)
}

// lassoUnfair lists the fairness assumptions the lasso's cycle breaks.
func lassoUnfair(t *traces.Trace, m *model.Model, fair []checker.Fairness[model.Action], states []model.State, k int) []string {
	n := len(states) - 1
	var out []string
	for _, f := range fair {
		taken, always, ever := false, true, false
		for j := k; j <= n; j++ {
			en := enabledIn(m, &states[j], f)
			always, ever = always && en, ever || en
			if j > k && f.Actions(model.Action{Kind: t.Steps[j-1].Action.Kind}) {
				taken = true
			}
		}
		switch {
		case k == n && ever:
			out = append(out, fmt.Sprintf("%s: enabled where the behaviour stutters forever (after step %d)", f.Name, n))
		case k < n && !taken && (always || f.Strong && ever):
			out = append(out, fmt.Sprintf("%s: enabled on the cycle (steps %d-%d) but never taken there", f.Name, k+1, n))
		}
	}
	return out
}

// enabledIn reports whether an action of f is enabled in s.
func enabledIn(m *model.Model, s *model.State, f checker.Fairness[model.Action]) bool {
	var next model.State
	for _, a := range m.Actions(s, nil) {
		if f.Actions(a) && m.Next(s, a, &next) {
			return true
		}
	}
	return false
}

// modelBroken evaluates, for a trace that claims it, the property that
// only the model can: no-disruption, which reads the record of who has
// heard from a leader (model state, not in the shared view).
func modelBroken(m *model.Model, before *model.State, a spec.Action, t *traces.Trace) *Broken {
	if t.Violation == nil || t.Violation.Property != model.NoDisruption {
		return nil
	}
	if a.Kind != spec.Timeout || !m.Disrupts(before, model.Action{Kind: a.Kind, Server: uint8(a.Server)}) {
		return nil
	}
	return &Broken{Property: model.NoDisruption, Kind: "transition",
		Message: fmt.Sprintf("after the last fault S%d times out although it has heard from the leader of its term", a.Server)}
}
