package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/raftcheck/raftcheck/checker/report"
	"github.com/raftcheck/raftcheck/model"
)

// stateSpace skips a test that explores a large state space under -race
// (make test runs it without).
func stateSpace(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("state-space test: make test runs it without -race")
	}
}

func goal(t *testing.T, out map[string]any, name string) map[string]any {
	t.Helper()
	g, ok := out["coverage"].(map[string]any)["goals"].(map[string]any)[name].(map[string]any)
	if !ok {
		t.Fatalf("no goal %s in %v", name, out["coverage"])
	}
	return g
}

// With the default bounds, five and seven servers elect leaders and commit
// values (max-msgs scales with the cluster); the runs are cut by depth, so
// they exit 3, never 0.
func TestLargerClustersCommit(t *testing.T) {
	stateSpace(t)
	for _, c := range []struct{ servers, depth, steps int }{{5, 13, 12}, {7, 19, 18}} {
		code, out := checkJSON(t, "--servers", fmt.Sprint(c.servers), "--max-depth", fmt.Sprint(c.depth))
		cfg := out["config"].(map[string]any)
		if code != exitLimit || out["verdict"] != "incomplete" || cfg["max_msgs"] != float64(c.servers) {
			t.Errorf("%d servers: exit %d verdict %v max_msgs %v", c.servers, code, out["verdict"], cfg["max_msgs"])
		}
		if g := goal(t, out, "value-committed"); g["reached"] != true || g["steps"] != float64(c.steps) {
			t.Errorf("%d servers: value-committed %v, want reached in %d steps", c.servers, g, c.steps)
		}
	}
}

// Bounds under which an action kind can never be enabled are refused
// before the run, naming the flag and the smallest value that works.
func TestUnexercisableBounds(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"check", "--max-msgs", "0"}, "--max-msgs: 0 is too few for 3 servers"},
		{[]string{"check", "--servers", "5", "--max-msgs", "3"}, "(use at least 4)"},
		{[]string{"check", "--max-term", "0"}, "--max-term: 0 allows no election"},
		{[]string{"conform", "--servers", "7", "--max-msgs", "5"}, "--max-msgs: 5 is too few for 7 servers"},
		{[]string{"check", "--bug", "figure8-commit", "--servers", "5"}, "--max-msgs: 3 is too few for 5 servers"},
	} {
		code, stdout, stderr := runCmd(t, c.args...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line with %q", c.args, code, stderr, c.want)
		}
	}
}

// Every seeded bug is found when run at its own server count: the flag
// overrides only itself, the rest of the bug's bounds stay.
func TestBugsKeepTheirBounds(t *testing.T) {
	stateSpace(t)
	for _, b := range model.Bugs {
		code, out := checkJSON(t, "--bug", b.Name, "--servers", fmt.Sprint(b.Bounds.Servers), "--out", t.TempDir())
		if b.Breaks == "" {
			if code != exitOK || !strings.Contains(fmt.Sprint(out["note"]), "negative control") {
				t.Errorf("%s: exit %d note %v", b.Name, code, out["note"])
			}
			continue
		}
		v, _ := out["violation"].(map[string]any)
		if code != exitViolation || v == nil || v["property"] != b.Breaks || v["length"].(float64) > float64(b.MaxLength) {
			t.Errorf("%s --servers %d: exit %d violation %v; want %s within %d steps", b.Name, b.Bounds.Servers, code, v, b.Breaks, b.MaxLength)
		}
	}
	code, stdout, _ := runCmd(t, "check", "--bug", "figure8-commit", "--servers", "3", "--progress", "off", "--out", t.TempDir())
	if code != exitViolation || !strings.Contains(stdout, "bounds: the documented bounds of figure8-commit, overridden by --servers") ||
		!strings.Contains(stdout, "max-term=4") {
		t.Errorf("exit %d:\n%s", code, stdout)
	}
}

