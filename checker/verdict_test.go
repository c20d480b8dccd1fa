package checker

import (
	"testing"
	"time"
)

// goalProps are props(limit) with goals: "sum-5" (expected) and
// "all-at-max" (expected only when asked).
func goalProps(limit int, expectAllMax bool, n, max int) func() Properties[cstate, inc] {
	return func() Properties[cstate, inc] {
		p := props(limit)()
		p.Goals = []Goal[cstate, inc]{
			{Name: "sum-5", Expected: true, Reached: func(s *cstate) bool { return sum(s) == 5 }},
			{Name: "all-at-max", Expected: expectAllMax, Reached: func(s *cstate) bool { return sum(s) == n*max }},
		}
		return p
	}
}

// The verdict is ok only for a complete run without a violation that
// reached every expected goal; vacuous when an expected goal was missed.
func TestVerdicts(t *testing.T) {
	m := &counters{n: 2, max: 3} // sums reach 6
	cases := []struct {
		limit    int
		allMax   bool
		opts     Options
		want     Verdict
		stopped  string
		unreachd int
	}{
		{0, true, Options{}, VerdictOK, "", 0},
		{9, true, Options{MaxDepth: 4}, VerdictIncomplete, "max-depth", 2},
		{4, true, Options{}, VerdictViolation, "violation", 2},
	}
	for _, c := range cases {
		res, err := Check[cstate, inc](m, goalProps(c.limit, c.allMax, 2, 3), c.opts)
		if err != nil {
			t.Fatal(err)
		}
		if res.Verdict() != c.want || res.Stopped != c.stopped || len(res.Unreached()) != c.unreachd {
			t.Errorf("%+v: verdict %s stopped %q unreached %v", c, res.Verdict(), res.Stopped, res.Unreached())
		}
	}
	// Counters of at most 1 never sum to 5: the run is complete, holds,
	// and is vacuous; an unreached goal that is not expected does not count.
	small := &counters{n: 2, max: 1}
	res, err := Check[cstate, inc](small, goalProps(0, false, 2, 1), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict() != VerdictVacuous || len(res.Unreached()) != 1 || res.Unreached()[0] != "sum-5" {
		t.Errorf("small: verdict %s unreached %v", res.Verdict(), res.Unreached())
	}
	if never := res.Coverage.NeverEnabled(); len(never) != 0 {
		t.Errorf("never enabled %v", never)
	}
}

// An interrupt ends every strategy as incomplete ("interrupted").
func TestInterrupt(t *testing.T) {
	m := &counters{n: 6, max: 200, wrap: true} // far too many states to finish
	for _, st := range []Strategy{BFS, DFS, Random} {
		stop := make(chan struct{})
		time.AfterFunc(100*time.Millisecond, func() { close(stop) })
		start := time.Now()
		res := check(t, m, 0, Options{Strategy: st, Workers: 2, Interrupt: stop, Walks: 0, MaxDepth: 50})
		if res.Complete || res.Stopped != "interrupted" || res.Verdict() != VerdictIncomplete || time.Since(start) > 5*time.Second {
			t.Errorf("%v: complete %v stopped %q after %v", st, res.Complete, res.Stopped, time.Since(start))
		}
	}
}

// Random walks: MaxStates ends them, Walks 0 runs until a limit and needs
// one, distinct violations are collected up to MaxViolations, and the
// statistics add up; all of it independent of the workers.
func TestRandomWalkLimits(t *testing.T) {
	m := &counters{n: 4, max: 6}
	res := check(t, m, 0, Options{Strategy: Random, Workers: 2, MaxStates: 300, MaxDepth: 30, Seed: 3})
	if res.Stopped != "max-states" || res.Distinct < 300 || res.Distinct > 300+31 {
		t.Errorf("max-states: stopped %q distinct %d", res.Stopped, res.Distinct)
	}
	if _, err := Check(m, props(0), Options{Strategy: Random}); err == nil {
		t.Error("random walks without any limit were accepted")
	}
	var ref *Result[cstate, inc]
	for _, w := range []int{1, 3} {
		res = check(t, m, 7, Options{Strategy: Random, Workers: w, Walks: 100, MaxDepth: 30, Seed: 5, MaxViolations: 4})
		if len(res.Violations) != 4 || res.Stopped != "max-violations" || res.Violation != res.Violations[0] {
			t.Fatalf("%d workers: %d violations, stopped %q", w, len(res.Violations), res.Stopped)
		}
		seen := map[cstate]bool{}
		for _, v := range res.Violations {
			if sum(v.Path.Last()) != 7 || seen[*v.Path.Last()] {
				t.Errorf("violation at %v (sum %d), repeated %v", v.Path.Last(), sum(v.Path.Last()), seen[*v.Path.Last()])
			}
			seen[*v.Path.Last()] = true
		}
		st := res.Walks
		total := 0
		for _, n := range st.Lengths {
			total += n
		}
		if st.Walks != total || st.Violating < 4 || st.Violating > st.Walks {
			t.Errorf("walk stats %+v", st)
		}
		if ref != nil && (ref.Generated != res.Generated || ref.Walks.Walks != res.Walks.Walks || ref.Distinct != res.Distinct) {
			t.Errorf("%d workers differ: %d/%d/%d vs %d/%d/%d", w, res.Generated, res.Walks.Walks, res.Distinct, ref.Generated, ref.Walks.Walks, ref.Distinct)
		}
		ref = res
	}
	res = check(t, m, 0, Options{Strategy: Random, Workers: 2, Walks: 10, MaxDepth: 100, Seed: 1})
	if res.Walks.Deadlocked != 10 || res.Walks.Lengths[24] != 10 {
		t.Errorf("every walk ends with all counters at 6 after 24 steps: %+v", res.Walks)
	}
}
