package traces

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/raftcheck/raftcheck/impl/cluster"
	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/spec"
)

// The kinds of divergence between the model and the implementation.
const (
	// MissingAction: the implementation cannot take a step the model took.
	MissingAction = "missing action"
	// UnexpectedMessage: the implementation sent a message the model did
	// not (or holds more copies of it).
	UnexpectedMessage = "unexpected message"
	// MissingMessage: the model sent a message the implementation did not.
	MissingMessage = "missing message"
	// DifferentState: some server's view differs.
	DifferentState = "different state"
)

// ImplOptions configures a replay on the implementation.
type ImplOptions struct {
	// Faults switches on test-only fault switches of the implementation.
	Faults raft.Faults
	// Dir holds the servers' write-ahead logs ("" for a temporary
	// directory, removed afterwards).
	Dir string
	// Memory keeps the servers' persistent state in memory instead of a
	// write-ahead log (faster; for conformance runs over many paths).
	Memory bool
}

// Divergence is the first step where the implementation differs from the
// model.
type Divergence struct {
	Step int
	Kind string
	// Diff lists the differing fields, each as "what: model X | impl Y".
	Diff []string
}

// ImplReplay is the outcome of replaying a trace on the model and on the
// implementation side by side.
type ImplReplay struct {
	// Frames holds, for the initial state and every step replayed, the
	// model's state and the implementation's; after a divergence the
	// frames are the model's only (ModelOnly), up to the trace's end.
	Frames []Frame
	// Divergence is the first difference, or nil.
	Divergence *Divergence
	// ModelFailure is set when the model itself cannot replay the trace.
	ModelFailure string
	// Failures lists what the trace records about the model that does not
	// hold, as ModelReplay.Failures does (ModelFailure included).
	Failures []string
	// ImplBroken is the first property broken on the implementation.
	ImplBroken *Violation
	// Steps is the number of steps compared with the implementation.
	Steps int
}

// OK reports whether the trace replayed on the model as it claims and the
// implementation never diverged.
func (r *ImplReplay) OK() bool { return len(r.Failures) == 0 && r.Divergence == nil }

// FaultsFor returns the implementation's fault switches that mirror the
// named seeded bugs of the model, or an error naming a bug without one.
func FaultsFor(bugs []string) (raft.Faults, error) {
	var f raft.Faults
	for _, b := range bugs {
		switch b {
		case "figure8-commit":
			f.Figure8Commit = true
		case "vote-without-log-check":
			f.VoteWithoutLogCheck = true
		case "truncate-on-stale-append":
			f.TruncateOnStaleAppend = true
		case "forget-vote-on-restart":
			f.ForgetVoteOnRestart = true
		case "commit-from-leadercommit":
			f.CommitFromLeaderCommit = true
		default:
			return f, fmt.Errorf("no implementation fault switch mirrors %q (there are: %s)", b, strings.Join(ImplFaultNames, ", "))
		}
	}
	return f, nil
}

// ImplFaultNames lists the seeded bugs the implementation can mirror.
var ImplFaultNames = []string{"figure8-commit", "vote-without-log-check", "truncate-on-stale-append", "forget-vote-on-restart", "commit-from-leadercommit"}

// ReplayImpl replays t's steps on the model of its configuration and on an
// in-process cluster of the production implementation, comparing after
// every step each server's view and the messages in flight, and checks on
// the model everything ReplayModel checks (expectations, recorded states,
// the claimed violation). After the first divergence only the model goes
// on, to the end of the trace, so its violation is still reached.
// Properties are evaluated on the implementation's states too, so a fault
// switch's violation shows.
func ReplayImpl(t *Trace, opts ImplOptions) (*ImplReplay, error) {
	l, err := NewLockstep(t.Config, opts)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	r := &ImplReplay{}
	c := &claims{t: t}
	f := l.Frame()
	r.Frames = append(r.Frames, f)
	if d := compare(&f.Model, f.Impl); len(d) > 0 {
		r.Divergence = &Divergence{Kind: classify(d), Diff: d}
		r.Frames[0].Diff, r.Frames[0].DiffKind = d, r.Divergence.Kind
	}
	for i, st := range t.Steps {
		before := l.ms.Clone()
		f, err := l.step(st.Action, r.Divergence != nil)
		if errors.Is(err, ErrModelRefused) {
			r.ModelFailure = fmt.Sprintf("step %d: %v", i+1, err)
			c.refused(i+1, err)
			break
		}
		if err != nil {
			return nil, fmt.Errorf("step %d: %w", i+1, err)
		}
		f.Step, f.Caption = i+1, st.Caption
		c.check(&f, &before)
		r.Frames = append(r.Frames, f)
		if f.ModelOnly {
			continue
		}
		r.Steps = i + 1
		if r.ImplBroken == nil && l.ImplBroken != nil {
			r.ImplBroken = l.ImplBroken
			r.ImplBroken.Step = i + 1
		}
		if f.DiffKind != "" {
			r.Divergence = &Divergence{Step: i + 1, Kind: f.DiffKind, Diff: f.Diff}
		}
	}
	r.Failures = c.finish(len(r.Frames)-1 == len(t.Steps))
	return r, nil
}

// ErrModelRefused is returned by Lockstep.Step when the model cannot take
// the action: the input is wrong, not the implementation.
var ErrModelRefused = errors.New("the model cannot take this step")

