package traces_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raftcheck/raftcheck/conform"
	"github.com/raftcheck/raftcheck/conform/implcluster"
	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/traces"
	"github.com/raftcheck/raftcheck/traces/replay"
	"github.com/raftcheck/raftcheck/traces/view"
)

func storedTraces(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("scenarios", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	bugs, err := filepath.Glob(filepath.Join("scenarios", "bugs", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 || len(bugs) < len(model.Bugs)-1 {
		t.Fatalf("stored traces missing: %d scenarios, %d counterexamples", len(files), len(bugs))
	}
	return append(files, bugs...)
}

// TestStoredTracesReplayOnModel: every stored trace replays on the model,
// its expectations hold and its claimed violation breaks where it says.
func TestStoredTracesReplayOnModel(t *testing.T) {
	for _, f := range storedTraces(t) {
		tr, err := traces.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r, err := replay.Model(tr)
		if err != nil {
			t.Fatal(err)
		}
		if !r.OK() {
			t.Errorf("%s: %v", f, r.Failures)
		}
		if (tr.Violation == nil) != (r.Broken == nil) {
			t.Errorf("%s: claimed %v, found %v", f, tr.Violation, r.Broken)
		}
	}
}

// TestScenariosReplayOnImpl: the scenarios replay on the production
// implementation with the same views and messages after every step.
func TestScenariosReplayOnImpl(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("scenarios", "*.json"))
	for _, f := range files {
		tr, err := traces.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r, err := conform.Replay(tr, implcluster.Factory(implcluster.Options{}), conform.Exact)
		if err != nil {
			t.Fatal(err)
		}
		if r.Divergence != nil || r.Refused != "" || r.Steps != len(tr.Steps) {
			t.Errorf("%s: diverged %+v (model: %s) after %d of %d steps", f, r.Divergence, r.Refused, r.Steps, len(tr.Steps))
		}
		if r.ImplBroken != nil {
			t.Errorf("%s: the implementation breaks %s", f, r.ImplBroken.Property)
		}
	}
}

// TestBugTracesOnImpl: a seeded bug's counterexample replays on the
// correct implementation and diverges no later than the violation (where
// the mutation acts); with the implementation's mirroring fault switch on,
// it replays without divergence and the implementation breaks the same
// property at the same step. Snapshot bugs included: the implementation
// replays Compact and InstallSnapshot; membership bugs too: it replays
// AddServer and RemoveServer with joiners, and its fault switches mirror
// the four membership bugs.
func TestBugTracesOnImpl(t *testing.T) {
	for _, bug := range model.Bugs {
		if bug.Breaks == "" {
			continue
		}
		tr, err := traces.ReadFile(filepath.Join("scenarios", "bugs", bug.Name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		r, err := conform.Replay(tr, implcluster.Factory(implcluster.Options{}), conform.Exact)
		if err != nil {
			t.Fatal(err)
		}
		if r.Divergence == nil || r.Divergence.Step > tr.Violation.Step {
			t.Errorf("%s: correct implementation: divergence %+v, violation at step %d", bug.Name, r.Divergence, tr.Violation.Step)
		}
		if !raft.FaultsCompiled {
			continue // the mirrored bugs need -tags raftfaults (make test sets it)
		}
		faults, err := implcluster.FaultsFor([]string{bug.Name})
		if err != nil {
			if !strings.Contains(err.Error(), "no implementation fault switch") {
				t.Fatal(err)
			}
			continue
		}
		r, err = conform.Replay(tr, implcluster.Factory(implcluster.Options{Faults: faults}), conform.Exact)
		if err != nil {
			// The write-ahead log checks what it is asked to persist: a
			// log whose terms decrease (a conflicting suffix kept after a
			// snapshot) is refused where the fault writes it, the step
			// of the violation. In memory nothing but the core decides.
			at := fmt.Sprintf("at step %d,", tr.Violation.Step)
			if !strings.Contains(err.Error(), at) || !strings.Contains(err.Error(), "persist: WAL") {
				t.Errorf("%s with the fault switch: %v", bug.Name, err)
				continue
			}
			if r, err = conform.Replay(tr, implcluster.Factory(implcluster.Options{Faults: faults, Memory: true}), conform.Exact); err != nil {
				t.Errorf("%s with the fault switch, in memory: %v", bug.Name, err)
				continue
			}
		}
		if r.Divergence != nil {
			t.Errorf("%s with the fault switch: diverged at step %d (%s): %v", bug.Name, r.Divergence.Step, r.Divergence.Kind, r.Divergence.Lines())
			continue
		}
		if !r.ImplBroken.Breaks(tr.Violation.Property) || r.ImplBroken.Step != tr.Violation.Step {
			t.Errorf("%s with the fault switch: implementation broke %+v, want %s at step %d", bug.Name, r.ImplBroken, tr.Violation.Property, tr.Violation.Step)
		}
	}
}

// After a divergence ReplayImpl goes on with the model alone to the
// trace's violation, and checks the claim there.
func TestReplayImplContinuesPastDivergence(t *testing.T) {
	tr, err := traces.ReadFile(filepath.Join("scenarios", "bugs", "figure8-commit.json"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := conform.Replay(tr, implcluster.Factory(implcluster.Options{Memory: true}), conform.Exact)
	if err != nil {
		t.Fatal(err)
	}
	if r.Divergence == nil || r.Divergence.Step != 23 || r.Steps != 23 || len(r.Frames) != 27 || len(r.Failures) != 0 || r.OK() {
		t.Fatalf("divergence %+v, %d steps compared, %d frames, failures %v", r.Divergence, r.Steps, len(r.Frames), r.Failures)
	}
	for i, f := range r.Frames {
		if f.ModelOnly != (i > 23) || (f.ModelOnly && f.Impl != nil) {
			t.Errorf("frame %d: model only %v, impl %v", i, f.ModelOnly, f.Impl != nil)
		}
	}
	if last := r.Frames[26]; last.Violation != "leader-completeness" {
		t.Errorf("the violation at step 26 is not shown: %q", last.Violation)
	}
	sum := view.ViolationSummary(r.Frames)
	if len(sum) < 2 || !strings.HasPrefix(sum[0], "VIOLATION of leader-completeness at step 26") || !strings.Contains(sum[1], "committed at step") {
		t.Errorf("summary %q", sum)
	}
}

// Validate refuses a trace with steps after its violation, and a step's
// state diff includes the history.
func TestTraceEndsAtViolation(t *testing.T) {
	tr, err := traces.ReadFile(filepath.Join("scenarios", "bugs", "stay-leader-on-higher-term.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := tr.Steps[5].State.Clone()
	got := want.Clone()
	got.History.LeaderOf[2] = 3
	if d := replay.RecordedDiff(&want, &got); len(d) != 1 || d[0] != "history.leader_of[2]: S1 vs S3" {
		t.Errorf("history diff %q", d)
	}
	tr.Steps = append(tr.Steps, tr.Steps[0])
	if err := tr.Validate(); err == nil || !strings.Contains(err.Error(), "a trace ends at its violation") {
		t.Fatalf("validate: %v", err)
	}
}
