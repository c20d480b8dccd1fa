package conform

import (
	"fmt"

	"github.com/raftcheck/raftcheck/spec"
)

// Kind classifies a divergence.
type Kind int

// The kinds of divergence, in the order a divergence is classified: a
// refused action first, then any server field, then extra messages, then
// missing ones.
const (
	// MissingAction: the system cannot take a step the model took.
	MissingAction Kind = iota + 1
	// DifferentState: some server's view (or the partition) differs.
	DifferentState
	// UnexpectedMessage: the system sent a message the model did not (or
	// holds more copies of it).
	UnexpectedMessage
	// MissingMessage: the model sent a message the system did not.
	MissingMessage
	// DifferentDurable: what some server holds on stable storage differs
	// from the model's persistent state.
	DifferentDurable
)

var kindNames = [...]string{"", "missing action", "different state", "unexpected message", "missing message", "different durable state"}

// String names the kind as the reports and the viewer do.
func (k Kind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// ParseKind is the inverse of Kind.String.
func ParseKind(s string) (Kind, error) {
	for k := MissingAction; k <= DifferentDurable; k++ {
		if k.String() == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("unknown kind of divergence %q", s)
}

// FieldDiff is a field of a server's view (by its JSON name) that differs,
// with both values rendered.
type FieldDiff struct {
	Server        spec.ServerID
	Field         string
	Model, System string
}

// MessageDiff is a message whose copies in flight differ.
type MessageDiff struct {
	Message       spec.Message
	Model, System int
}

// Divergence is the first step at which the system differs from the model.
type Divergence struct {
	// Step is the 1-based step (0: the initial states differ).
	Step int
	Kind Kind
	// Action is the step's action (zero for the initial state).
	Action spec.Action
	// Refusal is the system's error for a MissingAction.
	Refusal string
	// Fields, Messages and Partition (model's, system's) say what differs
	// after the step.
	Fields    []FieldDiff
	Messages  []MessageDiff
	Partition *[2]string
	// Durable lists the fields of stable storage that differ (Field is
	// "durable.term", "durable.voted_for", "durable.log" or
	// "durable.snapshot_index").
	Durable []FieldDiff
}

func (d *Divergence) classify() Kind {
	switch {
	case d.Refusal != "":
		return MissingAction
	case len(d.Fields) > 0:
		return DifferentState
	case len(d.Durable) > 0 && len(d.Messages) == 0 && d.Partition == nil:
		return DifferentDurable
	}
	for _, m := range d.Messages {
		if m.System > m.Model {
			return UnexpectedMessage
		}
	}
	if len(d.Messages) > 0 {
		return MissingMessage
	}
	return DifferentState
}

// Lines renders the differences, one per line: "S2 voted_for: model S3 |
// impl -", "message missing: … (x1 vs x0)", "message unexpected: … (x0 vs
// x1)", "partition: model … | impl …", or for a refused action "ACTION:
// model takes it | impl: ERROR".
func (d *Divergence) Lines() []string {
	var out []string
	if d.Refusal != "" {
		out = append(out, fmt.Sprintf("%v: model takes it | impl: %s", d.Action, d.Refusal))
	}
	for _, f := range d.Fields {
		if f.Server == spec.None {
			out = append(out, fmt.Sprintf("%s: model %s | impl %s", f.Field, f.Model, f.System))
			continue
		}
		out = append(out, fmt.Sprintf("%v %s: model %s | impl %s", f.Server, f.Field, f.Model, f.System))
	}
	for _, m := range d.Messages {
		what := "missing"
		if m.System > m.Model {
			what = "unexpected"
		}
		out = append(out, fmt.Sprintf("message %s: %v (x%d vs x%d)", what, m.Message, m.Model, m.System))
	}
	if p := d.Partition; p != nil {
		out = append(out, fmt.Sprintf("partition: model %s | impl %s", p[0], p[1]))
	}
	for _, f := range d.Durable {
		out = append(out, fmt.Sprintf("%v %s: model %s | impl %s", f.Server, f.Field, f.Model, f.System))
	}
	return out
}