// A bound that hides the bug is said, with the bounds that find it.
func TestBugNotFoundSaysSo(t *testing.T) {
	code, stdout, _ := runCmd(t, "check", "--bug", "figure8-commit", "--max-term", "2", "--progress", "off")
	want := "the seeded bug figure8-commit was not found at these bounds (its documented bounds find it in 26 steps: --servers 3 --max-term 4"
	if code != exitOK || !strings.Contains(stdout, want) {
		t.Fatalf("exit %d, want %q in:\n%s", code, want, stdout)
	}
}

// A complete run that never reaches an expected goal is VACUOUS: exit 4,
// or 0 with --allow-vacuous. raft.tla starts in term 1, so MaxTerm 1 lets
// no election happen.
func TestVacuousVerdict(t *testing.T) {
	code, stdout, _ := runCmd(t, "check", "--model", "tlaraft", "--max-term", "1", "--progress", "off")
	if code != exitVacuous || !strings.Contains(stdout, "VACUOUS: every property holds, but on too little: not reached: leader-elected") ||
		strings.Contains(stdout, "OK:") || strings.Contains(stdout, "never enabled: Restart") || strings.Contains(stdout, "DropMessage\n") {
		t.Fatalf("exit %d:\n%s", code, stdout)
	}
	code, out := checkJSON(t, "--model", "tlaraft", "--max-term", "1")
	if code != exitVacuous || out["verdict"] != "vacuous" || fmt.Sprint(out["unreached_goals"]) != "[leader-elected value-committed]" {
		t.Fatalf("exit %d verdict %v unreached %v", code, out["verdict"], out["unreached_goals"])
	}
	if code, _, _ := runCmd(t, "check", "--model", "tlaraft", "--max-term", "1", "--allow-vacuous", "--progress", "off"); code != exitOK {
		t.Fatalf("--allow-vacuous: exit %d", code)
	}
	code, out = checkJSON(t, "--max-term", "1", "--max-values", "1", "--max-restarts", "0", "--max-partitions", "0", "--max-drops", "0")
	if code != exitOK || out["verdict"] != "ok" {
		t.Fatalf("a small complete run: exit %d verdict %v", code, out["verdict"])
	}
}

// conform --depth N replays paths of N steps, and a run that never
// commits is vacuous.
func TestConformDepthAndVacuity(t *testing.T) {
	stateSpace(t)
	code, stdout, _ := runCmd(t, "conform", "--depth", "1", "--progress", "off")
	if code != exitVacuous || !strings.Contains(stdout, "9 paths, 9 steps compared") || !strings.Contains(stdout, "no path elected a leader") {
		t.Fatalf("depth 1: exit %d:\n%s", code, stdout)
	}
	code, stdout, _ = runCmd(t, "conform", "--depth", "6", "--progress", "off")
	if code != exitVacuous || !strings.Contains(stdout, "no path committed a value") {
		t.Fatalf("depth 6: exit %d:\n%s", code, stdout)
	}
	if code, _, _ := runCmd(t, "conform", "--depth", "6", "--allow-vacuous", "--progress", "off"); code != exitOK {
		t.Fatalf("depth 6 --allow-vacuous: exit %d", code)
	}
}

