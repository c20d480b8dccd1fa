// Package validate checks a run of a real Raft cluster — one event log per
// server — against the rules of spec/README.md (trace validation).
//
// The event log is a public contract (README.md, "Checking a real run"):
// ndjson, one file per server, one line per step of the server's Raft
// core. Each line says what the step's input was (a timeout, a heartbeat,
// a client request, a message received, a restart, a compaction), which
// messages the step sent, each with a sender-assigned unique id, and,
// optionally, the state after it in the vocabulary of package spec.
//
// The reference is not the bounded model (which holds 8 entries, 15 terms
// and 16 messages at most) but an unbounded reading of the same rules over
// spec types: per server the receive rules are deterministic and replayed
// exactly, sends are checked as allowed by the sender's state, and across
// servers every received message must have been sent with the same
// content, in causal order, with the safety properties of Figure 3 checked
// on the reconstructed states.
package validate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	gojson "github.com/goccy/go-json"

	"github.com/raftcheck/raftcheck/spec"
)

// Kind is the input of one core step.
type Kind string

// The event kinds.
const (
	// Timeout: the server's election timer fired and it campaigned.
	Timeout Kind = "Timeout"
	// Heartbeat: a leader's heartbeat (it may send AppendEntries or
	// InstallSnapshot to any peer).
	Heartbeat Kind = "Heartbeat"
	// ClientRequest: a leader appended Values, one entry each, as one
	// batch.
	ClientRequest Kind = "ClientRequest"
	// Receive: the server handled Msg (an InstallSnapshot included).
	Receive Kind = "Receive"
	// Restart: the server crashed and recovered its persistent state
	// (term, vote, log, snapshot), which State reports.
	Restart Kind = "Restart"
	// Compact: the server snapshotted its log up to Index.
	Compact Kind = "Compact"
	// Reconfigure: a leader appended a configuration entry for Config
	// (a membership change: AddServer, RemoveServer, AddLearner,
	// EnterJoint or LeaveJoint).
	Reconfigure Kind = "Reconfigure"
)

var kinds = []Kind{Timeout, Heartbeat, ClientRequest, Receive, Restart, Compact, Reconfigure}

// Message is a spec.Message with the identity its sender gave it. The id
// is unique among the messages of a run (for example "S1#17": sender and
// a counter); a receiver reports the id of the message it handled, so a
// duplicated message is received twice under one id.
type Message struct {
	ID string `json:"id"`
	spec.Message
}

// State is the projection of a server's state after a step. Every field is
// optional: what is logged is checked, what is not is reconstructed.
type State struct {
	Term     *spec.Term     `json:"term,omitempty"`
	Vote     *spec.ServerID `json:"vote,omitempty"`
	Role     *spec.Role     `json:"role,omitempty"`
	LogLen   *spec.Index    `json:"log_len,omitempty"`
	LastTerm *spec.Term     `json:"last_term,omitempty"`
	Commit   *spec.Index    `json:"commit,omitempty"`
	Snapshot *spec.Index    `json:"snapshot,omitempty"`
	// Config is the configuration in effect (the last configuration entry
	// of the log, else the initial configuration: all servers voters).
	Config *spec.Configuration `json:"config,omitempty"`
}

// Event is one line of a server's event log.
type Event struct {
	// Server is the server the file belongs to (1..N).
	Server spec.ServerID `json:"server"`
	// Seq numbers the server's events 1, 2, 3, ... with no gap, so that a
	// lost line is detected where it was lost.
	Seq  uint64 `json:"seq"`
	Kind Kind   `json:"kind"`
	// Values are the client values of a ClientRequest, in log order.
	Values []spec.Value `json:"values,omitempty"`
	// Msg is the message a Receive handled.
	Msg *Message `json:"msg,omitempty"`
	// Index is the last index a Compact's snapshot covers.
	Index spec.Index `json:"index,omitempty"`
	// Config is the configuration a Reconfigure's entry holds.
	Config *spec.Configuration `json:"config,omitempty"`
	// Sent are the messages the step sent, in order.
	Sent []Message `json:"sent,omitempty"`
	// State is the state after the step (optional, partial allowed).
	State *State `json:"state,omitempty"`
	// Entries, if logged, are the last len(Entries) entries of the log
	// after the step: the ones the step appended.
	Entries []spec.Entry `json:"entries,omitempty"`

	// Where the event was read from (not part of the format).
	File string `json:"-"`
	Line int    `json:"-"`
}

