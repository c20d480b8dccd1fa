package checkertest

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/raftcheck/raftcheck/checker"
)

// stack is a model with a slice in its state, and a switch to break the
// value contract in each of the ways CheckValueContract looks for.
type stack struct{ bug string }

type sstate struct{ xs []int }

// op pushes V (Push) or pops.
type op struct {
	Push bool
	V    int
}

func (m *stack) Init() []sstate { return []sstate{{xs: make([]int, 0, 4)}} }

func (m *stack) Actions(s *sstate, dst []op) []op {
	if len(s.xs) < 3 {
		dst = append(dst, op{true, 0}, op{true, 1})
	}
	if len(s.xs) > 0 {
		dst = append(dst, op{})
	}
	return dst
}

func (m *stack) Next(s *sstate, a op, out *sstate) bool {
	if !a.Push {
		if len(s.xs) == 0 {
			return false
		}
		if m.bug == "share" {
			out.xs = s.xs[:len(s.xs)-1] // shares s's array
			return true
		}
		out.xs = append(make([]int, 0, 4), s.xs[:len(s.xs)-1]...)
		return true
	}
	switch m.bug {
	case "modify":
		if len(s.xs) > 0 {
			s.xs[0] ^= 0 // a harmless write first, then a real one
			s.xs[len(s.xs)-1] = a.V
		}
		out.xs = append(append([]int(nil), s.xs...), a.V)
	case "append":
		out.xs = append(s.xs, a.V) // s has spare capacity: written in place
	case "reuse":
		out.xs = append(append(out.xs[:0], s.xs...), a.V)
	default:
		out.xs = append(append(make([]int, 0, 4), s.xs...), a.V)
	}
	return true
}

func (m *stack) Encode(dst []byte, s *sstate) []byte {
	dst = append(dst, byte(len(s.xs)))
	for _, x := range s.xs {
		dst = append(dst, byte(x))
	}
	return dst
}

// decoding is stack with a Decode, keeping src when bug is "decode".
type decoding struct{ *stack }

type bstate struct{ b []byte }

func (m *stack) decode(src []byte, s *sstate) error {
	if len(src) == 0 || int(src[0]) != len(src)-1 {
		return errors.New("bad length")
	}
	s.xs = make([]int, 0, 4)
	for _, b := range src[1:] {
		s.xs = append(s.xs, int(b))
	}
	return nil
}

func (m decoding) Decode(src []byte, s *sstate) error { return m.decode(src, s) }

// bytesModel keeps a byte slice as its state, decoded in place when bug
// is "decode".
type bytesModel struct{ bug string }

func (m bytesModel) Init() []bstate                      { return []bstate{{b: []byte{}}} }
func (m bytesModel) Actions(s *bstate, dst []int) []int  { return append(dst, 1, 2) }
func (m bytesModel) Encode(dst []byte, s *bstate) []byte { return append(dst, s.b...) }
func (m bytesModel) Next(s *bstate, a int, out *bstate) bool {
	if len(s.b) >= 2 {
		return false
	}
	out.b = append(append([]byte(nil), s.b...), byte(a))
	return true
}
func (m bytesModel) Decode(src []byte, s *bstate) error {
	if m.bug == "decode" {
		s.b = src
	} else {
		s.b = append([]byte(nil), src...)
	}
	return nil
}

// fakeTB records failures instead of failing the test, so each helper can
// be shown to fail when it should. Methods it does not override panic
// (the embedded TB is nil): the helpers must not use them.
type fakeTB struct {
	testing.TB
	msgs []string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Error(args ...any) { f.msgs = append(f.msgs, fmt.Sprint(args...)) }
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	runtime.Goexit()
}
func (f *fakeTB) FailNow()     { f.msgs = append(f.msgs, "FailNow"); runtime.Goexit() }
func (f *fakeTB) Failed() bool { return len(f.msgs) > 0 }

// run calls helper with a fake TB, on a goroutine of its own so that
// FailNow can end it, and returns the failures it reported.
func run(helper func(testing.TB)) []string {
	f := &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		helper(f)
	}()
	<-done
	return f.msgs
}

// expect checks that helper passed (want "") or failed with a message
// containing want.
func expect(t *testing.T, name string, helper func(testing.TB), want string) {
	t.Helper()
	msgs := run(helper)
	switch {
	case want == "" && len(msgs) > 0:
		t.Errorf("%s: failed: %q", name, msgs)
	case want != "" && len(msgs) == 0:
		t.Errorf("%s: passed, want a failure with %q", name, want)
	case want != "" && !strings.Contains(strings.Join(msgs, "\n"), want):
		t.Errorf("%s: failed with %q, want %q", name, msgs, want)
	}
}

