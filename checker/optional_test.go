package checker

import (
	"reflect"
	"testing"
)

// bare is counters with neither Decode nor action kinds: only the four
// methods of Model.
type bare struct{ c *counters }

func (m bare) Init() []cstate                            { return m.c.Init() }
func (m bare) Actions(s *cstate, dst []inc) []inc        { return m.c.Actions(s, dst) }
func (m bare) Next(s *cstate, a inc, out *cstate) bool   { return m.c.Next(s, a, out) }
func (m bare) Encode(dst []byte, s *cstate) []byte       { return m.c.Encode(dst, s) }
func (m bareSym) Canonical(dst []byte, s *cstate) []byte { return symCounters{m.c}.Canonical(dst, s) }

// bareSym adds the symmetry reduction, still without Decode.
type bareSym struct{ bare }

// TestWithoutDecodeOrKinds: a model without Decode or ActionKind explores
// the same states, finds the same counterexample and counts the same
// actions (under DefaultKind) as the same model with them, with one and
// several workers, with and without symmetry, and with the frontier made
// to spill (which a model without Decode must survive: its states stay in
// memory).
func TestWithoutDecodeOrKinds(t *testing.T) {
	full := &counters{n: 3, max: 4}
	for _, limit := range []int{0, 9} {
		for _, workers := range []int{1, 3} {
			for _, sym := range []bool{false, true} {
				opts := Options{Workers: workers, Symmetry: sym, FrontierMemory: 1}
				var with, without Model[cstate, inc] = full, bare{full}
				if sym {
					with, without = symCounters{full}, bareSym{bare{full}}
				}
				a, b := check(t, with, limit, opts), check(t, without, limit, opts)
				// Under symmetry the state expanded is another member of
				// its class, so the successors come in another order and a
				// level cut short by a violation counts differently.
				if exact := !sym || limit == 0; exact && (a.Distinct != b.Distinct || a.Generated != b.Generated || a.Depth != b.Depth || a.Complete != b.Complete) {
					t.Fatalf("limit=%d workers=%d sym=%v: %d/%d/%d/%v without Decode, want %d/%d/%d/%v", limit, workers, sym,
						b.Distinct, b.Generated, b.Depth, b.Complete, a.Distinct, a.Generated, a.Depth, a.Complete)
				}
				if (a.Violation == nil) != (b.Violation == nil) || (a.Violation != nil && !sym && !reflect.DeepEqual(a.Violation.Path, b.Violation.Path)) {
					t.Fatalf("limit=%d workers=%d sym=%v: violations differ: %+v and %+v", limit, workers, sym, a.Violation, b.Violation)
				}
				if b.Violation != nil && b.Violation.Path.Len() != a.Violation.Path.Len() {
					t.Fatalf("counterexample of length %d without Decode, want %d", b.Violation.Path.Len(), a.Violation.Path.Len())
				}
				want := Coverage{Kinds: []string{DefaultKind}, Enabled: a.Coverage.Enabled, Fired: a.Coverage.Fired, New: a.Coverage.New}
				if (!sym || limit == 0) && !reflect.DeepEqual(b.Coverage, want) {
					t.Fatalf("coverage %+v, want %+v", b.Coverage, want)
				}
			}
		}
	}
	for _, st := range []Strategy{DFS, Random} {
		res := check(t, bare{full}, 9, Options{Strategy: st, Walks: 50, Seed: 1})
		if res.Violation == nil || res.Coverage.Kinds[0] != DefaultKind {
			t.Fatalf("%v without Decode: %+v", st, res)
		}
	}
}