// Where names the event's place, file:line.
func (e *Event) Where() string {
	if e.File == "" {
		return fmt.Sprintf("S%d event %d", e.Server, e.Seq)
	}
	return e.File + ":" + strconv.Itoa(e.Line)
}

// String summarises the event on one line.
func (e *Event) String() string {
	s := fmt.Sprintf("%v #%d %s", e.Server, e.Seq, e.Kind)
	switch e.Kind {
	case ClientRequest:
		s += fmt.Sprintf(" %v", e.Values)
	case Receive:
		if e.Msg != nil {
			s += fmt.Sprintf(" %s %v", e.Msg.ID, e.Msg.Message)
		}
	case Compact:
		s += fmt.Sprintf(" to %d", e.Index)
	case Reconfigure:
		if e.Config != nil {
			s += " " + e.Config.String()
		}
	}
	return s
}

// ReadFile reads and checks one server's event log.
func ReadFile(path string) ([]Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	defer f.Close()
	return Read(f, path)
}

// Read decodes an event log strictly: an unknown field, a bad value, a
// missing field of the event's kind or a message no server could send is
// one error naming name:line and the field. Blank lines are skipped; an
// event is one line.
func Read(r io.Reader, name string) ([]Event, error) {
	all, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	// First the syntax, line by line, with encoding/json's scanner
	// (goccy/go-json accepts some malformed input); then one goccy/go-json
	// decoder over the whole log, one value per non-blank line, at 1.5 to
	// 2 times encoding/json's speed. A line it refuses is decoded again by
	// encoding/json, whose errors name the field.
	var texts [][]byte
	var lines []int
	for line, rest := 1, all; len(rest) > 0; line++ {
		text := rest
		if nl := bytes.IndexByte(rest, '\n'); nl >= 0 {
			text, rest = rest[:nl], rest[nl+1:]
		} else {
			rest = nil
		}
		if text = bytes.TrimSpace(text); len(text) == 0 {
			continue
		}
		if !json.Valid(text) {
			return nil, fmt.Errorf("%s:%d: %w", name, line, explainLine(text, nil))
		}
		texts, lines = append(texts, text), append(lines, line)
	}
	if len(texts) == 0 {
		return nil, fmt.Errorf("%s: no events", name)
	}
	dec := gojson.NewDecoder(bytes.NewReader(all))
	dec.DisallowUnknownFields()
	out := make([]Event, 0, len(texts))
	for k, line := range lines {
		var ev Event
		err := dec.Decode(&ev)
		if err != nil {
			err = explainLine(texts[k], err)
		} else {
			err = ev.check(out)
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		ev.File, ev.Line = name, line
		out = append(out, ev)
	}
	return out, nil
}

// explainLine decodes one line with encoding/json, strictly, for an error
// naming the field; err is the fast decoder's error, reported if
// encoding/json finds none.
func explainLine(text []byte, err error) error {
	var ev Event
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	e := dec.Decode(&ev)
	switch {
	case errors.Is(e, io.ErrUnexpectedEOF):
		return errors.New("bad JSON: the event is cut or spans several lines (one event per line)")
	case e != nil:
		return describeJSONError(e)
	case dec.More():
		return errors.New("more than one JSON value on the line")
	}
	return fmt.Errorf("bad JSON: %v", err)
}

// describeJSONError names the field of a decoding error.
func describeJSONError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("field %s: %s is not a valid %v", te.Field, te.Value, te.Type)
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return fmt.Errorf("field %s: not a field of the event format", f)
	}
	return fmt.Errorf("bad JSON: %s", strings.TrimPrefix(msg, "json: "))
}

