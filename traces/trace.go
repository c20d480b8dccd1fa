// Package traces is the trace format, the one artefact a finding travels
// in: a versioned JSON trace of a run in the shared vocabulary (spec.Action
// steps with captions, expectations and the recorded state), naming the
// model it is a run of and that model's configuration. This package reads,
// validates and writes traces; traces/README.md specifies every field.
// Replaying one on the model is package traces/replay, on an
// implementation package conform, shrinking traces/shrink, showing it
// traces/view.
package traces

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/spec"
)

// FormatName and Version identify the format; Parse reads versions 1 and
// 2 (version 1 has no "model" field and is always a run of RaftModel) and
// refuses others; traces are written as version 2.
const (
	FormatName = "raftcheck-trace"
	Version    = 2
	// RaftModel names raftcheck's own model (package model), the one this
	// build replays.
	RaftModel = "raft"
)

// Trace is a run of a model: which model and the configuration it ran
// under, what produced it, the property it violates (if any) and its
// steps.
type Trace struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	Title   string `json:"title,omitempty"`
	// Model names the model the steps are a run of. For RaftModel the
	// configuration is Config; a trace of another model (a third party's
	// model speaking the spec vocabulary) carries its configuration as it
	// writes it in ModelConfig, an object with at least "servers": such
	// a trace is read, validated, shown from its recorded states and
	// written back unchanged, but only RaftModel's are replayed here.
	Model       string          `json:"model"`
	Config      model.Config    `json:"-"`
	ModelConfig json.RawMessage `json:"-"`
	// Violation is the property the trace violates, or nil.
	Violation *Violation `json:"violation,omitempty"`
	Producer  Producer   `json:"producer"`
	Steps     []Step     `json:"steps"`
	// Loop, set on a lasso (a liveness counterexample), is the number K of
	// the step after which the cycle starts (0: at the initial state): the
	// steps K+1 .. N repeat forever, the state after step N being the
	// state after step K. K = N is a behaviour that stops at step N and
	// stutters there forever.
	Loop *int `json:"-"`
}

// IsLasso reports whether the trace is a lasso (Loop set).
func (t *Trace) IsLasso() bool { return t.Loop != nil }

// LoopStart is the step after which a lasso's cycle starts (see Loop).
func (t *Trace) LoopStart() int {
	if t.Loop == nil {
		return len(t.Steps)
	}
	return *t.Loop
}

// fileTrace is Trace as it is in the file: the configuration as raw JSON
// under "config".
type fileTrace struct {
	Format    string          `json:"format"`
	Version   int             `json:"version"`
	Title     string          `json:"title,omitempty"`
	Model     string          `json:"model,omitempty"`
	Config    json.RawMessage `json:"config"`
	Violation *Violation      `json:"violation,omitempty"`
	Producer  Producer        `json:"producer"`
	Loop      *int            `json:"loop,omitempty"`
	Steps     []Step          `json:"steps"`
}

// IsRaft reports whether the trace is a run of raftcheck's model.
func (t *Trace) IsRaft() bool { return t.Model == RaftModel }

// Servers is the cluster size of the trace's configuration: with
// membership changes, the initial members and the joiners.
func (t *Trace) Servers() int {
	if t.IsRaft() {
		return t.Config.Servers + t.Config.Joiners
	}
	var c struct {
		Servers int `json:"servers"`
	}
	_ = json.Unmarshal(t.ModelConfig, &c)
	return c.Servers
}

// RequireRaft returns an error unless the trace is a run of raftcheck's
// model, for the tools that replay it on that model.
func (t *Trace) RequireRaft() error {
	if !t.IsRaft() {
		return fmt.Errorf("the trace is a run of model %q; this build replays only %q traces", t.Model, RaftModel)
	}
	return nil
}

// Violation names the violated property and the step that breaks it.
type Violation struct {
	Property string `json:"property"`
	// Kind is "invariant" (the state after Step violates it),
	// "transition" (step Step itself does) or "liveness" (the trace is a
	// lasso, Trace.Loop, on which the property fails forever; Step is its
	// last step).
	Kind string `json:"kind"`
	// Fair, for a liveness violation, lists the fairness assumptions the
	// lasso satisfies (a --fair list, e.g. "Deliver,Timeout,Tick").
	Fair string `json:"fair,omitempty"`
	// Step is the 1-based number of the step after which, or at which, the
	// property fails.
	Step    int    `json:"step"`
	Message string `json:"message,omitempty"`
}

// Producer records what made the trace.
type Producer struct {
	// Tool is e.g. "explore check", "explore shrink", "hand-written".
	Tool string `json:"tool"`
	// Command is the command line that reproduces the trace, if any.
	Command  string `json:"command,omitempty"`
	Strategy string `json:"strategy,omitempty"`
	Seed     uint64 `json:"seed,omitempty"`
}

// Step is one action with an optional caption, optional expectations that
// replay checks, and optionally the model's state after it as recorded
// when the trace was made.
type Step struct {
	Action  spec.Action `json:"action"`
	Caption string      `json:"caption,omitempty"`
	Expect  *Expect     `json:"expect,omitempty"`
	State   *spec.State `json:"state,omitempty"`
}

