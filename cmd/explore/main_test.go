package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/traces"
)

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// Bad flags and impossible configurations: exit 2 and one line naming the
// flag.
func TestBadFlags(t *testing.T) {
	cases := map[string][]string{
		"--servers":    {"check", "--servers", "2"},
		"--max-term":   {"check", "--max-term", "99"},
		"--max-dups":   {"check", "--max-dups", "1"},
		"--workers":    {"check", "--workers", "0"},
		"--strategy":   {"check", "--strategy", "sideways"},
		"--invariants": {"check", "--invariants", "election-safety,nonsense"},
		"--bug":        {"check", "--bug", "no-such-bug"},
		"--progress":   {"check", "--progress", "maybe"},
		"--walks":      {"check", "--strategy", "random", "--walks", "0"},
		"--max-depth":  {"check", "--max-depth", "-1"},
		"argument":     {"check", "extra"},
		"unknown":      {"frobnicate"},
	}
	for want, args := range cases {
		code, stdout, stderr := runCmd(t, args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
		if stdout != "" {
			t.Errorf("%v: printed on stdout: %q", args, stdout)
		}
		first, _, _ := strings.Cut(stderr, "\n")
		if !strings.Contains(first, want) {
			t.Errorf("%v: first line %q does not name %s", args, first, want)
		}
		if want != "unknown" && strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: error is not one line: %q", args, stderr)
		}
	}
}

// An invalid value for a typed flag (the flag package's own message) is
// also one line and exit 2.
func TestMalformedFlagValue(t *testing.T) {
	code, _, stderr := runCmd(t, "check", "--servers", "three")
	if code != exitUsage || !strings.Contains(stderr, "-servers") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if lines := strings.Count(strings.TrimSpace(stderr), "\n"); lines != 0 {
		t.Fatalf("%d lines: %q", lines+1, stderr)
	}
}

func checkJSON(t *testing.T, args ...string) (int, map[string]any) {
	t.Helper()
	code, stdout, stderr := runCmd(t, append([]string{"check", "--json", "--progress", "off"}, args...)...)
	var out map[string]any
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("not JSON (%v): %q; stderr %q", err, stdout, stderr)
	}
	return code, out
}

func TestJSONHoldsExit0(t *testing.T) {
	code, out := checkJSON(t, "--max-term", "1", "--max-values", "1", "--max-restarts", "0", "--max-partitions", "0", "--max-drops", "0", "--symmetry=false", "--workers", "2")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, k := range []string{"config", "distinct_states", "generated_states", "depth", "elapsed_seconds", "states_per_second",
		"complete", "collision_probability", "coverage", "violation"} {
		if _, ok := out[k]; !ok {
			t.Errorf("no %q in %v", k, out)
		}
	}
	// The same configuration as the pinned one in model/checking.
	if out["distinct_states"] != 5584.0 || out["generated_states"] != 14359.0 || out["depth"] != 29.0 || out["complete"] != true || out["violation"] != nil {
		t.Errorf("got %v %v %v %v %v", out["distinct_states"], out["generated_states"], out["depth"], out["complete"], out["violation"])
	}
	cov := out["coverage"].(map[string]any)
	acts := cov["actions"].(map[string]any)
	if d := acts["Deliver"].(map[string]any); d["fired"].(float64) == 0 || d["new"].(float64) == 0 {
		t.Errorf("Deliver coverage %v", d)
	}
	if g := cov["goals"].(map[string]any)["value-committed"].(map[string]any); g["reached"] != true {
		t.Errorf("value-committed %v", g)
	}
}

// A seeded bug with no bound flags runs at its documented bounds, exits 1,
// and writes a trace that parses and names the bug and the property.
func TestBugExit1WritesTrace(t *testing.T) {
	dir := t.TempDir()
	code, out := checkJSON(t, "--bug", "vote-without-log-check", "--out", dir)
	if code != exitViolation {
		t.Fatalf("exit %d", code)
	}
	v := out["violation"].(map[string]any)
	if v["property"] != "leader-completeness" || v["length"].(float64) > 12 {
		t.Fatalf("violation %v", v)
	}
	path := v["trace"].(string)
	if filepath.Dir(path) != dir {
		t.Fatalf("trace %s not in %s", path, dir)
	}
	tr, err := traces.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Config.Bug != "vote-without-log-check" || tr.Violation == nil || tr.Violation.Property != "leader-completeness" || len(tr.Steps) != int(v["length"].(float64)) {
		t.Fatalf("trace header %+v violation %+v steps %d", tr.Config, tr.Violation, len(tr.Steps))
	}
}

