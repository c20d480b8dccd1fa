package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildRaftkv builds raftkv into dir, with the fault switches if tagged.
func buildRaftkv(t *testing.T, dir string, tagged bool) string {
	t.Helper()
	bin := filepath.Join(dir, "raftkv")
	args := []string{"build", "-o", bin}
	if tagged {
		args = append(args, "-tags", "raftfaults")
	}
	if out, err := exec.Command("go", append(args, "github.com/raftcheck/raftcheck/cmd/raftkv")...).CombinedOutput(); err != nil {
		t.Fatalf("go build raftkv: %v\n%s", err, out)
	}
	return bin
}

func runTorture(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	t.Logf("raftkv-torture %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	return code, out.String()
}

// TestCorrectBuildPasses: a short run of every fault kind on the
// production build (no fault switches) passes every check.
func TestCorrectBuildPasses(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("real processes for seconds: run without -race and -short")
	}
	dir := t.TempDir()
	bin := buildRaftkv(t, dir, false)
	code, out := runTorture(t, "--raftkv", bin, "--duration", "6s", "--seed", "1", "--out", filepath.Join(dir, "out"))
	if code != exitOK || !strings.Contains(out, "linearizability: OK") || !strings.Contains(out, "traces: OK") {
		t.Fatalf("exit %d, want %d with linearizability and traces OK", code, exitOK)
	}
}

// TestFaultyBuildCaught: raftkv with VoteWithoutLogCheck (votes granted
// without the log comparison of §5.4.1) is caught by trace validation at
// the vote it should have refused.
func TestFaultyBuildCaught(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("real processes for seconds: run without -race and -short")
	}
	dir := t.TempDir()
	bin := buildRaftkv(t, dir, true)
	code, out := runTorture(t, "--raftkv", bin, "--fault", "VoteWithoutLogCheck", "--duration", "6s", "--seed", "1",
		"--out", filepath.Join(dir, "out"))
	if code != exitViolation || !strings.Contains(out, "VIOLATION trace validation") || !strings.Contains(out, "granted") {
		t.Fatalf("exit %d, want %d with the trace validation failure of a granted vote", code, exitViolation)
	}
}

// TestBadFlags: exit 2 with one line naming the flag.
func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--servers", "4"}, {"--faults", "kill,fire"}, {"x"}, {"--raftkv", "/nonexistent/raftkv"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != exitSetup || strings.Count(errb.String(), "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line", args, code, errb.String())
		}
	}
}