// Expect lists facts about the state after a step that replay checks.
type Expect struct {
	// Servers gives some fields of some servers' views.
	Servers []ServerExpect `json:"servers,omitempty"`
	// Committed lists values that must be committed (in the committed
	// history); NotCommitted values that must not be.
	Committed    []spec.Value `json:"committed,omitempty"`
	NotCommitted []spec.Value `json:"not_committed,omitempty"`
	// InFlight, if set, is the number of message copies in flight.
	InFlight *int `json:"in_flight,omitempty"`
}

// ServerExpect gives the expected values of some fields of one server's
// view; a nil field is not checked.
type ServerExpect struct {
	ID          spec.ServerID  `json:"id"`
	Role        *string        `json:"role,omitempty"`
	Term        *spec.Term     `json:"term,omitempty"`
	VotedFor    *spec.ServerID `json:"voted_for,omitempty"`
	Log         *[]spec.Entry  `json:"log,omitempty"`
	CommitIndex *spec.Index    `json:"commit_index,omitempty"`
}

// New returns an empty trace of raftcheck's model, of the current version,
// for cfg.
func New(cfg model.Config, producer Producer) *Trace {
	return &Trace{Format: FormatName, Version: Version, Model: RaftModel, Config: cfg, Producer: producer}
}

// Marshal renders the trace as indented JSON (version 2).
func (t *Trace) Marshal() ([]byte, error) {
	f := fileTrace{Format: t.Format, Version: Version, Title: t.Title, Model: t.Model, Config: t.ModelConfig,
		Violation: t.Violation, Producer: t.Producer, Loop: t.Loop, Steps: t.Steps}
	if t.IsRaft() {
		c, err := json.Marshal(t.Config)
		if err != nil {
			return nil, fmt.Errorf("encoding trace: %w", err)
		}
		f.Config = c
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding trace: %w", err)
	}
	return append(b, '\n'), nil
}

// WriteFile writes the trace to path.
func (t *Trace) WriteFile(path string) error {
	b, err := t.Marshal()
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("writing trace: %w", err)
	}
	return nil
}

// Error is a problem with a trace file, located as precisely as possible.
type Error struct {
	File  string
	Step  int    // 1-based step number, 0 for the header
	Field string // JSON path of the field, e.g. "action.message.term"
	Err   error
}

// Error renders the problem on one line: "FILE: step N: FIELD: problem".
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Step > 0 {
		fmt.Fprintf(&b, "step %d: ", e.Step)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying problem.
func (e *Error) Unwrap() error { return e.Err }

// ReadFile reads and validates a trace file.
func ReadFile(path string) (*Trace, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	t, err := Parse(b)
	if err != nil {
		var te *Error
		if errors.As(err, &te) {
			te.File = path
			return nil, te
		}
		return nil, &Error{File: path, Err: err}
	}
	return t, nil
}

// Parse decodes and validates a trace. Unknown fields are refused, so a
// misspelt field is reported rather than ignored. The steps are decoded one
// by one, so an error names its step.
func Parse(b []byte) (*Trace, error) {
	var raw struct {
		fileTrace
		Steps []json.RawMessage `json:"steps"`
	}
	if err := strictDecode(b, &raw); err != nil {
		return nil, jsonError(b, 0, err)
	}
	t := Trace{Format: raw.Format, Version: raw.Version, Title: raw.Title, Model: raw.Model,
		Violation: raw.Violation, Producer: raw.Producer, Loop: raw.Loop}
	if err := t.decodeConfig(raw.Config); err != nil {
		return nil, err
	}
	t.Steps = make([]Step, len(raw.Steps))
	for i, rs := range raw.Steps {
		if err := strictDecode(rs, &t.Steps[i]); err != nil {
			return nil, jsonError(rs, i+1, err)
		}
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return &t, nil
}

func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

// decodeConfig reads the header's model and configuration: version 1 is
// always raftcheck's model; version 2 names its model.
func (t *Trace) decodeConfig(raw json.RawMessage) error {
	if t.Format != FormatName {
		return &Error{Field: "format", Err: fmt.Errorf("%q is not %q", t.Format, FormatName)}
	}
	switch {
	case t.Version == 1 && t.Model != "":
		return &Error{Field: "model", Err: errors.New("version 1 traces have no model field (they are all of the raft model)")}
	case t.Version == 1:
		t.Model = RaftModel
	case t.Version != 2:
		return &Error{Field: "version", Err: fmt.Errorf("version %d is not supported (this build reads versions 1 and 2)", t.Version)}
	case t.Model == "":
		return &Error{Field: "model", Err: fmt.Errorf("missing: name the model the trace is a run of (%q for raftcheck's)", RaftModel)}
	}
	if len(raw) == 0 {
		return &Error{Field: "config", Err: errors.New("missing")}
	}
	if !t.IsRaft() {
		t.ModelConfig = raw
		return nil
	}
	if err := strictDecode(raw, &t.Config); err != nil {
		e, _ := jsonError(raw, 0, err).(*Error)
		e.Field = strings.TrimSuffix("config."+e.Field, ".")
		return e
	}
	return nil
}

// jsonError turns a decoding error of step (0: the header) into one naming
// the field.
func jsonError(b []byte, step int, err error) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return &Error{Step: step, Err: errors.New("empty file")}
	}
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		field := strings.TrimPrefix(strings.TrimPrefix(ute.Field, "Trace."), "Step.")
		return &Error{Step: step, Field: field, Err: fmt.Errorf("expected %s, got JSON %s", jsonKind(ute.Type), ute.Value)}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &Error{Step: step, Err: errors.New("the JSON ends in the middle of a value (truncated file?)")}
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := 1 + bytes.Count(b[:min(int(se.Offset), len(b))], []byte("\n"))
		return &Error{Step: step, Err: fmt.Errorf("line %d: %v", line, se)}
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return &Error{Step: step, Err: fmt.Errorf("unknown field %s", f)}
	}
	return &Error{Step: step, Err: err}
}

