package checker

import (
	"reflect"
	"strings"
	"testing"
)

// table is a model given by its graph: states are ints, an action is the
// name of an edge out of the current state.
type table struct {
	init  []int
	edges map[int][]tedge
}

type tedge struct {
	name string
	to   int
}

func (m *table) Init() []int { return m.init }

func (m *table) Actions(s *int, dst []string) []string {
	for _, e := range m.edges[*s] {
		dst = append(dst, e.name)
	}
	return dst
}

func (m *table) Next(s *int, a string, out *int) bool {
	for _, e := range m.edges[*s] {
		if e.name == a {
			*out = e.to
			return true
		}
	}
	return false
}

func (m *table) Encode(dst []byte, s *int) []byte { return append(dst, byte(*s)) }

// named selects the actions called name.
func named(name string) func(string) bool { return func(a string) bool { return a == name } }

// is is the predicate "the state is v".
func is(v int) func(*int) bool { return func(s *int) bool { return *s == v } }

// liveCase is one liveness property and its verdict, known by hand: with
// holds false, the lasso's stem and cycle lengths (-1: not checked).
type liveCase[S, A any] struct {
	name        string
	prop        Liveness[S, A]
	holds       bool
	stem, cycle int
}

// checkLive checks each case on m alone, breadth-first with 1 and 3
// workers and depth-first, and asserts its verdict and lasso (the same
// for every run).
func checkLive[S, A any](t *testing.T, m Model[S, A], opts Options, cases []liveCase[S, A]) {
	t.Helper()
	for _, c := range cases {
		var first *Violation[S, A]
		for _, workers := range []int{1, 3, 0} {
			opts.Workers, opts.Strategy = workers, BFS
			if workers == 0 {
				opts.Strategy = DFS
			}
			props := func() Properties[S, A] { return Properties[S, A]{Liveness: []Liveness[S, A]{c.prop}} }
			res, err := Check(m, props, opts)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			lr := res.Liveness[0]
			if !lr.Checked || lr.Holds != c.holds {
				t.Errorf("%s (%d workers): checked %v holds %v, want holds %v (%v)", c.name, workers, lr.Checked, lr.Holds, c.holds, lr.Violation)
				continue
			}
			if c.holds {
				if res.Verdict() != VerdictOK {
					t.Errorf("%s: verdict %s", c.name, res.Verdict())
				}
				continue
			}
			v := lr.Violation
			if res.Verdict() != VerdictViolation || res.Violation != v || v.Kind != LivenessProperty {
				t.Errorf("%s: verdict %s, result violation %v", c.name, res.Verdict(), res.Violation)
			}
			if stem := v.Path.Len() - v.Loop; (c.stem >= 0 && stem != c.stem) || (c.cycle >= 0 && v.Loop != c.cycle) {
				t.Errorf("%s: lasso stem %d cycle %d, want %d and %d", c.name, stem, v.Loop, c.stem, c.cycle)
			}
			assertLasso(t, c.name, m, c.prop, v)
			if first == nil {
				first = v
			} else if !reflect.DeepEqual(first.Path, v.Path) {
				t.Errorf("%s: the lasso depends on the number of workers or the strategy", c.name)
			}
		}
	}
}

