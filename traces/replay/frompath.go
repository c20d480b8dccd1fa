package replay

import (
	"fmt"
	"strings"

	"github.com/raftcheck/raftcheck/checker"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/model/checking"
	"github.com/raftcheck/raftcheck/spec"
	"github.com/raftcheck/raftcheck/traces"
)

// FromPath turns a path of the explorer into a trace, recording the
// model's state after every step and, if v is set, the violation.
func FromPath(m *model.Model, p *checker.Path[model.State, model.Action], v *checker.Violation[model.State, model.Action], producer traces.Producer) *traces.Trace {
	t := traces.New(m.Config(), producer)
	_, steps := checking.SpecPath(m, p)
	for i, st := range steps {
		s := st.State
		before := &p.Init
		if i > 0 {
			before = &p.Steps[i-1].State
		}
		t.Steps = append(t.Steps, traces.Step{Action: st.Action, State: &s, Caption: timerCaption(m, before, &p.Steps[i].State)})
	}
	if v != nil {
		kind := "invariant"
		switch v.Kind {
		case checker.TransitionProperty:
			kind = "transition"
		case checker.LivenessProperty:
			kind = "liveness"
			loop := len(t.Steps) - v.Loop
			t.Loop = &loop
		}
		t.Violation = &traces.Violation{Property: v.Property, Kind: kind, Step: len(t.Steps), Message: v.Err.Error()}
	}
	return t
}

// Complete re-records a trace's model states and its violation by
// replaying it on the model: the steps after the first violation are cut
// off, the violation is recorded with its step, and every step gets the
// model's state after it. It returns the violation found, which may cover
// other properties broken at the same step (Broken.Also).
func Complete(t *traces.Trace) (*Broken, error) {
	if err := t.RequireRaft(); err != nil {
		return nil, err
	}
	p, err := NewStepper(t.Config)
	if err != nil {
		return nil, err
	}
	t.Violation = nil
	for i := range t.Steps {
		st := &t.Steps[i]
		o, err := p.Step(st.Action)
		if err != nil {
			return nil, fmt.Errorf("step %d: %w", i+1, err)
		}
		st.State = &o.After
		if o.Broken != nil {
			o.Broken.Step = i + 1
			t.Violation = o.Broken.Claim()
			t.Steps = t.Steps[:i+1]
			return o.Broken, nil
		}
	}
	return nil, nil
}

// Lenient replays t's actions on the model, skipping those the model
// cannot take (and taking a similar message in flight where the recorded
// one is gone, see Stepper.StepSimilar), up to the first property broken.
// It returns the trace of the steps taken, actions only, and the
// violation (nil if none breaks). Shrinking judges candidates with it, so
// that removing a step takes its consequences along.
func Lenient(t *traces.Trace) (*traces.Trace, *Broken, error) {
	if err := t.RequireRaft(); err != nil {
		return nil, nil, err
	}
	p, err := NewStepper(t.Config)
	if err != nil {
		return nil, nil, err
	}
	kept := *t
	kept.Steps = nil
	for _, st := range t.Steps {
		a, o, err := p.StepSimilar(st.Action)
		if err != nil {
			continue
		}
		st.Action = a
		kept.Steps = append(kept.Steps, traces.Step{Action: st.Action, Caption: st.Caption})
		if o.Broken != nil {
			o.Broken.Step = len(kept.Steps)
			return &kept, o.Broken, nil
		}
	}
	return &kept, nil, nil
}

// Enabled returns t without the steps the model cannot take.
func Enabled(t *traces.Trace) (*traces.Trace, error) {
	if err := t.RequireRaft(); err != nil {
		return nil, err
	}
	p, err := NewStepper(t.Config)
	if err != nil {
		return nil, err
	}
	kept := *t
	kept.Steps = nil
	for _, st := range t.Steps {
		if _, err := p.Step(st.Action); err == nil {
			kept.Steps = append(kept.Steps, st)
		}
	}
	return &kept, nil
}

// TimerCaption is the prefix of the captions timerCaption writes.
const TimerCaption = "election timers: "

// timerCaption describes the election timers after a step that changed
// them, for a model with timers (the shared view has no timers, so a Tick
// would otherwise show no change): each server's ticks out of
// model.ElectionTicks, "*" once it has ticked in the current round.
func timerCaption(m *model.Model, before, s *model.State) string {
	if !m.Config().Timers {
		return ""
	}
	var parts []string
	changed := false
	for i := 1; i <= m.Config().Servers+m.Config().Joiners; i++ {
		e, ticked := m.Timer(s, spec.ServerID(i))
		e0, ticked0 := m.Timer(before, spec.ServerID(i))
		changed = changed || e != e0 || ticked != ticked0
		mark := ""
		if ticked {
			mark = "*"
		}
		parts = append(parts, fmt.Sprintf("S%d %d/%d%s", i, e, model.ElectionTicks, mark))
	}
	if !changed {
		return ""
	}
	return TimerCaption + strings.Join(parts, " ")
}

// RecaptionTimers rewrites the timer captions of t (after shrinking, the
// old ones describe other states): each step whose timers change gets
// one, and a caption of another kind is kept.
func RecaptionTimers(t *traces.Trace) error {
	p, err := NewStepper(t.Config)
	if err != nil {
		return err
	}
	for i := range t.Steps {
		st := &t.Steps[i]
		before := p.State()
		if _, err := p.Step(st.Action); err != nil {
			return fmt.Errorf("step %d: %w", i+1, err)
		}
		after := p.State()
		if st.Caption == "" || strings.HasPrefix(st.Caption, TimerCaption) {
			st.Caption = timerCaption(p.Model(), &before, &after)
		}
	}
	return nil
}