// The text report prints the counterexample as a step list and the trace
// path.
func TestTextCounterexample(t *testing.T) {
	dir := t.TempDir()
	code, stdout, _ := runCmd(t, "check", "--bug", "stay-leader-on-higher-term", "--out", dir, "--progress", "off")
	if code != exitViolation {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"VIOLATION of election-safety", "step 1: Timeout", "leader", "counterexample trace: " + dir} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestLimitExit3(t *testing.T) {
	code, out := checkJSON(t, "--max-states", "1000")
	if code != exitLimit || out["complete"] != false || out["stopped"] != "max-states" {
		t.Fatalf("exit %d complete %v stopped %v", code, out["complete"], out["stopped"])
	}
	code, out = checkJSON(t, "--strategy", "random", "--walks", "20", "--max-depth", "30")
	if code != exitLimit || out["complete"] != false {
		t.Fatalf("random: exit %d complete %v", code, out["complete"])
	}
}

func TestBugsListing(t *testing.T) {
	code, stdout, _ := runCmd(t, "bugs")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) < 10 || !strings.HasPrefix(lines[0], "figure8-commit ") || !strings.Contains(lines[0], "--max-term 4") {
		t.Fatalf("listing:\n%s", stdout)
	}
}

// repo is the repository root, for the stored traces.
var repo string

func TestMain(m *testing.M) {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	repo = filepath.Join(wd, "..", "..")
	// Counterexamples of tests that do not pass --out must not litter the
	// package directory.
	dir, err := os.MkdirTemp("", "explore-test")
	if err != nil {
		panic(err)
	}
	if err := os.Chdir(dir); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// The raft.tla rendering gives TLC's figures through the CLI.
func TestCheckTLARaft(t *testing.T) {
	stateSpace(t)
	code, out := checkJSON(t, "--model", "tlaraft", "--symmetry=false", "--workers", "2")
	if code != exitOK || out["distinct_states"] != 341387.0 || out["generated_states"] != 2690854.0 || out["depth"] != 48.0 {
		t.Fatalf("exit %d: %v %v %v", code, out["distinct_states"], out["generated_states"], out["depth"])
	}
	code, _, stderr := runCmd(t, "check", "--model", "tlaraft", "--servers", "9")
	if code != exitUsage || !strings.Contains(stderr, "servers") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("exit %d: %q", code, stderr)
	}
	code, _, stderr = runCmd(t, "check", "--model", "petri")
	if code != exitUsage || !strings.Contains(stderr, "--model") {
		t.Fatalf("exit %d: %q", code, stderr)
	}
}

func stored(name string) string { return filepath.Join(repo, "traces", "scenarios", name) }

func TestReplayCommand(t *testing.T) {
	code, stdout, _ := runCmd(t, "replay", stored("replication.json"))
	if code != exitOK || !strings.Contains(stdout, "OK: 27 steps") || !strings.Contains(stdout, "# At the next heartbeat") {
		t.Fatalf("exit %d:\n%s", code, stdout)
	}
	code, stdout, _ = runCmd(t, "replay", "-q", stored("bugs/figure8-commit.json"))
	if code != exitOK || !strings.Contains(stdout, "leader-completeness breaks at step 26 as claimed") {
		t.Fatalf("exit %d: %s", code, stdout)
	}
	// On the correct implementation the counterexample diverges where the
	// mutation acts; with the mirroring fault switch it does not.
	code, stdout, _ = runCmd(t, "replay", "--impl", "-q", stored("bugs/figure8-commit.json"))
	if code != exitViolation || !strings.Contains(stdout, "DIVERGED at step 23, Deliver(AppendEntries") || !strings.Contains(stdout, "commit_index: model 1 | impl 0") {
		t.Fatalf("exit %d: %s", code, stdout)
	}
	if !raft.FaultsCompiled {
		return // the rest needs the fault switches (TestFaultsNeedTheBuildTag covers this build)
	}
	code, stdout, _ = runCmd(t, "replay", "--impl", "-q", "--impl-faults", "figure8-commit", stored("bugs/figure8-commit.json"))
	if code != exitOK || !strings.Contains(stdout, "the implementation breaks leader-completeness at step 26") {
		t.Fatalf("exit %d: %s", code, stdout)
	}
}