// assertLasso fails t unless v is a fair behaviour violating prop: its
// cycle closes on the state it starts from, no state from the trigger on
// satisfies To, and every fairness assumption holds on the cycle (or, for
// a stuttering end, no fairness set is enabled in the last state).
func assertLasso[S, A any](t *testing.T, name string, m Model[S, A], prop Liveness[S, A], v *Violation[S, A]) {
	t.Helper()
	states := []*S{&v.Path.Init}
	for i := range v.Path.Steps {
		states = append(states, &v.Path.Steps[i].State)
	}
	stem := v.Path.Len() - v.Loop
	if a, b := string(m.Encode(nil, states[stem])), string(m.Encode(nil, v.Path.Last())); a != b {
		t.Errorf("%s: the cycle does not close: %x then %x", name, a, b)
	}
	// The last state satisfying From is the trigger: if any is one, it is.
	trigger := 0
	if prop.From != nil {
		trigger = -1
		for i := range states {
			if prop.From(states[i]) {
				trigger = i
			}
		}
		if trigger < 0 {
			t.Errorf("%s: no state of the lasso satisfies the trigger", name)
			return
		}
	}
	for i := trigger; i < len(states); i++ {
		if prop.To(states[i]) {
			t.Errorf("%s: state %d of the lasso satisfies the goal", name, i)
		}
	}
	loop := states[stem:max(stem+1, len(states)-1)]
	for _, f := range prop.Fairness {
		some, every, taken := false, true, false
		for _, s := range loop {
			on := enabledIn(m, s, f.Actions)
			some, every = some || on, every && on
		}
		for _, st := range v.Path.Steps[stem:] {
			taken = taken || f.Actions(st.Action)
		}
		if !taken && ((f.Strong && some) || (!f.Strong && every)) {
			t.Errorf("%s: the lasso is not fair for %s", name, f.Name)
		}
	}
}

// enabledIn reports whether s enables an action that sel selects, with a
// successor within m's constraint.
func enabledIn[S, A any](m Model[S, A], s *S, sel func(A) bool) bool {
	var out S
	con, _ := m.(Constrained[S])
	for _, a := range m.Actions(s, nil) {
		if sel(a) && m.Next(s, a, &out) && (con == nil || con.Within(&out)) {
			return true
		}
	}
	return false
}

// TestLightSwitch: "eventually on" fails without fairness (the switch
// stays off, stuttering) and under weak fairness of waiting (a wait
// self-loop), but holds under weak fairness of flipping.
func TestLightSwitch(t *testing.T) {
	m := &table{init: []int{0}, edges: map[int][]tedge{0: {{"flip", 1}, {"wait", 0}}, 1: {{"flip", 0}}}}
	on := is(1)
	checkLive(t, m, Options{}, []liveCase[int, string]{
		{name: "no fairness", prop: Eventually[int, string]("on", on), stem: 0, cycle: 0},
		{name: "WF wait", prop: Eventually("on", on, WF("wait", named("wait"))), stem: 0, cycle: 1},
		{name: "WF flip", prop: Eventually("on", on, WF("flip", named("flip"))), holds: true},
		{name: "LeadsTo off on", prop: LeadsTo("off-on", is(0), on, WF("flip", named("flip"))), holds: true},
	})
}

// TestStrongFairness: go is enabled in B only, and tick alternates A and
// B, so go is enabled infinitely often but not continuously: weak
// fairness of go allows A-B-A forever, strong fairness does not.
func TestStrongFairness(t *testing.T) {
	const a, b, done = 0, 1, 2
	m := &table{init: []int{a}, edges: map[int][]tedge{a: {{"tick", b}}, b: {{"tick", a}, {"go", done}}}}
	tick, wfGo, sfGo := WF("tick", named("tick")), WF("go", named("go")), SF("go", named("go"))
	checkLive(t, m, Options{}, []liveCase[int, string]{
		{name: "WF tick, WF go", prop: Eventually("done", is(done), tick, wfGo), stem: 0, cycle: 2},
		{name: "WF tick, SF go", prop: Eventually("done", is(done), tick, sfGo), holds: true},
		{name: "SF go alone", prop: Eventually("done", is(done), sfGo), stem: 0, cycle: 0},
	})
}

