package validate

import (
	"fmt"
	"strings"
)

// Failure is the first event that no behaviour of the specification
// explains: where it is, which rule, guard or property failed, and for a
// state or message field what the rules give against what was logged.
type Failure struct {
	// Event is the failing event (nil for a failure of the run as a whole).
	Event *Event
	// Rule names the rule, guard or property that failed, as
	// spec/README.md names it ("AppendEntries receiver", "Timeout guard",
	// "send AppendEntries", "election-safety", ...).
	Rule string
	// Field is the state or message field that disagrees ("state.commit",
	// "sent[0].prev_log_term"), or "" when the rule failed as a whole.
	Field string
	// Expected and Got are the field's value by the rules and as logged,
	// when Field is set.
	Expected, Got any
	// Detail explains the failure in words.
	Detail string
}

// Error formats the failure on one line: where, the event, the rule and
// the field with expected and got.
func (f *Failure) Error() string {
	var b strings.Builder
	if f.Event != nil {
		fmt.Fprintf(&b, "%s: %s: ", f.Event.Where(), f.Event)
	}
	b.WriteString(f.Rule)
	if f.Field != "" {
		fmt.Fprintf(&b, ": %s: expected %v, got %v", f.Field, f.Expected, f.Got)
	}
	if f.Detail != "" {
		b.WriteString(" (" + f.Detail + ")")
	}
	return b.String()
}

// fail builds a Failure without a field.
func fail(rule, format string, args ...any) *Failure {
	return &Failure{Rule: rule, Detail: fmt.Sprintf(format, args...)}
}

// mismatch builds a Failure of one field.
func mismatch(rule, field string, expected, got any, format string, args ...any) *Failure {
	return &Failure{Rule: rule, Field: field, Expected: expected, Got: got, Detail: fmt.Sprintf(format, args...)}
}