// Lockstep runs the model and the implementation side by side, one action
// at a time.
type Lockstep struct {
	m   *model.Model
	s   model.State
	ms  spec.State
	c   *cluster.Cluster
	is  spec.State
	dir string // removed by Close when the lockstep made it
	// ImplBroken is the first property broken on the implementation.
	ImplBroken *Violation
}

// NewLockstep starts the model of cfg and a cluster of the implementation
// in its initial state.
func NewLockstep(cfg model.Config, opts ImplOptions) (*Lockstep, error) {
	m, err := model.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("trace configuration: %w", err)
	}
	l := &Lockstep{m: m, s: m.Init()}
	dir := opts.Dir
	if dir == "" && !opts.Memory {
		if dir, err = os.MkdirTemp("", "raftcheck-replay-"); err != nil {
			return nil, fmt.Errorf("replay directory: %w", err)
		}
		l.dir = dir
	}
	l.c, err = cluster.New(cfg.Servers, cluster.Options{Dir: dir, Faults: opts.Faults, MaxCopies: cfg.MaxCopies})
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("starting the implementation: %w", err)
	}
	m.View(&l.s, &l.ms)
	l.is = l.c.State()
	return l, nil
}

// Frame returns the current states of both sides.
func (l *Lockstep) Frame() Frame {
	is := l.is
	return Frame{Model: l.ms.Clone(), Impl: &is}
}

// Enabled lists the actions the model can take now.
func (l *Lockstep) Enabled() []spec.Action { return l.m.Enabled(&l.s) }

// Step takes a on both sides and returns the frame after it; the frame's
// Diff and DiffKind are set when the two differ. The error wraps
// ErrModelRefused when the model cannot take a, and is another error only
// for a failure of the implementation's storage.
func (l *Lockstep) Step(a spec.Action) (Frame, error) { return l.step(a, false) }

// step is Step, or with modelOnly set a step of the model alone (after a
// divergence the implementation's state no longer corresponds).
func (l *Lockstep) step(a spec.Action, modelOnly bool) (Frame, error) {
	next, err := l.m.Step(l.s, a)
	if err != nil {
		return Frame{}, fmt.Errorf("%w: %v", ErrModelRefused, err)
	}
	l.s = next
	l.ms = spec.State{}
	l.m.View(&l.s, &l.ms)
	if modelOnly {
		return Frame{Action: a, Model: l.ms.Clone(), ModelOnly: true}, nil
	}
	before := l.is
	f := Frame{Action: a, Model: l.ms.Clone()}
	if err := l.c.Apply(a); err != nil {
		if !errors.Is(err, cluster.ErrNotEnabled) {
			return Frame{}, err
		}
		f.Impl = &before
		f.Diff, f.DiffKind = []string{fmt.Sprintf("%v: model takes it | impl: %v", a, err)}, MissingAction
		return f, nil
	}
	l.is = l.c.State()
	is := l.is
	f.Impl = &is
	if l.ImplBroken == nil {
		if v := firstBroken(&before, &a, &l.is); v != nil {
			l.ImplBroken = v
			// The model's own violation, if any, is set on the frame by
			// the replay's checks and takes precedence.
			f.Violation, f.Message = v.Property, "implementation: "+v.Message
		}
	}
	if d := compare(&l.ms, &l.is); len(d) > 0 {
		f.Diff, f.DiffKind = d, classify(d)
	}
	return f, nil
}

// Close stops the implementation and removes its temporary files.
func (l *Lockstep) Close() error {
	var err error
	if l.c != nil {
		err = l.c.Close()
	}
	if l.dir != "" {
		os.RemoveAll(l.dir)
	}
	return err
}

// compare lists the differences between the model's state and the
// implementation's, side by side: server fields first, then messages,
// then the partition.
func compare(ms, is *spec.State) []string {
	var d []string
	for i := range ms.Servers {
		a, b := &ms.Servers[i], &is.Servers[i]
		for _, field := range a.Diff(b) {
			d = append(d, fmt.Sprintf("%v %s: model %s | impl %s", a.ID, field, viewField(a, field), viewField(b, field)))
		}
	}
	d = append(d, networkDiff(ms.Network, is.Network)...)
	if spec.FormatGroups(ms.Partition) != spec.FormatGroups(is.Partition) {
		d = append(d, fmt.Sprintf("partition: model %s | impl %s", orWhole(ms.Partition), orWhole(is.Partition)))
	}
	return d
}

// classify names the kind of the first divergence from its differences.
func classify(d []string) string {
	for _, x := range d {
		if !strings.HasPrefix(x, "message ") && !strings.HasPrefix(x, "partition") {
			return DifferentState
		}
	}
	if slices.ContainsFunc(d, func(x string) bool { return strings.HasPrefix(x, "message unexpected") }) {
		return UnexpectedMessage
	}
	if slices.ContainsFunc(d, func(x string) bool { return strings.HasPrefix(x, "message missing") }) {
		return MissingMessage
	}
	return DifferentState
}

// viewField renders one field of a view by its JSON name.
func viewField(v *spec.View, field string) string {
	switch field {
	case "term":
		return fmt.Sprint(v.Term)
	case "voted_for":
		return v.VotedFor.String()
	case "role":
		return v.Role.String()
	case "log":
		return fmt.Sprint(v.Log)
	case "commit_index":
		return fmt.Sprint(v.CommitIndex)
	case "next_index":
		return fmt.Sprint(v.NextIndex)
	case "match_index":
		return fmt.Sprint(v.MatchIndex)
	case "votes":
		return fmt.Sprint(v.Votes)
	}
	return fmt.Sprint(v.ID)
}