func TestCheckValueContract(t *testing.T) {
	for bug, want := range map[string]string{
		"":       "",
		"modify": "Next modified its source state",
		"share":  "shares memory with its source state",
		// Caught as soon as a sibling's write shows in s.
		"append": "Next modified its source state",
		"reuse":  "Next wrote into the memory of the earlier successor",
	} {
		m := &stack{bug: bug}
		expect(t, "bug "+bug, func(tb testing.TB) { CheckValueContract(tb, m) }, want)
		expect(t, "bug "+bug+" with Decode", func(tb testing.TB) {
			CheckValueContract[sstate, op](tb, decoding{m}, MaxStates(20))
		}, want)
	}
	expect(t, "Decode copies", func(tb testing.TB) { CheckValueContract[bstate, int](tb, bytesModel{}) }, "")
	expect(t, "Decode keeps src", func(tb testing.TB) { CheckValueContract[bstate, int](tb, bytesModel{bug: "decode"}) },
		"the decoded state keeps references into Decode's input")
}

// props: the stack never holds three ones (limit 3; 4 is always true),
// goals full (three elements) and deep (four, unreachable).
func spec(limit int, opts checker.Options) Spec[sstate, op] {
	return Spec[sstate, op]{Model: &stack{}, Options: opts, Properties: func() checker.Properties[sstate, op] {
		return checker.Properties[sstate, op]{
			Invariants: []checker.Invariant[sstate]{{Name: "not-all-ones", Check: func(s *sstate) error {
				n := 0
				for _, x := range s.xs {
					n += x
				}
				if n >= limit {
					return fmt.Errorf("%d ones", n)
				}
				return nil
			}}},
			Goals: []checker.Goal[sstate, op]{
				{Name: "full", Reached: func(s *sstate) bool { return len(s.xs) == 3 }, Expected: true},
				{Name: "deep", Reached: func(s *sstate) bool { return len(s.xs) == 4 }},
				{Name: "popped", Step: func(_ *sstate, a op, _ *sstate) bool { return !a.Push }},
			},
		}
	}}
}

func TestAssertProperties(t *testing.T) {
	expect(t, "holds", func(tb testing.TB) { AssertProperties(tb, spec(4, checker.Options{})) }, "")
	expect(t, "violated", func(tb testing.TB) { AssertProperties(tb, spec(3, checker.Options{})) },
		"property not-all-ones violated: 3 ones\n  init: {xs:[]}\n  1. {Push:true V:1} -> {xs:[1]}\n  2. {Push:true V:1} -> {xs:[1 1]}\n  3. {Push:true V:1} -> {xs:[1 1 1]}\n")
	expect(t, "incomplete", func(tb testing.TB) { AssertProperties(tb, spec(4, checker.Options{MaxStates: 3})) },
		"the run is not complete (stopped by max-states")
	expect(t, "depth-bounded", func(tb testing.TB) { AssertProperties(tb, spec(4, checker.Options{MaxDepth: 3})) },
		"the run is not complete")
	vacuous := spec(4, checker.Options{})
	vacuous.Model = &shallow{}
	expect(t, "vacuous", func(tb testing.TB) { AssertProperties(tb, vacuous) }, "expected goals never reached")
}

// shallow is a stack that stops at two elements, so the goal full is
// never reached.
type shallow struct{ stack }

func (m *shallow) Actions(s *sstate, dst []op) []op {
	if len(s.xs) == 2 {
		return dst
	}
	return m.stack.Actions(s, dst)
}

func TestAssertDiscovery(t *testing.T) {
	sp := spec(4, checker.Options{})
	expect(t, "path", func(tb testing.TB) { AssertDiscovery(tb, sp, "full", op{true, 1}, op{true, 0}, op{true, 1}) }, "")
	expect(t, "step goal", func(tb testing.TB) { AssertDiscovery(tb, sp, "popped", op{true, 1}, op{}) }, "")
	expect(t, "short path", func(tb testing.TB) { AssertDiscovery(tb, sp, "full", op{true, 1}) }, "not reached at the end")
	expect(t, "disabled", func(tb testing.TB) { AssertDiscovery(tb, sp, "full", op{}) }, "action 1 ({Push:false V:0}) is not enabled")
	expect(t, "search", func(tb testing.TB) { AssertDiscovery(tb, sp, "full") }, "")
	expect(t, "unreachable", func(tb testing.TB) { AssertDiscovery(tb, sp, "deep") }, "goal deep not discovered")
	expect(t, "unknown", func(tb testing.TB) { AssertDiscovery(tb, sp, "nope") }, `no goal named "nope"`)
}

func TestAssertNoDiscovery(t *testing.T) {
	sp := spec(4, checker.Options{})
	expect(t, "unreachable", func(tb testing.TB) { AssertNoDiscovery(tb, sp, "deep") }, "")
	expect(t, "reachable", func(tb testing.TB) { AssertNoDiscovery(tb, sp, "full") },
		"goal full discovered:\n  init: {xs:[]}\n  1. {Push:true V:0} -> {xs:[0]}\n")
	expect(t, "incomplete", func(tb testing.TB) { AssertNoDiscovery(tb, spec(4, checker.Options{MaxDepth: 2}), "deep") },
		"but the run is not complete (stopped by max-depth)")
	expect(t, "unknown", func(tb testing.TB) { AssertNoDiscovery(tb, sp, "nope") }, `no goal named "nope"`)
}
