// Package checker is a generic explicit-state model checker. It knows
// nothing of Raft: a model gives initial states, the actions enabled in a
// state, the successor under an action and a byte encoding; the caller
// gives named state invariants, transition properties and reachability
// goals. The checker enumerates every reachable state (breadth-first,
// depth-first) or samples runs (random walks), checks every property, and
// returns the shortest counterexample it can as a path of actions from an
// initial state.
//
// # A model of your own
//
// A Model needs four methods: Init, Actions, Next and Encode. The rest is
// optional and detected with a type assertion:
//
//   - Decoder (Decode): lets the breadth-first frontier hold encodings
//     only, and spill them to disk past Options.FrontierMemory. Without it
//     the frontier holds the states themselves, in memory.
//   - Kinded (ActionKind, ActionKinds): coverage per kind of action.
//     Without it coverage counts every action under DefaultKind.
//   - Symmetric (Canonical): a symmetry reduction, used when
//     Options.Symmetry is set.
//   - Constrained (Within): a state constraint, with TLC's semantics.
//
// Check runs the search; the package checkertest has test helpers that
// check a model's value contract (below) and assert properties and
// reachability from a test, and the package report prints a Result as a
// summary or JSON, as cmd/explore does.
//
// # Liveness
//
// Properties.Liveness lists properties "eventually P" (Eventually) and "P
// leads to Q" (LeadsTo), each under fairness assumptions: the weak (WF) or
// strong (SF) fairness of the set of actions a predicate selects. The
// semantics is TLA+'s, spelled out at Liveness: behaviours are infinite
// and may stutter, so a deadlocked state satisfies "eventually P" only if
// P holds in it. Once a search is complete without a safety violation, the
// checker builds the graph of the reachable states in memory (of symmetry
// classes only if every property is declared Symmetric), looks for a fair
// cycle, or a state where stuttering is fair, among the states that avoid
// the goal, and reports a lasso: a Violation whose Path ends with a cycle
// of Loop steps repeated forever. Without liveness properties nothing of
// this runs.
//
// # States are values
//
// The checker copies S by assignment (a shallow copy) and keeps copies:
// the states of a frontier level or a depth-first stack, the steps of a
// counterexample. It also passes Next an out that still holds an earlier
// successor, whose copies may be kept elsewhere. So:
//
//   - Next must not modify *s, nor anything s refers to.
//   - Next must not make out share mutable memory (slices, maps, pointed-to
//     values) with s: out := *s followed by out.Log = append(out.Log, e)
//     may write into s's array, and the next successor of s into the same
//     place, silently changing a state the checker holds.
//   - Next must not reuse the memory *out held before the call
//     (append(out.Log[:0], ...)): copies of that earlier successor are
//     still in use. Allocate, or copy into fresh slices.
//   - Encode must depend only on the state's value, and Decode must not
//     keep references into src, whose buffer is reused.
//
// A state made only of fixed-size fields (arrays, numbers, structs of
// them) satisfies all of this by construction. checkertest.CheckValueContract
// explores a few states and reports a model that breaks it.
//
// # How it scales
//
// The visited set keeps only 64-bit fingerprints of states in a compact
// open-addressing table; the breadth-first frontier holds encoded states
// and spills to disk past a memory budget; parent links are written to a
// temporary file, so a counterexample is rebuilt by replaying actions from
// an initial state and matching fingerprints, as TLC does.
package checker
