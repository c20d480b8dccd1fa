package checker

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// counters is a small model whose state space is known by hand: n counters,
// each from 0 to max; action Inc(i) adds one to counter i (below max), and
// with wrap set a counter at max goes back to 0. Without wrap there are
// (max+1)^n states; with symmetry (counters are interchangeable) the number
// of multisets, C(max+n, n).
type counters struct {
	n, max int
	wrap   bool
}

type cstate struct{ c [6]uint8 }

type inc struct{ i int }

func (m *counters) Init() []cstate { return []cstate{{}} }

func (m *counters) Actions(s *cstate, dst []inc) []inc {
	for i := range m.n {
		if int(s.c[i]) < m.max || m.wrap {
			dst = append(dst, inc{i})
		}
	}
	return dst
}

func (m *counters) Next(s *cstate, a inc, out *cstate) bool {
	*out = *s
	if int(out.c[a.i]) == m.max {
		if !m.wrap {
			return false
		}
		out.c[a.i] = 0
		return true
	}
	out.c[a.i]++
	return true
}

func (m *counters) Encode(dst []byte, s *cstate) []byte { return append(dst, s.c[:m.n]...) }

func (m *counters) Decode(src []byte, s *cstate) error {
	if len(src) != m.n {
		return errors.New("bad length")
	}
	*s = cstate{}
	copy(s.c[:], src)
	return nil
}

func (m *counters) ActionKind(a inc) int  { return 0 }
func (m *counters) ActionKinds() []string { return []string{"Inc"} }

// symCounters adds a symmetry reduction: counters sorted.
type symCounters struct{ *counters }

func (m symCounters) Canonical(dst []byte, s *cstate) []byte {
	c := slices.Clone(s.c[:m.n])
	slices.Sort(c)
	return append(dst, c...)
}

func sum(s *cstate) int {
	t := 0
	for _, v := range s.c {
		t += int(v)
	}
	return t
}

// props: an invariant "sum below limit" (limit 0: none), a transition
// property that holds (a step changes the sum by one, or wraps), and a
// goal.
func props(limit int) func() Properties[cstate, inc] {
	return func() Properties[cstate, inc] {
		p := Properties[cstate, inc]{
			Transitions: []Transition[cstate, inc]{{Name: "one-at-a-time", Check: func(b *cstate, _ inc, a *cstate) error {
				if d := sum(a) - sum(b); d != 1 && d >= 0 {
					return fmt.Errorf("sum changed by %d", d)
				}
				return nil
			}}},
			Goals: []Goal[cstate, inc]{{Name: "first-at-2", Reached: func(s *cstate) bool { return s.c[0] == 2 }}},
		}
		if limit > 0 {
			p.Invariants = []Invariant[cstate]{{Name: "sum-below", Check: func(s *cstate) error {
				if sum(s) >= limit {
					return fmt.Errorf("sum %d", sum(s))
				}
				return nil
			}}}
		}
		return p
	}
}

