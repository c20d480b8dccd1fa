package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// comparable drops from a JSON report what may differ between an
// uninterrupted run and a resumed one: time, memory, workers and the
// resume marker itself.
func comparable(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("not JSON (%v): %q", err, b)
	}
	for _, k := range []string{"elapsed_seconds", "states_per_second", "table_bytes", "workers", "resumed_from_level"} {
		delete(out, k)
	}
	return out
}

// subExplore starts explore in a child process (the test binary itself,
// as TestInterrupt does) with stdout into out.
func subExplore(t *testing.T, out *bytes.Buffer, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestInterrupt$")
	cmd.Env = append(os.Environ(), "EXPLORE_TEST_MAIN=1", "EXPLORE_TEST_ARGS="+strings.Join(args, " "))
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// TestKillAndResume kills a checkpointed run with SIGKILL once it has
// saved itself, resumes it, and compares the resumed run's JSON with an
// uninterrupted run's: the same verdict, counts, depth and coverage.
func TestKillAndResume(t *testing.T) {
	stateSpace(t)
	dir := filepath.Join(t.TempDir(), "ckpt")
	common := []string{"check", "--json", "--progress", "off", "--workers", "2"}
	code, want, _ := runCmd(t, common...)
	if code != exitOK {
		t.Fatalf("uninterrupted run: exit %d", code)
	}
	var out bytes.Buffer
	cmd := subExplore(t, &out, append(common, "--checkpoint", dir, "--checkpoint-every", "200ms")...)
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(filepath.Join(dir, "checkpoint.json")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no checkpoint written within a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if cmd.ProcessState.ExitCode() != -1 {
		t.Fatalf("the run ended (exit %d) before it was killed: the test did not interrupt it", cmd.ProcessState.ExitCode())
	}
	code, got, stderr := runCmd(t, "check", "--resume", dir, "--workers", "1")
	if code != exitOK {
		t.Fatalf("resumed run: exit %d: %s", code, stderr)
	}
	var marker map[string]any
	json.Unmarshal([]byte(got), &marker)
	if lv, _ := marker["resumed_from_level"].(float64); lv < 1 {
		t.Fatalf("the resumed run did not resume from a checkpoint: %v", marker["resumed_from_level"])
	}
	if g, w := comparable(t, []byte(got)), comparable(t, []byte(want)); !jsonEqual(g, w) {
		t.Fatalf("resumed run differs from the uninterrupted one:\n%s\nwant\n%s", got, want)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestResumeCounterexample stops a run of a seeded bug by a time limit
// (which checkpoints the level it was in) and resumes it without one: the
// counterexample written is the uninterrupted run's.
func TestResumeCounterexample(t *testing.T) {
	stateSpace(t)
	tmp := t.TempDir()
	bug := []string{"check", "--json", "--progress", "off", "--workers", "1", "--bug", "reconfig-before-term-commit"}
	code, want, _ := runCmd(t, append(bug, "--out", filepath.Join(tmp, "want"))...)
	if code != exitViolation {
		t.Fatalf("uninterrupted run: exit %d", code)
	}
	dir := filepath.Join(tmp, "ckpt")
	code, _, _ = runCmd(t, append(bug, "--out", filepath.Join(tmp, "got"), "--checkpoint", dir, "--time-limit", "150ms")...)
	if code != exitLimit {
		t.Fatalf("time-limited run: exit %d, want %d (stopped by its limit)", code, exitLimit)
	}
	code, got, stderr := runCmd(t, "check", "--resume", dir, "--time-limit", "0")
	if code != exitViolation {
		t.Fatalf("resumed run: exit %d: %s", code, stderr)
	}
	if !strings.Contains(got, `"resumed_from_level"`) {
		t.Fatalf("the resumed run did not resume from a checkpoint: %s", got)
	}
	if g, w := comparable(t, []byte(got)), comparable(t, []byte(want)); !jsonEqual(dropTrace(g), dropTrace(w)) {
		t.Fatalf("resumed run differs:\n%s\nwant\n%s", got, want)
	}
	a, _ := os.ReadFile(filepath.Join(tmp, "want", "reconfig-before-term-commit-leader-completeness.json"))
	b, _ := os.ReadFile(filepath.Join(tmp, "got", "reconfig-before-term-commit-leader-completeness.json"))
	// The traces differ only in the command that produced them (--out,
	// --time-limit).
	var ta, tb map[string]any
	if json.Unmarshal(a, &ta) != nil || json.Unmarshal(b, &tb) != nil {
		t.Fatalf("counterexample traces missing or not JSON:\n%s\nwant\n%s", b, a)
	}
	for _, tr := range []map[string]any{ta, tb} {
		delete(tr["producer"].(map[string]any), "command")
	}
	if !jsonEqual(ta, tb) {
		t.Fatalf("the counterexample traces differ:\n%s\nwant\n%s", b, a)
	}
}

// dropTrace removes the counterexample's file name, which differs with
// --out.
func dropTrace(m map[string]any) map[string]any {
	if v, ok := m["violation"].(map[string]any); ok {
		delete(v, "trace")
	}
	delete(m, "violations")
	return m
}

// TestCheckpointFlags: misuse of the checkpoint flags is one line and
// exit 2.
func TestCheckpointFlags(t *testing.T) {
	dir := t.TempDir()
	cases := map[string][]string{
		"only bfs":          {"check", "--strategy", "dfs", "--checkpoint", dir},
		"checkpoint-every":  {"check", "--checkpoint", dir, "--checkpoint-every", "0s"},
		"command.json":      {"check", "--resume", filepath.Join(dir, "none")},
		"needs a directory": {"check", "--resume"},
	}
	for want, args := range cases {
		code, _, stderr := runCmd(t, args...)
		if code != exitUsage || !strings.Contains(stderr, want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d %q, want one line naming %q", args, code, stderr, want)
		}
	}
}
