package checker

import "fmt"

// Fairness is a named fairness assumption on the set of the actions that
// Actions selects (e.g. by kind, or those of one server).
type Fairness[A any] struct {
	Name    string
	Strong  bool // strong fairness (SF) rather than weak (WF)
	Actions func(a A) bool
}

// WF returns the weak fairness of the actions selected by actions.
func WF[A any](name string, actions func(a A) bool) Fairness[A] {
	return Fairness[A]{Name: name, Actions: actions}
}

// SF returns the strong fairness of the actions selected by actions.
func SF[A any](name string, actions func(a A) bool) Fairness[A] {
	return Fairness[A]{Name: name, Strong: true, Actions: actions}
}

// Liveness is a named liveness property: From ~> To ("leads to": every
// fair behaviour, at every state satisfying From, satisfies To in that
// state or a later one), or, with From nil, "eventually To" (every fair
// behaviour has a state satisfying To). Build one with Eventually or
// LeadsTo.
//
// Liveness properties are checked after a complete search without a
// safety violation, on the graph of the reachable states. Their
// semantics is TLA+'s:
//
//   - A behaviour is an infinite sequence of states from an initial state
//     in which each state is followed by a successor under an action, or
//     by itself (a stuttering step, which takes no action). So a finite
//     path may always be extended by stuttering forever, and a state with
//     no enabled action (a deadlock) is followed only by stuttering: a
//     deadlocked state satisfies "eventually P" only if P holds in it.
//   - So without fairness a property fails as soon as a state that must
//     still reach To (an initial state for Eventually, a From state for
//     LeadsTo, not satisfying To) is reachable: the behaviour may stutter
//     there forever. Fairness assumptions rule such behaviours out.
//   - An action is enabled in a state when Next reports it enabled there.
//     A fairness set is enabled in a state when one of its actions is, and
//     taken by a step whose action belongs to it.
//   - Weak fairness of a set: a behaviour in which the set is enabled in
//     every state from some point on takes an action of the set infinitely
//     often. Strong fairness: a behaviour in which the set is enabled
//     infinitely often takes one of its actions infinitely often.
//
// A property holds when every behaviour fair for all of its Fairness
// assumptions satisfies it. With a state constraint (Constrained), the
// behaviours are those within it: a step to a state outside it is
// dropped, and not counted as enabled, so a state all of whose steps
// leave the constraint behaves as a deadlock.
type Liveness[S, A any] struct {
	Name     string
	From     func(s *S) bool // nil: from the initial states only
	To       func(s *S) bool
	Fairness []Fairness[A]
	// Symmetric declares From, To and every fairness set invariant under
	// the model's symmetry (a fairness set of all servers' actions of a
	// kind is; one of a single server's actions is not). When every
	// property of a run declares it and Options.Symmetry is on, the graph
	// is over the symmetry classes (see checkLiveness); otherwise over
	// concrete states. A wrong declaration makes the verdicts unsound.
	Symmetric bool
}

// Eventually returns the property that every behaviour fair under
// fairness reaches a state satisfying p (TLA+'s <>P).
func Eventually[S, A any](name string, p func(s *S) bool, fairness ...Fairness[A]) Liveness[S, A] {
	return Liveness[S, A]{Name: name, To: p, Fairness: fairness}
}

// LeadsTo returns the property that on every behaviour fair under
// fairness, every state satisfying p satisfies q or is followed by a state
// that does (TLA+'s P ~> Q).
func LeadsTo[S, A any](name string, p, q func(s *S) bool, fairness ...Fairness[A]) Liveness[S, A] {
	return Liveness[S, A]{Name: name, From: p, To: q, Fairness: fairness}
}

// LivenessResult is the verdict on one liveness property.
type LivenessResult[S, A any] struct {
	Name string
	// Checked is false when the run did not check the property: the
	// search was not complete, or found a safety violation first.
	Checked bool
	Holds   bool
	// Violation, when the property fails, is a lasso: a fair behaviour
	// that violates it (see Violation.Loop).
	// States and Edges are the size of the graph it was checked on: of
	// concrete states, or of symmetry classes (see Liveness.Symmetric).
	Violation     *Violation[S, A]
	States, Edges int64
}

// maxFairness is how many fairness assumptions all the liveness
// properties of a run may name together: one bit each in a state's mask.
const maxFairness = 64

// validateLiveness checks that the liveness properties are well formed
// and returns their fairness sets, in order (property by property).
func validateLiveness[S, A any](live []Liveness[S, A]) ([]Fairness[A], error) {
	var sets []Fairness[A]
	for _, l := range live {
		if l.To == nil {
			return nil, fmt.Errorf("liveness property %q has no To predicate", l.Name)
		}
		for _, f := range l.Fairness {
			if f.Actions == nil {
				return nil, fmt.Errorf("liveness property %q: fairness %q selects no actions (Actions is nil)", l.Name, f.Name)
			}
			sets = append(sets, f)
		}
	}
	if len(sets) > maxFairness {
		return nil, fmt.Errorf("the liveness properties name %d fairness assumptions; at most %d", len(sets), maxFairness)
	}
	return sets, nil
}
