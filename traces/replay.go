package traces

import (
	"fmt"
	"slices"
	"strings"

	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/spec"
)

// ModelReplay is the outcome of replaying a trace on the model.
type ModelReplay struct {
	// Frames holds the initial state and the state after every step
	// replayed; a replay that stops early (a step not enabled) has fewer.
	Frames []Frame
	// Broken is the first property that broke, if any, with the step.
	Broken *Violation
	// Failures lists, in order, everything recorded in the trace that did
	// not hold: a step not enabled, an expectation, a recorded state that
	// differs, a claimed violation that did not happen (or happened at
	// another step), a violation the trace does not claim.
	Failures []string
}

// OK reports whether everything the trace records held.
func (r *ModelReplay) OK() bool { return len(r.Failures) == 0 }

// ReplayModel replays t on the model of its configuration (seeded bug
// included): every step must be enabled; after every step the recorded
// expectations, state and history are checked, and every property is
// evaluated. The trace's claimed violation must break exactly at its step,
// which is its last (Validate refuses steps after it), and no property may
// break earlier (or at all, when none is claimed). Replay stops at the
// first step that cannot be taken.
func ReplayModel(t *Trace) (*ModelReplay, error) {
	m, err := model.New(t.Config)
	if err != nil {
		return nil, fmt.Errorf("trace configuration: %w", err)
	}
	r := &ModelReplay{}
	c := &claims{t: t}
	s := m.Init()
	var before, after spec.State
	m.View(&s, &after)
	r.Frames = append(r.Frames, Frame{Model: after.Clone()})
	for i, st := range t.Steps {
		next, err := m.Step(s, st.Action)
		if err != nil {
			c.refused(i+1, err)
			break
		}
		s = next
		before = after
		after = spec.State{}
		m.View(&s, &after)
		f := Frame{Step: i + 1, Action: st.Action, Caption: st.Caption, Model: after.Clone()}
		c.check(&f, &before)
		r.Frames = append(r.Frames, f)
	}
	r.Failures, r.Broken = c.finish(len(r.Frames)-1 == len(t.Steps)), c.broken
	return r, nil
}

// claims checks, step by step, what a trace records about the model: each
// step enabled, its expectations, its recorded state and history, and its
// claimed violation. ReplayModel and ReplayImpl share it, so a replay on
// the implementation checks everything a model replay does.
type claims struct {
	t        *Trace
	broken   *Violation
	failures []string
}

// refused records that the model cannot take step n.
func (c *claims) refused(n int, err error) {
	c.failures = append(c.failures, fmt.Sprintf("step %d: %v", n, err))
}

// check checks the model's state after step f.Step (before is the state
// before it) against the trace, and annotates f with the failed
// expectations and the first property broken.
func (c *claims) check(f *Frame, before *spec.State) {
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
	if c.broken == nil {
		if v := firstBroken(before, &st.Action, &f.Model); v != nil {
			v.Step = n
			c.broken = v
			f.Violation, f.Message = v.Property, v.Message
		}
	}
}

// finish returns every failure, the claimed violation compared with the
// one found included; complete says whether every step was replayed.
func (c *claims) finish(complete bool) []string {
	return append(c.failures, claimFailures(c.t.Violation, c.broken, complete)...)
}

