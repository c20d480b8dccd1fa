package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/raftcheck/raftcheck/traces/validate/sim"
)

// writeRun simulates a 3-server run of impl/raft into dir.
func writeRun(t *testing.T, dir string, seed uint64) []string {
	t.Helper()
	logs, err := sim.Run(sim.Options{Servers: 3, Events: 300, Seed: seed, Snapshots: true, Restarts: true})
	if err != nil {
		t.Fatal(err)
	}
	files, err := sim.WriteDir(dir, logs)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestValidateCommand(t *testing.T) {
	dir := t.TempDir()
	files := writeRun(t, dir, 1)
	var out, errb bytes.Buffer
	if code := run(append([]string{"validate"}, files...), &out, &errb); code != exitOK {
		t.Fatalf("clean run: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if !regexp.MustCompile(`^OK: 3 servers, 300 events, \d+ messages sent and \d+ receptions matched, \d+ state fields compared\n$`).MatchString(out.String()) {
		t.Fatalf("clean run: %q", out.String())
	}

	// A vote changed in the third line of S2's log.
	b, err := os.ReadFile(files[1])
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	k := -1
	for i, l := range lines {
		if strings.Contains(l, `"kind":"Timeout"`) {
			k = i
			break
		}
	}
	if k < 0 {
		t.Fatal("S2 never times out")
	}
	lines[k] = strings.Replace(lines[k], `"vote":2`, `"vote":3`, 1)
	if err := os.WriteFile(files[1], []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run(append([]string{"validate", "--json"}, files...), &out, &errb); code != exitViolation {
		t.Fatalf("changed vote: exit %d\n%s", code, out.String())
	}
	var rep validateReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if f := rep.Failure; f == nil || f.File != files[1] || f.Line != k+1 || f.Field != "state.vote" || f.Expected != "S2" || f.Got != "S3" {
		t.Fatalf("changed vote at %s:%d: %+v", files[1], k+1, rep.Failure)
	}

	// Malformed input: exit 2, one line naming file:line and the field.
	if err := os.WriteFile(files[0], []byte(`{"server":1,"seq":1,"kind":"Timeout","colour":1}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errb.Reset()
	if code := run(append([]string{"validate"}, files...), &out, &errb); code != exitUsage ||
		!strings.Contains(errb.String(), files[0]+`:1: field "colour": not a field of the event format`) {
		t.Fatalf("malformed: exit %d, %q", code, errb.String())
	}
}

func TestValidateRuns(t *testing.T) {
	root := t.TempDir()
	var dirs []string
	for seed := uint64(1); seed <= 4; seed++ {
		d := filepath.Join(root, "run"+string(rune('0'+seed)))
		writeRun(t, d, seed)
		dirs = append(dirs, d)
	}
	var out, errb bytes.Buffer
	if code := run(append([]string{"validate", "--runs", "--workers", "2"}, dirs...), &out, &errb); code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	if n := strings.Count(out.String(), "\nOK "); n != 3 || !strings.HasPrefix(out.String(), "OK "+dirs[0]+": ") || !strings.Contains(out.String(), "4 runs, 1200 events in ") {
		t.Fatalf("%s", out.String())
	}
}

// TestValidateVoters: with --voters 2 the third server is no voter, and
// its first campaign is reported.
func TestValidateVoters(t *testing.T) {
	files := writeRun(t, t.TempDir(), 1)
	var out, errb bytes.Buffer
	if code := run(append([]string{"validate", "--voters", "2"}, files...), &out, &errb); code != exitViolation ||
		!strings.Contains(out.String(), "Timeout guard (S3 is not a voter of its configuration {S1,S2} (only voters campaign))") {
		t.Fatalf("exit %d: %s%s", code, out.String(), errb.String())
	}
	if code := run(append([]string{"validate", "--voters", "9"}, files...), &out, &errb); code != exitUsage {
		t.Fatalf("--voters 9: exit %d", code)
	}
}
