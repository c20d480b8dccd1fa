package traces

import (
	"github.com/raftcheck/raftcheck/checker"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/model/checking"
)

// FromPath turns a path of the explorer into a trace, recording the
// model's state after every step and, if v is set, the violation.
func FromPath(m *model.Model, p *checker.Path[model.State, model.Action], v *checker.Violation[model.State, model.Action], producer Producer) *Trace {
	t := New(m.Config(), producer)
	_, steps := checking.SpecPath(m, p)
	for _, st := range steps {
		s := st.State
		t.Steps = append(t.Steps, Step{Action: st.Action, State: &s})
	}
	if v != nil {
		kind := "invariant"
		if v.Kind == checker.TransitionProperty {
			kind = "transition"
		}
		t.Violation = &Violation{Property: v.Property, Kind: kind, Step: len(t.Steps), Message: v.Err.Error()}
	}
	return t
}