// A trace whose expectation fails exits 1; a bad file exits 2 with one
// line naming the file, the step and the field.
func TestReplayFailuresAndBadFiles(t *testing.T) {
	b, err := os.ReadFile(stored("replication.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	wrong := filepath.Join(dir, "wrong.json")
	if err := os.WriteFile(wrong, []byte(strings.Replace(string(b), `"role": "leader"`, `"role": "follower"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := runCmd(t, "replay", "-q", wrong)
	if code != exitViolation || !strings.Contains(stdout, "FAILED: step 4: expect.servers[0].role: S1 is leader, expected follower") {
		t.Fatalf("exit %d: %s", code, stdout)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(strings.Replace(string(b), `"kind": "Heartbeat"`, `"kind": "Jump"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCmd(t, "replay", bad)
	if code != exitUsage || !strings.Contains(stderr, "bad.json: step 7: kind: unknown action") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("exit %d: %q", code, stderr)
	}
	code, _, stderr = runCmd(t, "replay", filepath.Join(dir, "none.json"))
	if code != exitUsage || !strings.Contains(stderr, "none.json") {
		t.Fatalf("exit %d: %q", code, stderr)
	}
	if code, _, _ := runCmd(t, "replay", "--impl-faults", "nope", stored("replication.json")); code != exitUsage {
		t.Fatalf("unknown fault: exit %d", code)
	}
}

func TestShrinkCommand(t *testing.T) {
	// A counterexample padded with irrelevant steps at the front shrinks
	// back to a short one that still violates the property.
	b, err := os.ReadFile(stored("bugs/stay-leader-on-higher-term.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "cx.json")
	if err := os.WriteFile(in, b, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCmd(t, "shrink", "--out", filepath.Join(dir, "min.json"), in)
	if code != exitOK || !strings.Contains(stdout, "shrunk the violation of election-safety from 6 to") {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	code, stdout, _ = runCmd(t, "replay", "-q", filepath.Join(dir, "min.json"))
	if code != exitOK || !strings.Contains(stdout, "election-safety breaks") {
		t.Fatalf("shrunk trace: exit %d: %s", code, stdout)
	}
	code, _, stderr = runCmd(t, "shrink", stored("replication.json"))
	if code != exitUsage || !strings.Contains(stderr, "claims no violation") {
		t.Fatalf("exit %d: %q", code, stderr)
	}
}

func TestConformCommand(t *testing.T) {
	stateSpace(t)
	code, stdout, _ := runCmd(t, "conform", "--depth", "7", "--progress", "off")
	if code != exitOK || !strings.Contains(stdout, "38,202 paths, 248,136 steps") || !strings.Contains(stdout, "OK: the implementation took every step") {
		t.Fatalf("exit %d: %s", code, stdout)
	}
	if !raft.FaultsCompiled {
		return
	}
	dir := t.TempDir()
	code, stdout, _ = runCmd(t, "conform", "--impl-faults", "vote-without-log-check", "--depth", "12", "--max-restarts", "0",
		"--max-partitions", "0", "--max-drops", "0", "--max-values", "1", "--out", dir)
	if code != exitViolation || !strings.Contains(stdout, "DIVERGED at step 6, Deliver(RequestVote S2->S1 t2 last=0/0) (different state)") {
		t.Fatalf("exit %d: %s", code, stdout)
	}
	if _, err := os.Stat(filepath.Join(dir, "conform-divergence.json")); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCmd(t, "conform", "--depth", "-1"); code != exitUsage || !strings.Contains(stderr, "--depth") {
		t.Fatalf("exit %d: %q", code, stderr)
	}
}

func TestShowCommand(t *testing.T) {
	code, stdout, _ := runCmd(t, "show", stored("partition.json"))
	if code != exitOK || !strings.Contains(stdout, "partition: {S1,S2} {S3,S4,S5}") || !strings.Contains(stdout, "# The partition heals") {
		t.Fatalf("exit %d:\n%s", code, stdout)
	}
	out := filepath.Join(t.TempDir(), "page.html")
	code, stdout, _ = runCmd(t, "show", "--impl", "--html", out, stored("bugs/figure8-commit.json"))
	// The page goes on past the divergence at step 23 to the violation at
	// step 26, showing the model alone there.
	if code != exitOK || !strings.Contains(stdout, "27 frames") {
		t.Fatalf("exit %d: %s", code, stdout)
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<html", "trace-data", "figure8-commit", `"diff_kind":"different state"`, `"model_only":true`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// In a build without the fault switches, --impl-faults is refused at once
// with one line naming the build tag; with them it is accepted.
func TestFaultsNeedTheBuildTag(t *testing.T) {
	code, _, stderr := runCmd(t, "replay", "--impl", "-q", "--impl-faults", "figure8-commit", stored("bugs/figure8-commit.json"))
	if raft.FaultsCompiled {
		if code != exitOK {
			t.Fatalf("with the tag: exit %d %q", code, stderr)
		}
		return
	}
	if code != exitUsage || !strings.Contains(stderr, "-tags raftfaults") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("without the tag: exit %d %q", code, stderr)
	}
}
