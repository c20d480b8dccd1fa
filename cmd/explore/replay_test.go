package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/spec"
	"github.com/raftcheck/raftcheck/traces"
)

// edited writes a copy of the stored trace name, changed by edit, and
// returns its path.
func edited(t *testing.T, name string, edit func(*traces.Trace)) string {
	t.Helper()
	tr, err := traces.ReadFile(stored(name))
	if err != nil {
		t.Fatal(err)
	}
	edit(tr)
	path := filepath.Join(t.TempDir(), filepath.Base(name))
	b, err := tr.Marshal() // not WriteFile: an edit may make the trace invalid on purpose
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// replay --impl checks the expectations, recorded states, recorded
// history and claimed violation as plain replay does.
func TestReplayImplChecksClaims(t *testing.T) {
	needFaults(t)
	leader := "follower"
	cases := map[string]struct {
		file   string
		faults string
		edit   func(*traces.Trace)
		want   string
	}{
		"expectation": {"replication.json", "", func(tr *traces.Trace) {
			for i := range tr.Steps {
				if e := tr.Steps[i].Expect; e != nil && len(e.Servers) > 0 && e.Servers[0].Role != nil {
					e.Servers[0].Role = &leader
					return
				}
			}
		}, "FAILED on the model: step 1: expect.servers[0].role: S1 is candidate, expected follower"},
		"recorded state": {"bugs/figure8-commit.json", "figure8-commit", func(tr *traces.Trace) {
			tr.Steps[2].State.Servers[1].Term = 9
		}, "FAILED on the model: step 3: recorded state differs: S2 term"},
		"recorded history": {"bugs/figure8-commit.json", "figure8-commit", func(tr *traces.Trace) {
			tr.Steps[25].State.History.Committed[0].CommitTerm = 2
		}, "history.committed[0]: 1:v1 (commit_term 2) vs 1:v1 (commit_term 3)"},
		"claimed violation": {"bugs/figure8-commit.json", "figure8-commit", func(tr *traces.Trace) {
			tr.Violation.Property = "election-safety"
		}, "step 26: leader-completeness breaks, not the claimed election-safety"},
	}
	for name, c := range cases {
		path := edited(t, c.file, c.edit)
		args := []string{"replay", "--impl", "-q", "--impl-faults", c.faults, path}
		code, stdout, stderr := runCmd(t, args...)
		if code != exitViolation || !strings.Contains(stdout, c.want) || strings.Contains(stdout, "OK:") {
			t.Errorf("%s: exit %d, want 1 and %q:\n%s%s", name, code, c.want, stdout, stderr)
		}
	}
}

// A trace whose steps no longer replay is shown as far as it goes, with
// the FAILED line naming the closest message in flight, and exits 1; the
// page carries the same line as a banner.
func TestShowTraceThatDoesNotReplay(t *testing.T) {
	path := edited(t, "replication.json", func(tr *traces.Trace) {
		for i := range tr.Steps {
			tr.Steps[i].Expect = nil
		}
		tr.Steps = append(tr.Steps[:1], tr.Steps[2:]...) // S2 never receives the vote request
	})
	code, stdout, _ := runCmd(t, "show", path)
	want := "FAILED: step 3: Deliver: message RequestVoteResponse S2->S1 t1 granted is not in flight; " +
		"the closest in flight is RequestVoteResponse S3->S1 t1 granted, whose from is S3, not S2"
	if code != exitViolation || !strings.Contains(stdout, want) || !strings.Contains(stdout, "step 2: Deliver(RequestVote S1->S3") {
		t.Fatalf("exit %d, want %q:\n%s", code, want, stdout)
	}
	page := filepath.Join(t.TempDir(), "p.html")
	code, stdout, _ = runCmd(t, "show", "--html", page, path)
	b, _ := os.ReadFile(page)
	if code != exitViolation || !strings.Contains(stdout, want) || !strings.Contains(string(b), `"failure":"FAILED: step 3: Deliver`) {
		t.Fatalf("--html: exit %d:\n%s", code, stdout)
	}
}

// Steps after the claimed violation are refused: nothing could check them.
func TestStepsAfterViolationRefused(t *testing.T) {
	path := edited(t, "bugs/stay-leader-on-higher-term.json", func(tr *traces.Trace) {
		tr.Steps = append(tr.Steps, traces.Step{Action: spec.Action{Kind: spec.Timeout, Server: 3}})
	})
	code, _, stderr := runCmd(t, "replay", path)
	if code != exitUsage || !strings.Contains(stderr, "violation.step: the trace has 1 steps after its violation at step 6; a trace ends at its violation") {
		t.Fatalf("exit %d: %q", code, stderr)
	}
}

// The counterexample says what each step changed, explains the notation,
// ends with the violation and the history it cites, and under
// count-duplicate-votes shows the vote count the bug decides by.
func TestCounterexampleReadable(t *testing.T) {
	code, stdout, _ := runCmd(t, "check", "--bug", "count-duplicate-votes", "--progress", "off", "--out", t.TempDir())
	for _, want := range []string{
		"notation: Sn role", "step 1: Timeout(S1)\n  S1 candidate* t1* voted=S1* log=[] commit=0 votes=1 (counted)*\n  + RequestVote S1->S2",
		"+ RequestVoteResponse", "- RequestVote", "votes=2 (counted)*", "state after step 10:",
		"VIOLATION of election-safety at step 10: two leaders in term 1", "history: S1 became the leader of term 1 at step",
	} {
		if code != exitViolation || !strings.Contains(stdout, want) {
			t.Fatalf("exit %d, no %q in:\n%s", code, want, stdout)
		}
	}
	code, stdout, _ = runCmd(t, "show", "--full", stored("bugs/vote-without-log-check.json"))
	if code != exitOK || strings.Contains(stdout, "t1*") || !strings.Contains(stdout, "step 12: Deliver(RequestVoteResponse S2->S3 t2 granted)\n  S1 leader") ||
		!strings.Contains(stdout, "history: entry 1:v1 at index 1 was committed at step 9 (S1's commitIndex, term 1)") {
		t.Fatalf("show --full: exit %d:\n%s", code, stdout)
	}
}

// Another implementation plugs in as a program speaking the process
// protocol: tinyraft conforms under --abstraction core, and its seeded
// bug is found and shrunk.
func TestOtherSystem(t *testing.T) {
	stateSpace(t)
	bin := buildTinyraft(t)
	small := []string{"--depth", "12", "--max-values", "1", "--max-restarts", "0", "--max-partitions", "0", "--max-drops", "0", "--progress", "off"}
	code, stdout, stderr := runCmd(t, append([]string{"conform", "--system", bin, "--abstraction", "core"}, small...)...)
	if code != exitOK || !strings.Contains(stdout, "OK: the implementation took every step") {
		t.Fatalf("correct tinyraft: exit %d:\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = runCmd(t, append([]string{"conform", "--system", bin, "--abstraction", "exact"}, small...)...)
	if code != exitViolation || !strings.Contains(stdout, "S1 votes: model [S1] | impl []") {
		t.Fatalf("exact: exit %d:\n%s", code, stdout)
	}
	dir := t.TempDir()
	buggy := bin + " -vote-without-log-check"
	code, stdout, _ = runCmd(t, append([]string{"conform", "--system", buggy, "--abstraction", "core", "--out", dir}, small...)...)
	if code != exitViolation || !strings.Contains(stdout, "DIVERGED at step 6, Deliver(RequestVote S2->S1 t2 last=0/0) (different state)") {
		t.Fatalf("buggy: exit %d:\n%s", code, stdout)
	}
	trace := filepath.Join(dir, "conform-divergence.json")
	code, stdout, _ = runCmd(t, "replay", "-q", "--system", buggy, "--abstraction", "core", trace)
	if code != exitViolation || !strings.Contains(stdout, "DIVERGED at step 6") {
		t.Fatalf("replay: exit %d:\n%s", code, stdout)
	}
	code, stdout, stderr = runCmd(t, "shrink", "--system", buggy, "--abstraction", "core", trace)
	if code != exitOK || !strings.Contains(stdout, "shrunk the divergence (different state) from 6 to") {
		t.Fatalf("shrink: exit %d:\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := runCmd(t, "conform", "--system", bin, "--impl-faults", "figure8-commit"); code != exitUsage || !strings.Contains(stderr, "--impl-faults") {
		t.Fatalf("--impl-faults with --system: exit %d %q", code, stderr)
	}
	if code, _, stderr := runCmd(t, "conform", "--abstraction", "fuzzy"); code != exitUsage || !strings.Contains(stderr, "--abstraction: unknown abstraction \"fuzzy\"") {
		t.Fatalf("--abstraction fuzzy: exit %d %q", code, stderr)
	}
}

// needFaults skips a test that switches on the implementation's fault
// switches in a build without them (make test builds with -tags
// raftfaults).
func needFaults(t *testing.T) {
	t.Helper()
	if !raft.FaultsCompiled {
		t.Skipf("needs the fault switches: go test -tags %s", raft.BuildTag)
	}
}

// buildTinyraft builds the small second implementation's program, which
// speaks the process protocol, into a temporary directory.
func buildTinyraft(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tinyraft")
	build := exec.Command("go", "build", "-o", bin, "./conform/tinyraft/serve")
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building tinyraft: %v\n%s", err, out)
	}
	return bin
}
