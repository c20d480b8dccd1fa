package checker

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sameOutcome fails t unless a resumed run's result equals the
// uninterrupted one's in everything but time and memory.
func sameOutcome(t *testing.T, what string, got, want *Result[cstate, inc]) {
	t.Helper()
	if got.Distinct != want.Distinct || got.Generated != want.Generated || got.Depth != want.Depth ||
		got.Complete != want.Complete || got.Stopped != want.Stopped {
		t.Fatalf("%s: distinct %d generated %d depth %d complete %v stopped %q; uninterrupted: %d %d %d %v %q", what,
			got.Distinct, got.Generated, got.Depth, got.Complete, got.Stopped,
			want.Distinct, want.Generated, want.Depth, want.Complete, want.Stopped)
	}
	if !reflect.DeepEqual(got.Coverage, want.Coverage) {
		t.Fatalf("%s: coverage %+v, uninterrupted %+v", what, got.Coverage, want.Coverage)
	}
	if !reflect.DeepEqual(got.Goals, want.Goals) {
		t.Fatalf("%s: goals %+v, uninterrupted %+v", what, got.Goals, want.Goals)
	}
	if (got.Violation == nil) != (want.Violation == nil) {
		t.Fatalf("%s: violation %v, uninterrupted %v", what, got.Violation, want.Violation)
	}
	if got.Violation != nil && !reflect.DeepEqual(got.Violation.Path, want.Violation.Path) {
		t.Fatalf("%s: counterexample %+v, uninterrupted %+v", what, got.Violation.Path, want.Violation.Path)
	}
}

// TestResumeEqualsUninterrupted stops runs at every depth (a checkpoint
// is taken before every level) and resumes them, with and without a
// violation, symmetry and several workers: each resumed run must give the
// uninterrupted run's counts, coverage, goals and counterexample.
func TestResumeEqualsUninterrupted(t *testing.T) {
	base := &counters{n: 4, max: 3}
	models := map[string]Model[cstate, inc]{"plain": base, "symmetric": symCounters{base}}
	for name, m := range models {
		for _, limit := range []int{0, 9} {
			for _, workers := range []int{1, 3} {
				opts := Options{Workers: workers, Symmetry: true}
				want := check(t, m, limit, opts)
				if limit > 0 && want.Violation == nil {
					t.Fatalf("%s: the limit %d is never violated: the test would be vacuous", name, limit)
				}
				for stop := 2; stop < want.Depth; stop++ {
					dir := t.TempDir()
					first := opts
					first.Checkpoint, first.CheckpointEvery, first.CheckpointID, first.MaxDepth = dir, 1, "t", stop
					if res := check(t, m, limit, first); res.Stopped != "max-depth" {
						t.Fatalf("%s: stopped %q at depth %d, want max-depth", name, res.Stopped, stop)
					}
					again := opts
					again.Checkpoint, again.CheckpointID, again.Resume = dir, "t", true
					got := check(t, m, limit, again)
					if got.Resumed != stop-1 {
						t.Fatalf("%s: resumed at level %d, want %d (the last checkpoint before depth %d)", name, got.Resumed, stop-1, stop)
					}
					sameOutcome(t, name+" resumed", got, want)
				}
			}
		}
	}
}

// TestResumeAfterInterrupt: a run interrupted in the middle of a level
// saves the start of that level, and resuming completes it exactly.
func TestResumeAfterInterrupt(t *testing.T) {
	m := &counters{n: 4, max: 3}
	want := check(t, m, 0, Options{Workers: 2})
	dir := t.TempDir()
	stop := make(chan struct{})
	close(stop)
	res := check(t, m, 0, Options{Workers: 2, Checkpoint: dir, CheckpointID: "t", Interrupt: stop})
	if res.Stopped != "interrupted" || res.Complete {
		t.Fatalf("stopped %q complete %v, want an interrupted run", res.Stopped, res.Complete)
	}
	got := check(t, m, 0, Options{Workers: 1, Checkpoint: dir, CheckpointID: "t", Resume: true})
	if got.Resumed != 1 {
		t.Fatalf("resumed at level %d, want 1", got.Resumed)
	}
	sameOutcome(t, "resumed after interrupt", got, want)
}

// TestCheckpointErrors: what cannot be checkpointed or resumed is refused
// with an error that names the problem.
func TestCheckpointErrors(t *testing.T) {
	m := &counters{n: 3, max: 2}
	saved := func() (string, *checkpointMeta) {
		dir := t.TempDir()
		if _, err := Check(m, props(0), Options{Checkpoint: dir, CheckpointEvery: 1, CheckpointID: "a", MaxDepth: 3}); err != nil {
			t.Fatal(err)
		}
		meta, err := readMeta(dir)
		if err != nil {
			t.Fatal(err)
		}
		return dir, meta
	}
	dir, _ := saved()
	if _, err := Check(m, props(0), Options{Checkpoint: dir, CheckpointID: "a", Resume: true}); err != nil {
		t.Fatalf("a good checkpoint: %v", err)
	}
	cases := []struct {
		name, id, want string
		strategy       Strategy
		damage         func(dir string, meta *checkpointMeta) string // the directory to resume from
	}{
		{"other run", "b", "another run", BFS, nil},
		{"dfs", "a", "only breadth-first", DFS, nil},
		{"no dir", "a", "needs a Checkpoint directory", BFS, func(string, *checkpointMeta) string { return "" }},
		{"no checkpoint", "a", "no such file", BFS, func(string, *checkpointMeta) string { return t.TempDir() }},
		{"short parents", "a", "parents.bin holds", BFS, func(dir string, _ *checkpointMeta) string {
			os.Truncate(filepath.Join(dir, "parents.bin"), 16)
			return dir
		}},
		{"short level", "a", "truncated", BFS, func(dir string, meta *checkpointMeta) string {
			os.Truncate(filepath.Join(dir, meta.LevelFile), 3)
			return dir
		}},
		{"garbage", "a", "checkpoint.json", BFS, func(dir string, _ *checkpointMeta) string {
			os.WriteFile(filepath.Join(dir, "checkpoint.json"), []byte("{"), 0o644)
			return dir
		}},
	}
	for _, c := range cases {
		dir, meta := saved()
		if c.damage != nil {
			dir = c.damage(dir, meta)
		}
		_, err := Check(m, props(0), Options{Strategy: c.strategy, Checkpoint: dir, CheckpointID: c.id, Resume: true})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming %q", c.name, err, c.want)
		}
	}
}