// Validate checks the header and every step against the configuration,
// naming the first problem by step and field.
func (t *Trace) Validate() error {
	if t.Format != FormatName {
		return &Error{Field: "format", Err: fmt.Errorf("%q is not %q", t.Format, FormatName)}
	}
	if t.IsRaft() {
		if err := t.Config.Validate(); err != nil {
			return &Error{Field: "config", Err: err}
		}
	} else if n := t.Servers(); n < 1 || n > spec.MaxServers {
		return &Error{Field: "config.servers", Err: fmt.Errorf("a %q trace's config needs \"servers\" between 1 and %d", t.Model, spec.MaxServers)}
	}
	if err := t.validateLoop(); err != nil {
		return err
	}
	if v := t.Violation; v != nil {
		if _, ok := spec.LookupProperty(v.Property); !ok && !slices.Contains(model.LivenessProperties, v.Property) {
			return &Error{Field: "violation.property", Err: fmt.Errorf("unknown property %q", v.Property)}
		}
		if v.Kind != "invariant" && v.Kind != "transition" && v.Kind != "liveness" {
			return &Error{Field: "violation.kind", Err: fmt.Errorf("%q is not invariant, transition or liveness", v.Kind)}
		}
		if v.Step < 0 || v.Step > len(t.Steps) || (v.Kind == "transition" && v.Step == 0) {
			return &Error{Field: "violation.step", Err: fmt.Errorf("step %d is not a step of this %d-step trace", v.Step, len(t.Steps))}
		}
		if after := len(t.Steps) - v.Step; after > 0 {
			// Nothing after a violation can be checked against what the
			// trace claims, so such steps would replay unexamined.
			return &Error{Field: "violation.step", Err: fmt.Errorf("the trace has %d steps after its violation at step %d; a trace ends at its violation", after, v.Step)}
		}
	}
	n := t.Servers()
	for i := range t.Steps {
		st := &t.Steps[i]
		if err := st.Action.Validate(n); err != nil {
			return &Error{Step: i + 1, Field: "action", Err: err}
		}
		if e := st.Expect; e != nil {
			for k, se := range e.Servers {
				if se.ID == spec.None || int(se.ID) > n {
					return &Error{Step: i + 1, Field: fmt.Sprintf("expect.servers[%d].id", k), Err: fmt.Errorf("%d is not a server", se.ID)}
				}
				if se.Role != nil {
					if _, err := spec.ParseRole(*se.Role); err != nil {
						return &Error{Step: i + 1, Field: fmt.Sprintf("expect.servers[%d].role", k), Err: err}
					}
				}
			}
			if e.InFlight != nil && *e.InFlight < 0 {
				return &Error{Step: i + 1, Field: "expect.in_flight", Err: errors.New("negative count")}
			}
		}
		if st.State != nil && len(st.State.Servers) != n {
			return &Error{Step: i + 1, Field: "state.servers", Err: fmt.Errorf("%d servers recorded in a %d-server trace", len(st.State.Servers), n)}
		}
	}
	return nil
}

// validateLoop checks a lasso's loop marker: within the steps, and set
// exactly when the trace claims a liveness violation.
func (t *Trace) validateLoop() error {
	liveness := t.Violation != nil && t.Violation.Kind == "liveness"
	switch {
	case t.Loop == nil && liveness:
		return &Error{Field: "loop", Err: errors.New("missing: a liveness violation is a lasso and needs the step its cycle starts after")}
	case t.Loop == nil:
		return nil
	case !liveness:
		return &Error{Field: "loop", Err: errors.New("only a lasso, a trace with a violation of kind \"liveness\", has a loop")}
	case *t.Loop < 0 || *t.Loop > len(t.Steps):
		return &Error{Field: "loop", Err: fmt.Errorf("%d is not a step of this %d-step trace (0 to %d)", *t.Loop, len(t.Steps), len(t.Steps))}
	}
	return nil
}

// jsonKind names what JSON value a Go type takes, for error messages.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	}
	return "an object"
}