// Random walks stop at --max-states, run until the time limit with
// --walks 0, print their statistics, and keep every distinct violation in
// its own numbered file without overwriting earlier runs'.
func TestRandomWalks(t *testing.T) {
	stateSpace(t)
	code, out := checkJSON(t, "--strategy", "random", "--walks", "0", "--max-states", "5000")
	if code != exitLimit || out["stopped"] != "max-states" || out["distinct_states"].(float64) < 5000 || out["distinct_states"].(float64) > 5200 {
		t.Fatalf("max-states: exit %d stopped %v distinct %v", code, out["stopped"], out["distinct_states"])
	}
	start := time.Now()
	code, out = checkJSON(t, "--strategy", "random", "--walks", "0", "--time-limit", "300ms")
	if code != exitLimit || out["stopped"] != "time-limit" || time.Since(start) > 5*time.Second || out["walks"].(map[string]any)["walks"].(float64) < 64 {
		t.Fatalf("time limit: exit %d stopped %v after %v, walks %v", code, out["stopped"], time.Since(start), out["walks"])
	}
	dir := t.TempDir()
	args := []string{"check", "--bug", "vote-without-log-check", "--strategy", "random", "--walks", "300", "--max-violations", "3", "--out", dir, "--progress", "off"}
	code, stdout, _ := runCmd(t, args...)
	for _, want := range []string{"walks: ", "steps per walk: min", "actions taken: Timeout", "3 distinct violations"} {
		if code != exitViolation || !strings.Contains(stdout, want) {
			t.Fatalf("exit %d, no %q in:\n%s", code, want, stdout)
		}
	}
	runCmd(t, args...)
	files, _ := filepath.Glob(filepath.Join(dir, "vote-without-log-check-*.json"))
	if len(files) != 6 {
		t.Fatalf("two runs of 3 violations wrote %d files: %v", len(files), files)
	}
}

// Small truths: DFS says 1 worker; --frontier-mem takes units; help and
// --version.
func TestSmallTruths(t *testing.T) {
	stateSpace(t)
	code, stdout, _ := runCmd(t, "check", "--strategy", "dfs", "--max-term", "1", "--max-values", "1", "--max-restarts", "0",
		"--max-partitions", "0", "--max-drops", "0", "--workers", "2", "--progress", "off")
	if code != exitOK || !strings.Contains(stdout, "strategy dfs, 1 worker,") {
		t.Errorf("dfs: exit %d:\n%s", code, stdout)
	}
	if code, _, stderr := runCmd(t, "check", "--max-term", "1", "--frontier-mem", "512MiB", "--progress", "off"); code != exitOK {
		t.Errorf("--frontier-mem 512MiB: exit %d %s", code, stderr)
	}
	if code, _, stderr := runCmd(t, "check", "--frontier-mem", "lots"); code != exitUsage || !strings.Contains(stderr, "frontier-mem") {
		t.Errorf("--frontier-mem lots: exit %d %q", code, stderr)
	}
	var f report.ByteSize
	for in, want := range map[string]int64{"1GiB": 1 << 30, "512MiB": 512 << 20, "2g": 2 << 30, "10MB": 10e6, "4096": 4096} {
		if err := f.Set(in); err != nil || int64(f) != want {
			t.Errorf("%s: %d, %v; want %d", in, f, err, want)
		}
	}
	if code, stdout, _ := runCmd(t, "help", "check"); code != exitOK || !strings.Contains(stdout, "usage: explore check") || !strings.Contains(stdout, "-allow-vacuous") {
		t.Errorf("help check: exit %d %q", code, stdout)
	}
	if code, stdout, _ := runCmd(t, "--version"); code != exitOK || !strings.HasPrefix(stdout, "explore ") || strings.Count(stdout, "\n") != 1 {
		t.Errorf("--version: exit %d %q", code, stdout)
	}
}

// Ctrl-C ends a run with the summary so far and exit 130.
func TestInterrupt(t *testing.T) {
	if os.Getenv("EXPLORE_TEST_MAIN") == "1" {
		os.Exit(run(strings.Fields(os.Getenv("EXPLORE_TEST_ARGS")), os.Stdout, os.Stderr))
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestInterrupt$")
	cmd.Env = append(os.Environ(), "EXPLORE_TEST_MAIN=1", "EXPLORE_TEST_ARGS=check --max-term 4 --max-values 3 --progress off --workers 1")
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if cmd.ProcessState.ExitCode() != exitInterrupted || !strings.Contains(out.String(), "INCOMPLETE: interrupted") ||
		!strings.Contains(out.String(), "distinct states") {
		t.Fatalf("exit %v (%v):\n%s", cmd.ProcessState.ExitCode(), err, out.String())
	}
}