// check verifies what one event says on its own and against the events
// before it in its file.
func (e *Event) check(before []Event) error {
	if e.Server == spec.None || e.Server > spec.MaxServers {
		return fmt.Errorf("field server: %d is not a server id in 1..%d", e.Server, spec.MaxServers)
	}
	if len(before) > 0 && before[0].Server != e.Server {
		return fmt.Errorf("field server: S%d in the event log of S%d (one file per server)", e.Server, before[0].Server)
	}
	if want := uint64(len(before)) + 1; e.Seq != want {
		return fmt.Errorf("field seq: %d where %d comes next (a line lost or out of order)", e.Seq, want)
	}
	if err := e.checkKind(); err != nil {
		return err
	}
	for k := range e.Sent {
		m := &e.Sent[k]
		if err := checkMessage(m); err != nil {
			return fmt.Errorf("field sent[%d].%w", k, err)
		}
		if m.From != e.Server {
			return fmt.Errorf("field sent[%d].from: %v, but the event is %v's", k, m.From, e.Server)
		}
	}
	return nil
}

func (e *Event) checkKind() error {
	valid := false
	for _, k := range kinds {
		valid = valid || e.Kind == k
	}
	if !valid {
		return fmt.Errorf("field kind: %q is not one of %v", e.Kind, kinds)
	}
	has := map[string]bool{"values": len(e.Values) > 0, "msg": e.Msg != nil, "index": e.Index != 0, "config": e.Config != nil}
	need := map[Kind]string{ClientRequest: "values", Receive: "msg", Compact: "index", Reconfigure: "config"}[e.Kind]
	for f, set := range has {
		if f == need && !set {
			return fmt.Errorf("field %s: missing, a %s needs it", f, e.Kind)
		}
		if f != need && set {
			return fmt.Errorf("field %s: not a field of a %s event", f, e.Kind)
		}
	}
	for k, v := range e.Values {
		if v == "" {
			return fmt.Errorf("field values[%d]: empty value", k)
		}
	}
	if e.Msg != nil {
		if err := checkMessage(e.Msg); err != nil {
			return fmt.Errorf("field msg.%w", err)
		}
		if e.Msg.To != e.Server {
			return fmt.Errorf("field msg.to: %v, but %v received it", e.Msg.To, e.Server)
		}
	}
	if e.Config != nil && e.Config.Voters == 0 {
		return errors.New("field config.voters: a configuration needs a voter")
	}
	if e.Kind == Restart && len(e.Sent) > 0 {
		return errors.New("field sent: a Restart sends nothing")
	}
	return nil
}

// checkMessage checks a message on its own. An InstallSnapshot may omit
// its data (entries): an implementation's snapshot is its state machine,
// and the validator takes the sender's log prefix instead.
func checkMessage(m *Message) error {
	if m.ID == "" {
		return errors.New("id: missing (every message needs its sender's unique id)")
	}
	c := m.Message
	if c.Type == spec.InstallSnapshot && len(c.Entries) == 0 {
		if c.LastIncludedIndex == 0 || c.LastIncludedTerm == 0 || c.LastIncludedTerm > c.Term {
			return fmt.Errorf("last_included_index/last_included_term: %d/%d is no snapshot of term %d", c.LastIncludedIndex, c.LastIncludedTerm, c.Term)
		}
		// Validate a one-entry stand-in for the data left out.
		c.LastIncludedIndex, c.Entries = 1, []spec.Entry{{Term: c.LastIncludedTerm}}
	}
	if err := c.Validate(); err != nil {
		return err
	}
	return nil
}

// Writer writes an event log: the hook an implementation calls once per
// core step. It numbers the events (Seq) itself.
type Writer struct {
	w   *bufio.Writer
	enc *json.Encoder
	seq uint64
}

// NewWriter returns a Writer on w; call Flush at the end.
func NewWriter(w io.Writer) *Writer {
	bw := bufio.NewWriter(w)
	return &Writer{w: bw, enc: json.NewEncoder(bw)}
}

// Write numbers ev and writes it as one line.
func (w *Writer) Write(ev *Event) error {
	w.seq++
	ev.Seq = w.seq
	if err := w.enc.Encode(ev); err != nil {
		return fmt.Errorf("validate: write event %d: %w", ev.Seq, err)
	}
	return nil
}

// Flush writes what is buffered.
func (w *Writer) Flush() error { return w.w.Flush() }
