package checking

import (
	"fmt"
	"strings"

	"github.com/raftcheck/raftcheck/checker"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/spec"
)

// The liveness properties of the Raft model (spec/README.md, "Liveness"):
// stable-leader (after the last fault, with TermHeadroom terms left,
// eventually a leader of the highest term that every server follows),
// proposals-committed (a leader holding an uncommitted entry of its term
// eventually has committed its whole log) and no-disruption (after the
// last fault a follower that has heard from the leader of its term does
// not time out: a transition property, since under the timing assumption
// the model's behaviours are the timely ones).
const (
	StableLeader       = model.StableLeader
	ProposalsCommitted = model.ProposalsCommitted
	NoDisruption       = model.NoDisruption
)

// LivenessNames lists the liveness properties, the transition property
// that goes with them last.
var LivenessNames = model.LivenessProperties

// DefaultFair is the fairness the liveness properties assume unless
// --fair says otherwise: weak fairness of each kind of the protocol's own
// steps (message delivery, timeouts, ticks and heartbeats), none of the
// faults or of the client's requests.
const DefaultFair = "Deliver,Timeout,Tick,Heartbeat"

// ParseFair parses a fairness list: comma-separated action kinds, each
// weakly fair ("Deliver") or with "sf:" strongly fair ("sf:Timeout"). A
// set is all the actions of that kind, of every server, so it is
// invariant under renaming the servers.
func ParseFair(list string) ([]checker.Fairness[model.Action], error) {
	var out []checker.Fairness[model.Action]
	if strings.TrimSpace(list) == "" || list == "none" {
		return nil, nil
	}
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		name, strong := strings.CutPrefix(f, "sf:")
		name = strings.TrimPrefix(name, "wf:")
		kind, err := spec.ParseActionKind(name)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", f, err)
		}
		sel := func(a model.Action) bool { return a.Kind == kind }
		if strong {
			out = append(out, checker.SF("SF("+kind.String()+")", sel))
		} else {
			out = append(out, checker.WF("WF("+kind.String()+")", sel))
		}
	}
	return out, nil
}

// Liveness returns the liveness properties named in names (nil: all)
// under fairness. Every one is Symmetric: the predicates read no server
// identity and each fairness set is a whole action kind.
func Liveness(m *model.Model, names []string, fair []checker.Fairness[model.Action]) []checker.Liveness[model.State, model.Action] {
	var out []checker.Liveness[model.State, model.Action]
	want := func(n string) bool { return names == nil || contains(names, n) }
	if want(StableLeader) {
		l := checker.LeadsTo(StableLeader, m.Settling, m.LeaderSettled, fair...)
		l.Symmetric = true
		out = append(out, l)
	}
	if want(ProposalsCommitted) {
		l := checker.LeadsTo(ProposalsCommitted, m.Uncommitted, m.AllCommitted, fair...)
		l.Symmetric = true
		out = append(out, l)
	}
	return out
}

// NoDisruptionTransition is the transition property no-disruption.
func NoDisruptionTransition(m *model.Model) checker.Transition[model.State, model.Action] {
	return checker.Transition[model.State, model.Action]{Name: NoDisruption,
		Check: func(b *model.State, a model.Action, _ *model.State) error {
			if m.Disrupts(b, a) {
				return fmt.Errorf("after the last fault S%d times out although it has heard from the leader of its term %d", a.Server, m.Term(b, a.Server))
			}
			return nil
		}}
}

// WithLiveness extends a Properties factory with the liveness properties
// named in names (nil: all) under fair, and no-disruption among the
// transition properties when named.
func WithLiveness(m *model.Model, base func() checker.Properties[model.State, model.Action], names []string,
	fair []checker.Fairness[model.Action]) func() checker.Properties[model.State, model.Action] {
	return func() checker.Properties[model.State, model.Action] {
		p := base()
		p.Liveness = Liveness(m, names, fair)
		if names == nil || contains(names, NoDisruption) {
			p.Transitions = append(p.Transitions, NoDisruptionTransition(m))
			if hold := p.TransitionsHold; hold != nil {
				p.TransitionsHold = func(b *model.State, a model.Action, s *model.State) bool {
					return hold(b, a, s) && !m.Disrupts(b, a)
				}
			}
		}
		return p
	}
}

// IsLiveness reports whether name is one of LivenessNames.
func IsLiveness(name string) bool { return contains(LivenessNames, name) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
