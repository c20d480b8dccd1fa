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
	// model's state and the implementation's.
	Frames []Frame
	// Divergence is the first difference, or nil.
	Divergence *Divergence
	// ModelFailure is set when the model itself cannot replay the trace.
	ModelFailure string
	// ImplBroken is the first property broken on the implementation.
	ImplBroken *Violation
	// Steps is the number of steps compared.
	Steps int
}

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
		default:
			return f, fmt.Errorf("no implementation fault switch mirrors %q (there are: %s)", b, strings.Join(ImplFaultNames, ", "))
		}
	}
	return f, nil
}

// ImplFaultNames lists the seeded bugs the implementation can mirror.
var ImplFaultNames = []string{"figure8-commit", "vote-without-log-check", "truncate-on-stale-append", "forget-vote-on-restart"}

// ReplayImpl replays t's steps on the model of its configuration and on an
// in-process cluster of the production implementation, comparing after
// every step each server's view and the messages in flight. It stops at
// the first divergence. Properties are evaluated on the implementation's
// states too, so a fault switch's violation shows.
func ReplayImpl(t *Trace, opts ImplOptions) (*ImplReplay, error) {
	m, err := model.New(t.Config)
	if err != nil {
		return nil, fmt.Errorf("trace configuration: %w", err)
	}
	dir := opts.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "raftcheck-replay-"); err != nil {
			return nil, fmt.Errorf("replay directory: %w", err)
		}
		defer os.RemoveAll(dir)
	}
	c, err := cluster.New(t.Config.Servers, cluster.Options{Dir: dir, Faults: opts.Faults, MaxCopies: t.Config.MaxCopies})
	if err != nil {
		return nil, fmt.Errorf("starting the implementation: %w", err)
	}
	defer c.Close()
	r := &ImplReplay{}
	s := m.Init()
	var ms spec.State
	m.View(&s, &ms)
	is := c.State()
	r.Frames = append(r.Frames, Frame{Model: ms.Clone(), Impl: &is})
	if d := compare(&ms, &is); len(d) > 0 {
		r.Divergence = &Divergence{Kind: classify(d), Diff: d}
		r.Frames[0].Diff, r.Frames[0].DiffKind = d, r.Divergence.Kind
		return r, nil
	}
	for i, st := range t.Steps {
		n := i + 1
		next, err := m.Step(s, st.Action)
		if err != nil {
			r.ModelFailure = fmt.Sprintf("step %d: the model cannot take %v: %v", n, st.Action, err)
			break
		}
		s = next
		ms = spec.State{}
		m.View(&s, &ms)
		before := is
		f := Frame{Step: n, Action: st.Action, Caption: st.Caption, Model: ms.Clone()}
		r.Steps = n
		if err := c.Apply(st.Action); err != nil {
			if !errors.Is(err, cluster.ErrNotEnabled) {
				return nil, fmt.Errorf("step %d: %w", n, err)
			}
			f.Impl = &before
			r.Divergence = &Divergence{Step: n, Kind: MissingAction,
				Diff: []string{fmt.Sprintf("%v: model takes it | impl: %v", st.Action, err)}}
			f.Diff, f.DiffKind = r.Divergence.Diff, MissingAction
			r.Frames = append(r.Frames, f)
			break
		}
		is = c.State()
		f.Impl = &is
		if r.ImplBroken == nil {
			if v := firstBroken(&before, &st.Action, &is); v != nil {
				v.Step = n
				r.ImplBroken = v
				f.Violation, f.Message = v.Property, "implementation: "+v.Message
			}
		}
		if d := compare(&ms, &is); len(d) > 0 {
			r.Divergence = &Divergence{Step: n, Kind: classify(d), Diff: d}
			f.Diff, f.DiffKind = d, r.Divergence.Kind
			r.Frames = append(r.Frames, f)
			break
		}
		r.Frames = append(r.Frames, f)
		if t.Violation != nil && n >= t.Violation.Step {
			break
		}
	}
	return r, nil
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
	for _, x := range networkDiff(ms.Network, is.Network) {
		d = append(d, x)
	}
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
