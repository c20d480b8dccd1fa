package conform

import (
	"errors"
	"fmt"

	"github.com/raftcheck/raftcheck/traces"
	"github.com/raftcheck/raftcheck/traces/replay"
)

// Result is the outcome of replaying a trace on the model and a System
// side by side.
type Result struct {
	// Frames holds, for the initial state and every step replayed, the
	// model's state and the system's; after a divergence the frames are
	// the model's only (ModelOnly), up to the trace's end.
	Frames []replay.Frame
	// Divergence is the first difference, or nil.
	Divergence *Divergence
	// Refused is set when the model itself cannot take a step of the
	// trace (the trace is wrong, not the system); the replay stops there.
	Refused string
	// Failures lists what the trace records about the model that does not
	// hold, as replay.Result.Failures does (Refused included).
	Failures []string
	// ImplBroken is the first property broken on the system's states.
	ImplBroken *replay.Broken
	// Steps is the number of steps compared with the system.
	Steps int
}

// OK reports whether the trace replayed on the model as it claims and the
// system never diverged.
func (r *Result) OK() bool { return len(r.Failures) == 0 && r.Divergence == nil }

// Replay replays t's steps on the model of its configuration and on a
// System built by f, comparing them under abs after every step, and checks
// on the model everything replay.Model checks (expectations, recorded
// states, the claimed violation). After the first divergence only the
// model goes on, to the end of the trace, so its violation is still
// reached. Properties are evaluated on the system's states too.
func Replay(t *traces.Trace, f Factory, abs Abstraction) (*Result, error) {
	if err := t.RequireRaft(); err != nil {
		return nil, err
	}
	l, err := NewLockstep(t.Config, f, abs)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	r := &Result{Frames: []replay.Frame{l.Frame()}}
	c := replay.NewClaims(t)
	for i, st := range t.Steps {
		fr, o, err := l.Step(st.Action)
		if errors.Is(err, ErrModelRefused) {
			r.Refused = fmt.Sprintf("step %d: %v", i+1, err)
			c.Refused(i+1, err)
			break
		}
		if err != nil {
			return nil, err
		}
		fr.Step, fr.Caption = i+1, st.Caption
		c.Check(&fr, o.Broken)
		r.Frames = append(r.Frames, fr)
	}
	r.Divergence, r.ImplBroken, r.Steps = l.Divergence(), l.ImplBroken(), l.Steps()
	r.Failures = c.Finish(len(r.Frames)-1 == len(t.Steps))
	return r, nil
}