// claimFailures compares the violation a trace claims with the one found.
func claimFailures(claim, found *Violation, complete bool) []string {
	switch {
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

// firstBroken evaluates every property on one step: the claimed property
// may share a step with others, so all broken at once are considered and
// the first in spec order is returned, with the others noted.
func firstBroken(before *spec.State, a *spec.Action, after *spec.State) *Violation {
	var v *Violation
	note := func(name, kind string, err error) {
		if v == nil {
			v = &Violation{Property: name, Kind: kind, Message: err.Error()}
		} else {
			v.also = append(v.also, name)
		}
	}
	for _, p := range spec.Invariants {
		if err := p.Check(after); err != nil {
			note(p.Name, "invariant", err)
		}
	}
	for _, p := range spec.TransitionProperties {
		if err := p.Check(before, a, after); err != nil {
			note(p.Name, "transition", err)
		}
	}
	return v
}

// Breaks reports whether the violation found covers property name: the
// first property broken at that step, or another broken at the same step.
func (v *Violation) Breaks(name string) bool {
	return v != nil && (v.Property == name || slices.Contains(v.also, name))
}

// checkExpect returns the expectations of e that do not hold in s, each
// named by its JSON path, e.g. "expect.servers[0].commit_index: S1 has 1,
// expected 2".
func checkExpect(e *Expect, s *spec.State) []string {
	if e == nil {
		return nil
	}
	var failed []string
	fail := func(field, format string, args ...any) {
		failed = append(failed, "expect."+field+": "+fmt.Sprintf(format, args...))
	}
	for k, se := range e.Servers {
		v := &s.Servers[se.ID-1]
		at := func(name string) string { return fmt.Sprintf("servers[%d].%s", k, name) }
		if se.Role != nil && v.Role.String() != *se.Role {
			fail(at("role"), "%v is %v, expected %s", se.ID, v.Role, *se.Role)
		}
		if se.Term != nil && v.Term != *se.Term {
			fail(at("term"), "%v has %d, expected %d", se.ID, v.Term, *se.Term)
		}
		if se.VotedFor != nil && v.VotedFor != *se.VotedFor {
			fail(at("voted_for"), "%v has %v, expected %v", se.ID, v.VotedFor, *se.VotedFor)
		}
		if se.Log != nil && !slices.Equal(v.Log, *se.Log) {
			fail(at("log"), "%v has %v, expected %v", se.ID, v.Log, *se.Log)
		}
		if se.CommitIndex != nil && v.CommitIndex != *se.CommitIndex {
			fail(at("commit_index"), "%v has %d, expected %d", se.ID, v.CommitIndex, *se.CommitIndex)
		}
	}
	committed := func(val spec.Value) bool {
		return slices.ContainsFunc(s.History.Committed, func(c spec.CommittedEntry) bool { return c.Entry.Value == val })
	}
	for _, val := range e.Committed {
		if !committed(val) {
			fail("committed", "%q is not in the committed history", val)
		}
	}
	for _, val := range e.NotCommitted {
		if committed(val) {
			fail("not_committed", "%q is in the committed history", val)
		}
	}
	if e.InFlight != nil {
		n := 0
		for _, m := range s.Network {
			n += m.Count
		}
		if n != *e.InFlight {
			fail("in_flight", "%d message copies in flight, expected %d", n, *e.InFlight)
		}
	}
	return failed
}

// RecordedDiff lists the differences between a state recorded in a trace
// and the state a replay computes: StateDiff's, then the history's
// ("history.leader_of[2]: S1 vs S3").
func RecordedDiff(want, got *spec.State) []string {
	d := StateDiff(want, got)
	for _, x := range want.History.Diff(&got.History) {
		d = append(d, "history."+x)
	}
	return d
}

// StateDiff lists the differences between two cluster states, field by
// field: each server's view, the messages in flight, the partition. It
// does not compare the history, which only the model keeps.
func StateDiff(want, got *spec.State) []string {
	var d []string
	if len(want.Servers) != len(got.Servers) {
		return []string{fmt.Sprintf("%d servers vs %d", len(want.Servers), len(got.Servers))}
	}
	for i := range want.Servers {
		for _, f := range want.Servers[i].Diff(&got.Servers[i]) {
			d = append(d, fmt.Sprintf("%v %s", spec.ServerID(i+1), f))
		}
	}
	d = append(d, networkDiff(want.Network, got.Network)...)
	if spec.FormatGroups(want.Partition) != spec.FormatGroups(got.Partition) {
		d = append(d, fmt.Sprintf("partition %s vs %s", orWhole(want.Partition), orWhole(got.Partition)))
	}
	return d
}

func orWhole(g [][]spec.ServerID) string {
	if len(g) == 0 {
		return "none"
	}
	return spec.FormatGroups(g)
}

// networkDiff lists the messages whose counts differ: "missing" ones are
// in want only, "unexpected" ones in got only.
func networkDiff(want, got []spec.InFlight) []string {
	var d []string
	count := func(list []spec.InFlight, m *spec.Message) int {
		for _, f := range list {
			if f.Message.Equal(m) {
				return f.Count
			}
		}
		return 0
	}
	for _, f := range want {
		if c := count(got, &f.Message); c < f.Count {
			d = append(d, fmt.Sprintf("message missing: %v (x%d vs x%d)", f.Message, f.Count, c))
		}
	}
	for _, f := range got {
		if c := count(want, &f.Message); c < f.Count {
			d = append(d, fmt.Sprintf("message unexpected: %v (x%d vs x%d)", f.Message, c, f.Count))
		}
	}
	return d
}
