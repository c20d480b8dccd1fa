package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/raftcheck/raftcheck/impl/kv"
)

// buildRaftkv builds the command into a temporary directory.
func buildRaftkv(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "raftkv")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// freePorts returns n loopback addresses that were free a moment ago.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	for _, ln := range lns {
		ln.Close()
	}
	return addrs
}

// proc is one raftkv child process.
type proc struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	done   chan struct{}
}

type procCluster struct {
	t                *testing.T
	bin              string
	raft, http, dirs []string
	procs            []*proc
	peers, httpPeers string
	logs             []string
	// extra, when set, gives more flags for server i.
	extra func(i int) []string
}

func newProcCluster(t *testing.T, bin string, n int) *procCluster {
	ports := freePorts(t, 2*n)
	c := &procCluster{t: t, bin: bin, raft: ports[:n], http: ports[n:], procs: make([]*proc, n)}
	var p, h []string
	for i := range n {
		p = append(p, fmt.Sprintf("%d=%s", i+1, c.raft[i]))
		h = append(h, fmt.Sprintf("%d=%s", i+1, c.http[i]))
		c.dirs = append(c.dirs, filepath.Join(t.TempDir(), fmt.Sprint(i+1)))
	}
	c.peers, c.httpPeers = strings.Join(p, ","), strings.Join(h, ",")
	t.Cleanup(func() {
		for i := range c.procs {
			c.kill(i)
		}
		if t.Failed() {
			for _, l := range c.logs {
				t.Log(l)
			}
		}
	})
	return c
}

func (c *procCluster) start(i int) {
	c.t.Helper()
	args := []string{"--id", fmt.Sprint(i + 1), "--peers", c.peers, "--http", c.http[i],
		"--http-peers", c.httpPeers, "--data", c.dirs[i], "--snapshot-entries", "500"}
	if c.extra != nil {
		args = append(args, c.extra(i)...)
	}
	cmd := exec.Command(c.bin, args...)
	p := &proc{cmd: cmd, stderr: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start S%d: %v", i+1, err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	c.procs[i] = p
}

// kill sends SIGKILL: no shutdown code runs, whatever was not fsynced may
// be lost.
func (c *procCluster) kill(i int) {
	p := c.procs[i]
	if p == nil {
		return
	}
	p.cmd.Process.Kill()
	<-p.done
	c.logs = append(c.logs, fmt.Sprintf("--- S%d stderr:\n%s", i+1, p.stderr))
	c.procs[i] = nil
}

var client = &http.Client{Timeout: 3 * time.Second}

func (c *procCluster) status(i int) (kv.StatusJSON, error) {
	var st kv.StatusJSON
	resp, err := client.Get("http://" + c.http[i] + "/status")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

func (c *procCluster) waitLeader() int {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for i := range c.procs {
			if st, err := c.status(i); err == nil && st.Role == "leader" {
				return i
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatal("no leader within 10s")
	return -1
}

func request(method, url, body string) (int, string, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// TestCrashKeepsAcknowledgedWrites runs a three-server raftkv cluster as
// child processes under a concurrent write load, kills the leader with
// SIGKILL and restarts it, then kills all three at once and restarts them,
// and checks that every PUT that was answered 204 is readable afterwards
// with its value.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	bin := buildRaftkv(t)
	c := newProcCluster(t, bin, 3)
	for i := range 3 {
		c.start(i)
	}
	c.waitLeader()

	var (
		mu    sync.Mutex
		acked = map[string]string{}
		stop  atomic.Bool
		wg    sync.WaitGroup
		tries atomic.Int64
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; !stop.Load(); n++ {
				key, val := fmt.Sprintf("w%d-%d", w, n), fmt.Sprintf("value-%d-%d", w, n)
				tries.Add(1)
				code, _, err := request("PUT", fmt.Sprintf("http://%s/kv/%s", c.http[n%3], key), val)
				if err == nil && code == http.StatusNoContent {
					mu.Lock()
					acked[key] = val
					mu.Unlock()
				} else {
					time.Sleep(10 * time.Millisecond) // no server, or no leader yet
				}
			}
		}()
	}
	ackedNow := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}
	waitAcks := func(n int) {
		deadline := time.Now().Add(10 * time.Second)
		for ackedNow() < n {
			if time.Now().After(deadline) {
				t.Fatalf("only %d writes acknowledged, waiting for %d", ackedNow(), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitAcks(200)
	l := c.waitLeader()
	t.Logf("SIGKILL the leader S%d after %d acknowledged writes", l+1, ackedNow())
	c.kill(l)
	waitAcks(ackedNow() + 200) // the others elect a leader and go on
	c.start(l)
	waitAcks(ackedNow() + 200)
	t.Logf("SIGKILL all three servers after %d acknowledged writes", ackedNow())
	for i := range 3 {
		c.kill(i)
	}
	stop.Store(true)
	wg.Wait()
	for i := range 3 {
		c.start(i)
	}
	c.waitLeader()

	mu.Lock()
	defer mu.Unlock()
	missing := 0
	for key, val := range acked {
		var code int
		var body string
		var err error
		for range 50 { // retry while leadership settles
			code, body, err = request("GET", fmt.Sprintf("http://%s/kv/%s", c.http[0], key), "")
			if err == nil && code != http.StatusServiceUnavailable {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil || code != http.StatusOK || body != val {
			if missing++; missing <= 5 {
				t.Errorf("acknowledged %s=%s: GET gives %d %q %v", key, val, code, body, err)
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged writes lost", missing, len(acked))
	}
	t.Logf("all %d acknowledged writes (of %d attempted) survived two rounds of SIGKILL", len(acked), tries.Load())
	for i := range 3 {
		st, err := c.status(i)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("S%d after restart: %+v", i+1, st)
	}
}