// TestRequestGrant: a waiting client is granted under weak fairness of
// grant, not if only its own work (a self-loop) is fair.
func TestRequestGrant(t *testing.T) {
	const idle, waiting, granted = 0, 1, 2
	m := &table{init: []int{idle}, edges: map[int][]tedge{
		idle: {{"request", waiting}}, waiting: {{"work", waiting}, {"grant", granted}}, granted: {{"release", idle}}}}
	grant, work := WF("grant", named("grant")), WF("work", named("work"))
	all := WF("any", func(string) bool { return true })
	checkLive(t, m, Options{}, []liveCase[int, string]{
		{name: "WF grant", prop: LeadsTo("granted", is(waiting), is(granted), grant), holds: true},
		{name: "WF work", prop: LeadsTo("granted", is(waiting), is(granted), work), stem: 1, cycle: 1},
		{name: "no fairness", prop: LeadsTo[int, string]("granted", is(waiting), is(granted)), stem: 1, cycle: 0},
		{name: "eventually WF any", prop: Eventually("granted", is(granted), all), stem: 1, cycle: 1},
		{name: "eventually WF request grant", prop: Eventually("granted", is(granted), WF("request", named("request")), grant), holds: true},
	})
}

// TestDeadlock: a deadlocked state stutters forever, so it satisfies
// "eventually P" only if P holds in it, whatever the fairness.
func TestDeadlock(t *testing.T) {
	m := &table{init: []int{0}, edges: map[int][]tedge{0: {{"go", 1}}}}
	fair := WF("go", named("go"))
	checkLive(t, m, Options{}, []liveCase[int, string]{
		{name: "reaches the deadlock", prop: Eventually("one", is(1), fair), holds: true},
		{name: "beyond the deadlock", prop: Eventually("two", is(2), fair), stem: 1, cycle: 0},
		{name: "leads to beyond", prop: LeadsTo("two", is(1), is(2), SF("go", named("go"))), stem: 1, cycle: 0},
	})
}

// TestCounterModN: a counter mod 4 always comes back to 0 under weak
// fairness of Inc; without fairness it may stop at 1.
func TestCounterModN(t *testing.T) {
	m := &counters{n: 1, max: 3, wrap: true}
	zero := func(s *cstate) bool { return s.c[0] == 0 }
	one := func(s *cstate) bool { return s.c[0] == 1 }
	three := func(s *cstate) bool { return s.c[0] == 3 }
	fair := WF("inc", func(inc) bool { return true })
	checkLive(t, m, Options{}, []liveCase[cstate, inc]{
		{name: "eventually 3", prop: Eventually("three", three, fair), holds: true},
		{name: "1 leads to 0", prop: LeadsTo("back", one, zero, fair), holds: true},
		{name: "1 leads to 0 unfair", prop: LeadsTo[cstate, inc]("back", one, zero), stem: 1, cycle: 0},
	})
}

// incOf selects the increments of counter i.
func incOf(i int) func(inc) bool { return func(a inc) bool { return a.i == i } }

// TestLivenessLargeSCC: three counters mod 41 (68921 states, one strongly
// connected component) deep enough that a recursive Tarjan would strain
// the stack. Counter 0 never passes 5 if only counter 1 is fair: the
// cycle is 41 steps of counter 1.
func TestLivenessLargeSCC(t *testing.T) {
	m := &counters{n: 3, max: 40, wrap: true}
	checkLive(t, m, Options{}, []liveCase[cstate, inc]{
		{name: "1 leads to 0", prop: LeadsTo("back", func(s *cstate) bool { return s.c[0] == 1 },
			func(s *cstate) bool { return s.c[0] == 0 }, WF("inc0", incOf(0))), holds: true},
		{name: "only counter 1 fair", prop: Eventually("five", func(s *cstate) bool { return s.c[0] == 5 },
			WF("inc1", incOf(1))), stem: 0, cycle: 41},
	})
}

