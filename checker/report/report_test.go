package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/raftcheck/raftcheck/checker"
)

// count is a counter from 0 to 3, by Inc or Double: a model of two action
// kinds, to report on.
type count struct{}

func (count) Init() []int { return []int{0} }
func (count) Actions(_ *int, dst []string) []string {
	return append(dst, "Inc", "Double")
}
func (count) Next(s *int, a string, out *int) bool {
	*out = *s + 1
	if a == "Double" {
		*out = *s * 2
	}
	return *out <= 3 && *out != *s
}
func (count) Encode(dst []byte, s *int) []byte { return append(dst, byte(*s)) }
func (count) ActionKind(a string) int {
	if a == "Double" {
		return 1
	}
	return 0
}
func (count) ActionKinds() []string { return []string{"Inc", "Double", "Reset"} }

// run checks the counter, with an invariant that it stays below limit and
// a goal at 3, and returns its report (elapsed time fixed at 1s, table at 1 KiB).
func run(t *testing.T, limit int, opts checker.Options) *Report[int, string] {
	t.Helper()
	props := func() checker.Properties[int, string] {
		return checker.Properties[int, string]{
			Invariants: []checker.Invariant[int]{{Name: "below", Check: func(s *int) error {
				if *s >= limit {
					return fmt.Errorf("reached %d", *s)
				}
				return nil
			}}},
			Goals: []checker.Goal[int, string]{{Name: "three", Reached: func(s *int) bool { return *s == 3 }, Expected: true}},
		}
	}
	res, err := checker.Check[int, string](count{}, props, opts)
	if err != nil {
		t.Fatal(err)
	}
	res.Elapsed, res.TableBytes = time.Second, 1024 // as if measured
	return &Report[int, string]{Command: "count", Header: "0 to 3", Strategy: opts.Strategy.String(), Workers: 1,
		Properties: "all", Result: res, SwitchedOff: []string{"Reset"}, TracePaths: []string{"trace.json"},
		Path: func(w io.Writer, v *checker.Violation[int, string]) error {
			_, err := fmt.Fprintf(w, "path of %d steps\n", v.Path.Len())
			return err
		}}
}

func TestSummary(t *testing.T) {
	var out bytes.Buffer
	r := run(t, 9, checker.Options{})
	if status := r.Finish(&out, io.Discard, false); status != ExitOK {
		t.Fatalf("exit status %d", status)
	}
	want := `count: 0 to 3
  strategy bfs, 1 worker, symmetry off, properties: all
4 distinct states, 5 generated, depth 4, 1.00s (5 generated/s)
visited set 1.0 KiB (256.0 bytes/state); fingerprint collision probability 2.2e-19

coverage:
  action        enabled          fired     new states
  Inc                 4              3              3
  Double              4              1              0
  Reset               0              0              0
goals (* expected at these bounds):
 *three                          reached in 3 steps

OK: every property holds in every reachable state within the bounds
`
	if got := out.String(); got != want {
		t.Errorf("summary:\n%s\nwant:\n%s", got, want)
	}
}

func TestViolationAndJSON(t *testing.T) {
	r := run(t, 2, checker.Options{})
	var out bytes.Buffer
	if status := r.Finish(&out, io.Discard, false); status != ExitViolation {
		t.Fatalf("exit status %d", status)
	}
	if !strings.Contains(out.String(), "VIOLATION of below after 2 steps: reached 2\n\npath of 2 steps\n\ncounterexample trace: trace.json\n") {
		t.Errorf("summary:\n%s", out.String())
	}
	out.Reset()
	if status := r.Finish(&out, io.Discard, true); status != ExitViolation {
		t.Fatalf("exit status %d", status)
	}
	var j JSONResult
	if err := json.Unmarshal(out.Bytes(), &j); err != nil {
		t.Fatal(err)
	}
	if j.Verdict != checker.VerdictViolation || j.Violation == nil || j.Violation.Trace != "trace.json" ||
		j.Coverage.Actions["Double"].Fired != 1 || len(j.NeverEnabled) != 0 || j.StatesPerSecond != float64(j.GeneratedStates) {
		t.Errorf("JSON: %s", out.String())
	}
}

func TestExitStatus(t *testing.T) {
	if r := run(t, 9, checker.Options{MaxDepth: 2}); r.ExitStatus() != ExitLimit {
		t.Errorf("depth-bounded run: exit status %d", r.ExitStatus())
	}
	interrupted := make(chan struct{})
	close(interrupted)
	if r := run(t, 9, checker.Options{Strategy: checker.Random, Interrupt: interrupted}); r.ExitStatus() != ExitInterrupted {
		t.Errorf("interrupted run: exit status %d", r.ExitStatus())
	}
	r := run(t, 9, checker.Options{})
	r.Result.Goals[0].Reached = false
	if r.ExitStatus() != ExitVacuous {
		t.Errorf("vacuous run: exit status %d", r.ExitStatus())
	}
	r.AllowVacuous = true
	if r.ExitStatus() != ExitOK {
		t.Errorf("vacuous run allowed: exit status %d", r.ExitStatus())
	}
}

// TestPathError: a counterexample that cannot be printed fails the report
// with the violation's exit status, and says why on stderr.
func TestPathError(t *testing.T) {
	r := run(t, 2, checker.Options{})
	r.Path = func(io.Writer, *checker.Violation[int, string]) error { return errors.New("no replay") }
	var stderr bytes.Buffer
	if status := r.Finish(io.Discard, &stderr, false); status != ExitViolation || stderr.String() != "count: no replay\n" {
		t.Errorf("exit status %d, stderr %q", status, stderr.String())
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{Commas(1234567), "1,234,567"}, {Commas(-1234), "-1,234"}, {Commas(12), "12"},
		{Human(2.54e6), "2.54M"}, {Human(1500), "1.5k"}, {Human(12), "12"},
		{BytesHuman(3 << 20), "3.0 MiB"}, {Plural(1, "step"), "1 step"}, {Plural(1200, "step"), "1,200 steps"},
	} {
		if c.got != c.want {
			t.Errorf("%q, want %q", c.got, c.want)
		}
	}
	var b ByteSize
	if err := b.Set("512MiB"); err != nil || b != 512<<20 || b.String() != "512MiB" {
		t.Errorf("512MiB: %v %d %s", err, b, b.String())
	}
	if err := b.Set("-1"); err == nil {
		t.Error("-1 accepted as a size")
	}
}
