package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// small is a configuration whose whole search takes well under a second.
var small = []string{"--max-term", "2", "--max-values", "1", "--max-restarts", "0", "--max-drops", "0"}

// TestShardsScript runs a search as 4 shard processes with
// scripts/shards.sh and checks the merge against the single-process run:
// the same verdict and the same distinct states (the union of the
// shards'). (Not the same depth: a shard may reach a state by a longer
// path than the shortest, which runs through another shard's part.)
func TestShardsScript(t *testing.T) {
	stateSpace(t)
	bin := filepath.Join(t.TempDir(), "explore")
	build := exec.Command("go", "build", "-o", bin, "./cmd/explore")
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	code, whole := checkJSON(t, small...)
	if code != exitOK {
		t.Fatalf("single run: exit %d", code)
	}
	out := t.TempDir()
	cmd := exec.Command(filepath.Join(repo, "scripts", "shards.sh"), append([]string{"4"}, small...)...)
	cmd.Env = append(os.Environ(), "EXPLORE="+bin, "SHARD_OUT="+out, "MERGE_FLAGS=--json")
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("shards.sh: %v\n%s", err, stdout)
	}
	var merged map[string]any
	if err := json.Unmarshal(stdout, &merged); err != nil {
		t.Fatalf("merge output not JSON: %v\n%s", err, stdout)
	}
	for _, k := range []string{"verdict", "distinct_states", "complete"} {
		if fmt.Sprint(merged[k]) != fmt.Sprint(whole[k]) {
			t.Errorf("%s: merged %v, single run %v", k, merged[k], whole[k])
		}
	}
	if sd := merged["shard"].(map[string]any)["split_depth"].(float64); sd < 2 {
		t.Errorf("split at level %v: the search was not divided", sd)
	}
	for i := range 4 {
		var r map[string]any
		b, _ := os.ReadFile(filepath.Join(out, fmt.Sprintf("shard-%d-of-4.json", i)))
		if json.Unmarshal(b, &r) != nil || r["distinct_states"].(float64) >= whole["distinct_states"].(float64) {
			t.Errorf("shard %d stored %v states of %v: not a part", i, r["distinct_states"], whole["distinct_states"])
		}
	}
}

// TestShardsFindTheBug: the shards of a seeded bug's search, merged, give
// a violation of the same property, as short as the single run's.
func TestShardsFindTheBug(t *testing.T) {
	stateSpace(t)
	bug := []string{"--bug", "figure8-commit", "--workers", "1"}
	code, whole := checkJSON(t, bug...)
	if code != exitViolation {
		t.Fatalf("single run: exit %d", code)
	}
	dir := t.TempDir()
	var files []string
	for i := range 3 {
		args := append([]string{"check", "--progress", "off", "--shard", fmt.Sprintf("%d/3", i), "--shard-out", dir, "--out", dir}, bug...)
		runCmd(t, args...)
		files = append(files, filepath.Join(dir, fmt.Sprintf("shard-%d-of-3.json", i)))
	}
	code, stdout, stderr := runCmd(t, append([]string{"merge", "--json"}, files...)...)
	var merged map[string]any
	if err := json.Unmarshal([]byte(stdout), &merged); err != nil || code != exitViolation {
		t.Fatalf("merge: exit %d %v: %s %s", code, err, stdout, stderr)
	}
	got, want := merged["violation"].(map[string]any), whole["violation"].(map[string]any)
	if got["property"] != want["property"] || got["length"] != want["length"] {
		t.Fatalf("merged violation %v after %v steps, single run %v after %v", got["property"], got["length"], want["property"], want["length"])
	}
}

// TestMergeErrors: results that are not the shards of one search are
// refused with one line naming the problem.
func TestMergeErrors(t *testing.T) {
	dir := t.TempDir()
	shard := func(i, n int, extra ...string) string {
		runCmd(t, append([]string{"check", "--progress", "off", "--shard", fmt.Sprintf("%d/%d", i, n), "--shard-out", dir}, append(small, extra...)...)...)
		return filepath.Join(dir, fmt.Sprintf("shard-%d-of-%d.json", i, n))
	}
	b1 := filepath.Join(dir, "other.json")
	os.Rename(shard(1, 2, "--symmetry=false"), b1)
	a0, a1 := shard(0, 2), shard(1, 2)
	plain := filepath.Join(dir, "plain.json")
	_, out, _ := runCmd(t, append([]string{"check", "--json", "--progress", "off"}, small...)...)
	os.WriteFile(plain, []byte(out), 0o644)
	cases := map[string][]string{
		"want the result files":   {"merge"},
		"shard 1 of 2 is missing": {"merge", a0},
		"both shard 0":            {"merge", a0, a0},
		"another search":          {"merge", a0, b1},
		"not a shard's result":    {"merge", plain},
		"no such file":            {"merge", filepath.Join(dir, "none.json")},
		"flag -shard":             {"check", "--shard", "2/2"},
	}
	for want, args := range cases {
		code, _, stderr := runCmd(t, args...)
		if code != exitUsage || !strings.Contains(stderr, want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d %q, want one line naming %q", args, code, stderr, want)
		}
	}
	if code, _, stderr := runCmd(t, "merge", a0, a1); code != exitOK {
		t.Errorf("the two shards: exit %d %s", code, stderr)
	}
}
