package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raftcheck/raftcheck/traces"
)

// noSync are the bounds of the run without the timing assumption: no
// faults, three terms, one value.
var noSync = []string{"--liveness", "--synchrony=false", "--max-term", "3", "--max-values", "1", "--max-restarts", "0",
	"--max-partitions", "0", "--max-drops", "0", "--invariants", "stable-leader", "--progress", "off"}

// TestLivenessCommand: without the timing assumption explore check
// reports a lasso (exit 1, the JSON's liveness verdict with the prefix
// and cycle lengths, the assumptions), writes it as a trace with a loop
// marker, and replay, show and shrink accept it.
func TestLivenessCommand(t *testing.T) {
	dir := t.TempDir()
	code, out := checkJSON(t, append([]string{"--out", dir}, noSync...)...)
	if code != exitViolation {
		t.Fatalf("exit %d, want %d", code, exitViolation)
	}
	live, _ := out["liveness"].([]any)
	if len(live) != 1 {
		t.Fatalf("liveness %v, want one verdict", out["liveness"])
	}
	l := live[0].(map[string]any)
	if l["name"] != "stable-leader" || l["holds"] != false || l["prefix"].(float64) < 1 {
		t.Fatalf("verdict %v", l)
	}
	v := out["violation"].(map[string]any)
	if v["kind"] != "liveness" || v["prefix"] != l["prefix"] {
		t.Fatalf("violation %v", v)
	}
	if as, _ := out["assumptions"].([]any); len(as) < 2 || !strings.Contains(as[1].(string), "no synchrony") {
		t.Fatalf("assumptions %v", out["assumptions"])
	}
	file := v["trace"].(string)
	tr, err := traces.ReadFile(file)
	if err != nil || !tr.IsLasso() || tr.LoopStart() != int(l["prefix"].(float64)) || tr.Violation.Fair == "" {
		t.Fatalf("trace %s: %v (lasso %v)", file, err, tr != nil && tr.IsLasso())
	}
	code, stdout, stderr := runCmd(t, "replay", "-q", file)
	if code != exitOK || !strings.Contains(stdout, "stable-leader fails on it under fairness") {
		t.Fatalf("replay: exit %d: %s%s", code, stdout, stderr)
	}
	// The implementation, its timers driven as the model's, takes the
	// same lasso with the same states.
	code, stdout, stderr = runCmd(t, "replay", "-q", "--impl", file)
	if code != exitOK || !strings.Contains(stdout, "identical") {
		t.Fatalf("replay --impl: exit %d: %s%s", code, stdout, stderr)
	}
	code, stdout, _ = runCmd(t, "show", file)
	if code != exitOK || !strings.Contains(stdout, "repeats forever") {
		t.Fatalf("show: exit %d, no loop line: %s", code, stdout)
	}
	code, stdout, stderr = runCmd(t, "shrink", "--out", filepath.Join(dir, "min.json"), file)
	if code != exitOK || !strings.Contains(stdout, "shrunk the lasso") {
		t.Fatalf("shrink: exit %d: %s%s", code, stdout, stderr)
	}
	if code, stdout, _ = runCmd(t, "replay", "-q", filepath.Join(dir, "min.json")); code != exitOK {
		t.Fatalf("the shrunk lasso does not replay: %s", stdout)
	}
}

// TestLassoReplayChecksTheLoop: a lasso whose loop marker is moved no
// longer closes, and replay says so; a loop marker out of range or on a
// safety trace is refused on load with one line naming the field.
func TestLassoReplayChecksTheLoop(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runCmd(t, append([]string{"check", "--out", dir}, noSync...)...); code != exitViolation {
		t.Fatalf("check: exit %d: %s", code, stderr)
	}
	file := filepath.Join(dir, "stable-leader.json")
	tr, err := traces.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, edit func(*traces.Trace)) string {
		c := *tr
		edit(&c)
		p := filepath.Join(dir, name)
		if err := c.WriteFile(p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	moved := write("moved.json", func(c *traces.Trace) { k := 1; c.Loop = &k })
	code, stdout, _ := runCmd(t, "replay", "-q", moved)
	if code != exitViolation || !strings.Contains(stdout, "FAILED: loop:") {
		t.Fatalf("moved loop: exit %d: %s", code, stdout)
	}
	far := write("far.json", func(c *traces.Trace) { k := len(c.Steps) + 1; c.Loop = &k })
	code, _, stderr := runCmd(t, "replay", far)
	if code != exitUsage || !strings.Contains(stderr, "loop:") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("loop out of range: exit %d: %q", code, stderr)
	}
	b, _ := os.ReadFile(far)
	noClaim := filepath.Join(dir, "noclaim.json")
	_ = os.WriteFile(noClaim, []byte(strings.Replace(string(b), `"kind": "liveness"`, `"kind": "invariant"`, 1)), 0o644)
	if code, _, stderr = runCmd(t, "replay", noClaim); code != exitUsage || !strings.Contains(stderr, "loop:") {
		t.Fatalf("loop on a safety trace: exit %d: %q", code, stderr)
	}
}

// TestLivenessFlags: bad fairness is one line naming --fair; a seeded
// liveness bug turns the liveness check on.
func TestLivenessFlags(t *testing.T) {
	code, _, stderr := runCmd(t, "check", "--liveness", "--fair", "Deliver,Nap")
	if code != exitUsage || !strings.Contains(stderr, "--fair") {
		t.Fatalf("exit %d: %q", code, stderr)
	}
	code, stdout, _ := runCmd(t, "check", "--bug", "keep-vote-on-new-term", "--out", t.TempDir(), "--progress", "off")
	if code != exitViolation || !strings.Contains(stdout, "stable-leader            VIOLATED") {
		t.Fatalf("keep-vote-on-new-term: exit %d:\n%s", code, stdout)
	}
}