// TestLivenessSymmetry: with symmetry on, safety explores the quotient but
// liveness the concrete graph, so the verdicts and lassos are those of the
// run without symmetry, even under fairness of one counter only.
func TestLivenessSymmetry(t *testing.T) {
	m := symCounters{&counters{n: 2, max: 2, wrap: true}}
	c1is1 := func(s *cstate) bool { return s.c[1] == 1 }
	cases := []liveCase[cstate, inc]{
		{name: "counter 1 fair", prop: Eventually("c1", c1is1, WF("inc1", incOf(1))), holds: true},
		{name: "counter 0 fair", prop: Eventually("c1", c1is1, WF("inc0", incOf(0))), stem: 0, cycle: 3},
	}
	checkLive(t, m, Options{}, cases)
	checkLive(t, m, Options{Symmetry: true}, cases)
	props := func() Properties[cstate, inc] {
		return Properties[cstate, inc]{Liveness: []Liveness[cstate, inc]{cases[1].prop}}
	}
	off, _ := Check[cstate, inc](m, props, Options{})
	on, _ := Check[cstate, inc](m, props, Options{Symmetry: true})
	if off.Distinct != 9 || on.Distinct != 6 {
		t.Errorf("distinct states %d without symmetry and %d with, want 9 and 6", off.Distinct, on.Distinct)
	}
	if !reflect.DeepEqual(off.Violation.Path, on.Violation.Path) {
		t.Errorf("the lasso depends on symmetry")
	}
}

// TestLivenessNotChecked: an incomplete run checks no liveness property,
// and several properties get one verdict each, the first failure being the
// result's violation.
func TestLivenessNotChecked(t *testing.T) {
	m := &counters{n: 1, max: 3, wrap: true}
	three := func(s *cstate) bool { return s.c[0] == 3 }
	props := func() Properties[cstate, inc] {
		return Properties[cstate, inc]{Liveness: []Liveness[cstate, inc]{
			Eventually("fair", three, WF("inc", func(inc) bool { return true })),
			Eventually[cstate, inc]("unfair", three),
		}}
	}
	res, err := Check[cstate, inc](m, props, Options{MaxStates: 2})
	if err != nil || res.Liveness[0].Checked || res.Verdict() != VerdictIncomplete {
		t.Errorf("incomplete run: %v, %+v, verdict %s", err, res.Liveness, res.Verdict())
	}
	res, err = Check[cstate, inc](m, props, Options{})
	if err != nil || !res.Liveness[0].Holds || res.Liveness[1].Holds || res.Violation.Property != "unfair" {
		t.Fatalf("complete run: %v, %+v", err, res.Liveness)
	}
	if msg := res.Violation.Err.Error(); !strings.Contains(msg, "stutters") {
		t.Errorf("explanation %q", msg)
	}
}

// TestLivenessErrors: a property without a goal, or a fairness without
// actions, is an error of the run, even when the run is incomplete.
func TestLivenessErrors(t *testing.T) {
	m := &table{init: []int{0}, edges: map[int][]tedge{0: {{"go", 1}}}}
	for _, l := range []Liveness[int, string]{
		{Name: "no goal"},
		Eventually("no actions", is(1), WF[string]("nil", nil)),
	} {
		props := func() Properties[int, string] { return Properties[int, string]{Liveness: []Liveness[int, string]{l}} }
		if _, err := Check[int, string](m, props, Options{MaxStates: 1}); err == nil || !strings.Contains(err.Error(), l.Name) {
			t.Errorf("%s: error %v", l.Name, err)
		}
	}
}

// withinTable keeps a table model's states below 2.
type withinTable struct{ *table }

func (m withinTable) Within(s *int) bool { return *s < 2 }

// TestLivenessConstraint: a step out of the constraint is dropped, so a
// state whose only step leaves it is a deadlock for liveness.
func TestLivenessConstraint(t *testing.T) {
	m := withinTable{&table{init: []int{0}, edges: map[int][]tedge{0: {{"go", 1}}, 1: {{"go", 2}}, 2: {{"go", 0}}}}}
	fair := WF("go", named("go"))
	checkLive(t, m, Options{}, []liveCase[int, string]{
		{name: "one", prop: Eventually("one", is(1), fair), holds: true},
		{name: "back to zero", prop: LeadsTo("zero", is(1), is(0), fair), stem: 1, cycle: 0},
	})
}