func check(t *testing.T, m Model[cstate, inc], limit int, opts Options) *Result[cstate, inc] {
	t.Helper()
	res, err := Check(m, props(limit), opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func binom(n, k int) int64 {
	r := int64(1)
	for i := 1; i <= k; i++ {
		r = r * int64(n-k+i) / int64(i)
	}
	return r
}

func TestBFSCountsByHand(t *testing.T) {
	for _, c := range []struct{ n, max int }{{2, 3}, {3, 4}, {5, 3}} {
		m := &counters{n: c.n, max: c.max}
		pow := int64(1)
		for range c.n {
			pow *= int64(c.max + 1)
		}
		for _, workers := range []int{1, 2, 4} {
			res := check(t, m, 0, Options{Workers: workers})
			// Each state has one Inc per counter below max: n*max*(max+1)^(n-1) in all.
			wantGen := 1 + int64(c.n*c.max)*pow/int64(c.max+1)
			if res.Distinct != pow || res.Generated != wantGen || res.Depth != c.n*c.max+1 || !res.Complete {
				t.Errorf("%+v workers=%d: distinct=%d generated=%d depth=%d complete=%v, want %d %d %d",
					c, workers, res.Distinct, res.Generated, res.Depth, res.Complete, pow, wantGen, c.n*c.max+1)
			}
			if !res.Goals[0].Reached || res.Goals[0].Path.Len() != 2 {
				t.Errorf("goal not reached by a shortest path: %+v", res.Goals[0])
			}
			if res.Coverage.Enabled[0] != wantGen-1 || res.Coverage.New[0] != pow-1 {
				t.Errorf("coverage %+v", res.Coverage)
			}
		}
		// With symmetry: one state per multiset of counter values.
		sym := symCounters{m}
		res := check(t, sym, 0, Options{Workers: 2, Symmetry: true})
		if want := binom(c.max+c.n, c.n); res.Distinct != want {
			t.Errorf("%+v with symmetry: %d states, want %d", c, res.Distinct, want)
		}
		if res := check(t, sym, 0, Options{Workers: 2, Symmetry: false}); res.Distinct != pow {
			t.Errorf("symmetry off still reduced: %d", res.Distinct)
		}
	}
}

func TestShortestCounterexample(t *testing.T) {
	m := &counters{n: 3, max: 5}
	var first *Result[cstate, inc]
	for _, workers := range []int{1, 2, 3, 8} {
		res := check(t, m, 7, Options{Workers: workers})
		v := res.Violation
		if v == nil || v.Property != "sum-below" || v.Path.Len() != 7 || sum(v.Path.Last()) != 7 {
			t.Fatalf("workers=%d: violation %+v", workers, v)
		}
		// The path replays: each step is the model's successor.
		cur := v.Path.Init
		for _, st := range v.Path.Steps {
			var next cstate
			if !m.Next(&cur, st.Action, &next) || next != st.State {
				t.Fatalf("path does not replay")
			}
			cur = next
		}
		if first == nil {
			first = res
		} else if !reflect.DeepEqual(first.Violation.Path, v.Path) || first.Distinct != res.Distinct {
			t.Fatalf("workers=%d gives another counterexample or count", workers)
		}
	}
}

func TestTransitionViolation(t *testing.T) {
	m := &counters{n: 2, max: 2, wrap: true}
	res := check(t, m, 0, Options{Workers: 2})
	// Wrapping from 2 to 0 is allowed by the property (d < 0); none found.
	if res.Violation != nil || res.Distinct != 9 {
		t.Fatalf("%+v", res)
	}
	bad := func() Properties[cstate, inc] {
		return Properties[cstate, inc]{Transitions: []Transition[cstate, inc]{{Name: "no-wrap", Check: func(b *cstate, _ inc, a *cstate) error {
			if sum(a) < sum(b) {
				return errors.New("wrapped")
			}
			return nil
		}}}}
	}
	for _, st := range []Strategy{BFS, DFS, Random} {
		r2, err := Check[cstate, inc](m, bad, Options{Strategy: st, Workers: 2, Walks: 10, MaxDepth: 20})
		if err != nil {
			t.Fatal(err)
		}
		v := r2.Violation
		if v == nil || v.Kind != TransitionProperty {
			t.Fatalf("%v: transition violation not found", st)
		}
		last := v.Path.Steps[len(v.Path.Steps)-1]
		before := v.Path.Init
		if len(v.Path.Steps) > 1 {
			before = v.Path.Steps[len(v.Path.Steps)-2].State
		}
		if sum(&last.State) >= sum(&before) {
			t.Fatalf("%v: the reported last step does not wrap", st)
		}
		if st == BFS && v.Path.Len() != 3 {
			t.Fatalf("BFS path length %d, want 3", v.Path.Len())
		}
	}
}

func TestFrontierSpillsToDisk(t *testing.T) {
	m := &counters{n: 5, max: 7} // 32768 states
	res := check(t, m, 0, Options{Workers: 2, FrontierMemory: 1, TempDir: t.TempDir()})
	if res.Distinct != 32768 || !res.Complete {
		t.Fatalf("distinct %d complete %v", res.Distinct, res.Complete)
	}
	// And the counterexample path survives the spill.
	res = check(t, m, 20, Options{Workers: 2, FrontierMemory: 1, TempDir: t.TempDir()})
	if res.Violation == nil || res.Violation.Path.Len() != 20 {
		t.Fatalf("violation %+v", res.Violation)
	}
}

func TestLimits(t *testing.T) {
	m := &counters{n: 4, max: 6}
	res := check(t, m, 0, Options{Workers: 2, MaxDepth: 3})
	if res.Complete || res.Stopped != "max-depth" || res.Depth != 3 || res.Distinct != 1+4+10 {
		t.Fatalf("max-depth: %+v", res)
	}
	res = check(t, m, 0, Options{Workers: 2, MaxStates: 100})
	if res.Complete || res.Stopped != "max-states" || res.Distinct < 100 {
		t.Fatalf("max-states: complete=%v stopped=%s distinct=%d", res.Complete, res.Stopped, res.Distinct)
	}
	slow := &counters{n: 6, max: 30}
	res = check(t, slow, 0, Options{Workers: 2, TimeLimit: 50 * time.Millisecond})
	if res.Complete || res.Stopped != "time-limit" {
		t.Fatalf("time-limit: complete=%v stopped=%s", res.Complete, res.Stopped)
	}
}

func TestDFSAndRandom(t *testing.T) {
	m := &counters{n: 3, max: 4}
	res := check(t, m, 0, Options{Strategy: DFS})
	if res.Distinct != 125 || !res.Complete || res.Depth != 13 {
		t.Fatalf("dfs: %d states depth %d complete %v", res.Distinct, res.Depth, res.Complete)
	}
	res = check(t, m, 9, Options{Strategy: DFS})
	if res.Violation == nil || sum(res.Violation.Path.Last()) != 9 {
		t.Fatalf("dfs violation %+v", res.Violation)
	}
	var prev *Result[cstate, inc]
	for _, workers := range []int{1, 3} {
		res = check(t, m, 0, Options{Strategy: Random, Workers: workers, Walks: 200, MaxDepth: 20, Seed: 9})
		if res.Complete || res.Distinct == 0 || res.Distinct > 125 {
			t.Fatalf("random: %+v", res)
		}
		if prev != nil && (prev.Distinct != res.Distinct || prev.Generated != res.Generated) {
			t.Fatalf("random walks depend on workers: %d/%d vs %d/%d", prev.Distinct, prev.Generated, res.Distinct, res.Generated)
		}
		prev = res
	}
	res = check(t, m, 9, Options{Strategy: Random, Workers: 2, Walks: 50, MaxDepth: 20, Seed: 1})
	if res.Violation == nil || sum(res.Violation.Path.Last()) != 9 {
		t.Fatalf("random violation %+v", res.Violation)
	}
}

func TestFPSetGrows(t *testing.T) {
	s := newFPSet()
	const n = 300000
	for i := uint64(1); i <= n; i++ {
		fp := fingerprint(i * 0x9E3779B97F4A7C15)
		if !s.insert(fp) {
			t.Fatalf("fresh fingerprint %d reported present", i)
		}
	}
	for i := uint64(1); i <= n; i++ {
		fp := fingerprint(i * 0x9E3779B97F4A7C15)
		if !s.contains(fp) || s.insert(fp) {
			t.Fatalf("fingerprint %d lost", i)
		}
	}
	if s.len() != n {
		t.Fatalf("len %d", s.len())
	}
	if per := float64(s.bytes()) / n; per > 16 {
		t.Fatalf("%.1f bytes per fingerprint", per)
	}
	if s.contains(12345) {
		t.Fatal("absent fingerprint found")
	}
}

// TestManyGoals: goals beyond the 64 tracked per unit in a bitmask are
// still looked for, and found by every strategy.
func TestManyGoals(t *testing.T) {
	m := &counters{n: 2, max: 3}
	pf := func() Properties[cstate, inc] {
		var p Properties[cstate, inc]
		for g := range 64 {
			p.Goals = append(p.Goals, Goal[cstate, inc]{Name: fmt.Sprint("g", g), Reached: func(s *cstate) bool { return *s == cstate{c: [6]uint8{1}} }})
		}
		// Reached in the same unit as goal 0, and only there.
		p.Goals = append(p.Goals, Goal[cstate, inc]{Name: "g64", Reached: func(s *cstate) bool { return *s == cstate{c: [6]uint8{0, 1}} }})
		return p
	}
	for _, st := range []Strategy{BFS, DFS} {
		for _, w := range []int{1, 3} {
			res, err := Check[cstate, inc](m, pf, Options{Strategy: st, Workers: w})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Goals[0].Reached || !res.Goals[64].Reached {
				t.Errorf("%v, %d workers: goal 0 reached %v, goal 64 reached %v", st, w, res.Goals[0].Reached, res.Goals[64].Reached)
			}
		}
	}
}

// withinCounters explores only states whose first counter is below 2.
type withinCounters struct{ *counters }

func (m withinCounters) Within(s *cstate) bool { return s.c[0] < 2 }

// TestGoalOutsideConstraint: a state outside the constraint is reached
// (and checked) but not explored, by every strategy alike.
func TestGoalOutsideConstraint(t *testing.T) {
	m := withinCounters{&counters{n: 2, max: 3}}
	for _, st := range []Strategy{BFS, DFS, Random} {
		res := check(t, m, 0, Options{Strategy: st, Workers: 2, Walks: 200, MaxDepth: 10, Seed: 1})
		if !res.Goals[0].Reached {
			t.Errorf("%v: the goal state (first counter at 2) is outside the constraint but reachable; not reported", st)
		}
	}
}

// TestSameTableForEveryWorkerCount: the visited set's size, like the
// counts, does not depend on the workers, also for a run cut short.
func TestSameTableForEveryWorkerCount(t *testing.T) {
	m := symCounters{&counters{n: 6, max: 12}}
	for _, opts := range []Options{{MaxDepth: 25}, {FrontierMemory: 1 << 12}} {
		var ref *Result[cstate, inc]
		for _, w := range []int{1, 2, 7} {
			opts.Workers, opts.Symmetry = w, true
			res := check(t, m, 0, opts)
			if ref == nil {
				ref = res
			}
			if res.Distinct != ref.Distinct || res.Generated != ref.Generated || res.TableBytes != ref.TableBytes {
				t.Errorf("%+v: %d/%d states, %d table bytes; 1 worker %d/%d, %d", opts, res.Distinct, res.Generated, res.TableBytes, ref.Distinct, ref.Generated, ref.TableBytes)
			}
		}
	}
}

// failingDecode refuses the frontier states whose counters sum to 6.
type failingDecode struct{ *counters }

func (m failingDecode) Decode(src []byte, s *cstate) error {
	if len(src) == m.n && int(src[0])+int(src[1]) == 6 {
		return errors.New("unreadable state")
	}
	return m.counters.Decode(src, s)
}

// TestDecodeErrorEndsRun: an error while expanding ends the run with it,
// for any number of workers (none waits forever for the failed unit).
func TestDecodeErrorEndsRun(t *testing.T) {
	for _, w := range []int{1, 2, 8} {
		_, err := Check[cstate, inc](failingDecode{&counters{n: 4, max: 9}}, props(0), Options{Workers: w})
		if err == nil || !strings.Contains(err.Error(), "unreadable state") {
			t.Fatalf("%d workers: err %v", w, err)
		}
	}
}
