package wal

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raftcheck/raftcheck/spec"
)

// crashDirEnv, when set, turns the test binary into the crash child: it
// runs a write load on the WAL in that directory and reports every
// acknowledged change on stdout until it is killed.
const crashDirEnv = "RAFTCHECK_WAL_CRASH_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(dir)
		return
	}
	os.Exit(m.Run())
}

// crashChild appends from several goroutines, raises the term, snapshots
// and compacts, all on small segments so that rolling and compaction are
// in flight when the kill comes. Each acknowledged change is printed as
// one line: "e <index> <value>", "t <term>" or "s <index>". It runs until
// killed.
func crashChild(dir string) {
	w, st, err := Open(dir, Options{SegmentSize: 2048})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	var out sync.Mutex
	say := func(format string, args ...any) {
		out.Lock()
		defer out.Unlock()
		fmt.Printf(format+"\n", args...) // unbuffered: written before the next change starts
	}
	fail := func(err error) {
		say("error %v", err)
		os.Exit(1)
	}
	for g := range 4 {
		go func() {
			for i := 0; ; i++ {
				v := spec.Value(fmt.Sprintf("g%d-%d-%d", g, st.LastIndex(), i))
				idx, err := w.Append(1, v)
				if err != nil {
					fail(err)
				}
				say("e %d %s", idx, v)
			}
		}()
	}
	go func() {
		for term := st.HardState.Term + 1; ; term++ {
			if err := w.Save(&HardState{Term: term, VotedFor: 1}, 0, nil); err != nil {
				fail(err)
			}
			say("t %d", term)
			time.Sleep(2 * time.Millisecond)
		}
	}()
	for {
		time.Sleep(30 * time.Millisecond)
		cur := w.State()
		if cur.LastIndex() <= 10 {
			continue
		}
		idx := cur.LastIndex() - 10
		if cur.Snapshot != nil && idx <= cur.Snapshot.Index || idx < cur.FirstIndex {
			continue
		}
		if err := w.SaveSnapshot(Snapshot{Index: idx, Term: 1, Data: []byte(fmt.Sprint("upto ", idx))}); err != nil {
			fail(err)
		}
		say("s %d", idx)
		if err := w.Compact(idx); err != nil {
			fail(err)
		}
	}
}

// TestKill9LosesNoAcknowledgedWrite kills a child process writing to the
// WAL with SIGKILL at several points of its load, reopens the log, and
// checks that every change the child saw acknowledged is there.
func TestKill9LosesNoAcknowledgedWrite(t *testing.T) {
	dir := t.TempDir()
	acked := map[spec.Index]spec.Value{}
	var maxTerm spec.Term
	var maxSnap spec.Index
	for round, after := range []int{40, 150, 400} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		lines := 0
		for lines < after && sc.Scan() {
			lines++
			f := strings.Fields(sc.Text())
			n, _ := strconv.ParseUint(f[1], 10, 64)
			switch f[0] {
			case "e":
				// Acknowledged entries survive, so no later round reuses
				// their index: each is acknowledged at most once.
				acked[spec.Index(n)] = spec.Value(f[2])
			case "t":
				maxTerm = max(maxTerm, spec.Term(n))
			case "s":
				maxSnap = max(maxSnap, spec.Index(n))
			default:
				t.Fatalf("child: %s", sc.Text())
			}
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		if lines < after {
			t.Fatalf("round %d: child stopped after %d lines: %v", round, lines, sc.Err())
		}

		w, st, err := Open(dir, Options{SegmentSize: 2048})
		if err != nil {
			t.Fatalf("round %d: reopen after kill -9: %v", round, err)
		}
		if st.HardState.Term < maxTerm {
			t.Fatalf("round %d: term %d recovered, %d acknowledged", round, st.HardState.Term, maxTerm)
		}
		if st.snapIndex() < maxSnap {
			t.Fatalf("round %d: snapshot %+v recovered, index %d acknowledged", round, st.Snapshot, maxSnap)
		}
		for idx, v := range acked {
			if idx < st.FirstIndex {
				if idx > st.snapIndex() {
					t.Fatalf("round %d: acknowledged entry %d neither in the log nor in the snapshot", round, idx)
				}
				continue
			}
			if e, ok := st.Entry(idx); !ok || e.Value != v {
				t.Fatalf("round %d: entry %d: recovered %v (ok=%v), acknowledged %q", round, idx, e, ok, v)
			}
		}
		t.Logf("round %d: %d entries acknowledged so far, recovered last index %d, snapshot %d, info %+v",
			round, len(acked), st.LastIndex(), st.snapIndex(), w.Info())
		mustClose(t, w)
	}
}