// BenchmarkLiveness checks a property that holds on four counters mod 21
// (194481 states, 777924 edges, one strongly connected component).
func BenchmarkLiveness(b *testing.B) {
	m := &counters{n: 4, max: 20, wrap: true}
	props := func() Properties[cstate, inc] {
		return Properties[cstate, inc]{Liveness: []Liveness[cstate, inc]{LeadsTo("back",
			func(s *cstate) bool { return s.c[0] == 1 }, func(s *cstate) bool { return s.c[0] == 0 }, WF("inc0", incOf(0)))}}
	}
	for b.Loop() {
		res, err := Check[cstate, inc](m, props, Options{})
		if err != nil || !res.Liveness[0].Holds {
			b.Fatal(err, res.Liveness)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/194481, "ns/state")
}

// ring is a token passed round three processes: pass hands it from its
// holder to the next. Its symmetry (rotations, here any permutation) puts
// every state in one class.
type ring struct{}

type rstate struct{ has [3]bool }

func (ring) Init() []rstate { return []rstate{{has: [3]bool{true}}} }

func (ring) Actions(_ *rstate, dst []string) []string { return append(dst, "pass") }

func (ring) Next(s *rstate, _ string, out *rstate) bool {
	out.has = [3]bool{s.has[2], s.has[0], s.has[1]}
	return true
}

func (ring) Encode(dst []byte, s *rstate) []byte {
	for _, h := range s.has {
		dst = append(dst, byte(btoi(h)))
	}
	return dst
}

func (ring) Canonical(dst []byte, _ *rstate) []byte { return append(dst, 1) }

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestLivenessQuotient: with symmetric properties and symmetry on, the
// graph is over classes (one node for the ring, six for two counters mod
// 3), the verdicts are those without symmetry, and a cycle of classes is
// unrolled until it closes on a concrete state: the ring's self-loop of
// classes is a cycle of three passes.
func TestLivenessQuotient(t *testing.T) {
	pass := WF("pass", named("pass"))
	two := Eventually("two tokens", func(s *rstate) bool { return s.has == [3]bool{true, true} }, pass)
	two.Symmetric = true
	for _, sym := range []bool{false, true} {
		checkLive(t, ring{}, Options{Symmetry: sym}, []liveCase[rstate, string]{{name: "ring", prop: two, stem: 0, cycle: 3}})
	}
	anyInc := WF("inc", func(inc) bool { return true })
	reaches2 := Eventually("some 2", func(s *cstate) bool { return s.c[0] == 2 || s.c[1] == 2 }, anyInc)
	reaches2.Symmetric = true
	both2 := Eventually("both 2", func(s *cstate) bool { return s.c[0] == 2 && s.c[1] == 2 }, anyInc)
	both2.Symmetric = true
	m := symCounters{&counters{n: 2, max: 2, wrap: true}}
	for _, sym := range []bool{false, true} {
		checkLive(t, m, Options{Symmetry: sym}, []liveCase[cstate, inc]{
			{name: "some 2", prop: reaches2, holds: true},
			{name: "both 2", prop: both2, stem: 0, cycle: 3},
		})
	}
	notDeclared := reaches2
	notDeclared.Symmetric = false
	sym := Options{Symmetry: true}
	if r, q, c := graphStates(t, ring{}, two, sym), graphStates(t, m, reaches2, sym), graphStates(t, m, notDeclared, sym); r != 1 || q != 6 || c != 9 {
		t.Errorf("graphs of %d, %d and %d states, want 1 (ring), 6 (counters) and 9 (not declared symmetric)", r, q, c)
	}
}

// graphStates returns the size of the graph l is checked on.
func graphStates[S, A any](t *testing.T, m Model[S, A], l Liveness[S, A], opts Options) int64 {
	t.Helper()
	res, err := Check(m, func() Properties[S, A] { return Properties[S, A]{Liveness: []Liveness[S, A]{l}} }, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res.Liveness[0].States
}
