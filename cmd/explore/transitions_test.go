package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raftcheck/raftcheck/impl/raft"
)

// smallTransitions are bounds whose every transition is compared in about
// a second (conform/implcluster pins the same counts).
var smallTransitions = []string{"--max-msgs", "2", "--max-values", "1", "--progress", "off"}

// explore conform without --depth or --walks compares every transition of
// every reachable state; a fault is found, its path written and
// confirmed; a limit makes the run incomplete.
func TestConformTransitionsCommand(t *testing.T) {
	stateSpace(t)
	code, stdout, stderr := runCmd(t, append([]string{"conform"}, smallTransitions...)...)
	if code != exitOK || !strings.Contains(stdout, "every transition of every reachable state (symmetry on") ||
		!strings.Contains(stdout, "26,427 states, 79,428 transitions compared") || !strings.Contains(stdout, "OK: the implementation took every transition") {
		t.Fatalf("exit %d:\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = runCmd(t, append([]string{"conform", "--max-states", "1000"}, smallTransitions...)...)
	if code != exitLimit || !strings.Contains(stdout, "INCOMPLETE (max-states)") {
		t.Fatalf("--max-states: exit %d:\n%s", code, stdout)
	}
	if code, _, stderr := runCmd(t, "conform", "--depth", "3", "--walks", "2"); code != exitUsage || !strings.Contains(stderr, "choose one mode") {
		t.Fatalf("--depth with --walks: exit %d %q", code, stderr)
	}
	if code, _, stderr := runCmd(t, "conform", "--wal"); code != exitUsage || !strings.Contains(stderr, "--wal needs --depth or --walks") {
		t.Fatalf("--wal: exit %d %q", code, stderr)
	}
	if code, _, stderr := runCmd(t, "conform", "--max-inflight", "1"); code != exitUsage || !strings.Contains(stderr, "pipelining") {
		t.Fatalf("pipelining: exit %d %q", code, stderr)
	}
	if !raft.FaultsCompiled {
		return
	}
	dir := t.TempDir()
	code, stdout, _ = runCmd(t, append([]string{"conform", "--impl-faults", "vote-without-log-check", "--out", dir}, smallTransitions...)...)
	if code != exitViolation || !strings.Contains(stdout, "DIVERGED at step 7, Deliver(RequestVote S2->S1 t2 last=0/0) (different state)") {
		t.Fatalf("fault: exit %d:\n%s", code, stdout)
	}
	trace := filepath.Join(dir, "conform-divergence.json")
	code, stdout, _ = runCmd(t, "replay", "-q", "--impl", "--impl-faults", "vote-without-log-check", trace)
	if code != exitViolation || !strings.Contains(stdout, "DIVERGED at step 7") {
		t.Fatalf("replay: exit %d:\n%s", code, stdout)
	}
}

// A program speaking the process protocol is restored through it:
// tinyraft conforms on every transition under --abstraction core.
func TestConformTransitionsOtherSystem(t *testing.T) {
	stateSpace(t)
	bin := buildTinyraft(t)
	small := []string{"--max-msgs", "2", "--max-values", "1", "--max-restarts", "0", "--max-partitions", "0", "--progress", "off"}
	code, stdout, stderr := runCmd(t, append([]string{"conform", "--system", bin, "--abstraction", "core"}, small...)...)
	if code != exitOK || !strings.Contains(stdout, "OK: the implementation took every transition") {
		t.Fatalf("exit %d:\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = runCmd(t, append([]string{"conform", "--system", bin + " -vote-without-log-check", "--abstraction", "core", "--out", t.TempDir()}, small...)...)
	if code != exitViolation || !strings.Contains(stdout, "DIVERGED at step 7") {
		t.Fatalf("buggy: exit %d:\n%s", code, stdout)
	}
	// A follower taking a client's value is found in the initial state,
	// where S1 is offered a ClientRequest it must refuse.
	code, stdout, _ = runCmd(t, append([]string{"conform", "--system", bin + " -propose-anywhere", "--abstraction", "core", "--out", t.TempDir()}, small...)...)
	if code != exitViolation || !strings.Contains(stdout, `DIVERGED in the initial state: ClientRequest(S1, "v1"): taken, though the protocol forbids it here`) ||
		!strings.Contains(stdout, "confirmed: driven along the path") {
		t.Fatalf("propose-anywhere: exit %d:\n%s", code, stdout)
	}
	_ = os.Remove(bin)
}
