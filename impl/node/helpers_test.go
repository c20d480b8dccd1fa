package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/spec"
)

// recorder is a StateMachine that keeps every applied value in order.
type recorder struct {
	mu       sync.Mutex
	vals     []spec.Value // the value of index k+1 at k
	bad      error        // an entry applied out of order
	restores int
}

func (r *recorder) restored() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.restores
}

func (r *recorder) Apply(i spec.Index, e spec.Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if spec.Index(len(r.vals))+1 != i && r.bad == nil {
		r.bad = fmt.Errorf("applied index %d after %d", i, len(r.vals))
	}
	r.vals = append(r.vals, e.Value)
}

func (r *recorder) Snapshot() ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return json.Marshal(r.vals)
}

func (r *recorder) Restore(i spec.Index, data []byte) error {
	var vals []spec.Value
	if err := json.Unmarshal(data, &vals); err != nil {
		return err
	}
	if spec.Index(len(vals)) != i { // NoOp entries included
		return fmt.Errorf("snapshot of %d values restored at %d", len(vals), i)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.vals = vals
	r.restores++
	return nil
}

// values returns the applied values other than NoOp and configuration
// entries (whose value is empty).
func (r *recorder) values() []spec.Value {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(r.vals), func(v spec.Value) bool { return v == NoOp || v == "" })
}

func (r *recorder) err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bad
}

// testCluster is n nodes over loopback TCP in this process, each with its
// own WAL directory and recorder. Server i+1 is nodes[i]; a stopped
// server's slot is nil, and start(i) brings it back from its directory on
// its old port.
type testCluster struct {
	t     *testing.T
	n     int
	dirs  []string
	addrs []string
	nodes []*Node
	sms   []*recorder
	tweak func(*Config)
}

func newCluster(t *testing.T, n int, tweak func(*Config)) *testCluster {
	t.Helper()
	c := &testCluster{t: t, n: n, dirs: make([]string, n), addrs: make([]string, n), nodes: make([]*Node, n), sms: make([]*recorder, n), tweak: tweak}
	root := t.TempDir()
	for i := range n {
		c.dirs[i] = filepath.Join(root, fmt.Sprintf("s%d", i+1))
		c.addrs[i] = "127.0.0.1:0"
	}
	for i := range n {
		c.start(i)
	}
	for i, a := range c.nodes {
		for j := range n {
			if i != j {
				if err := a.SetPeer(spec.ServerID(j+1), c.addrs[j]); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	t.Cleanup(c.stopAll)
	return c
}

func (c *testCluster) start(i int) {
	c.t.Helper()
	peers := map[spec.ServerID]string{}
	for j, a := range c.addrs {
		if j != i && a != "127.0.0.1:0" {
			peers[spec.ServerID(j+1)] = a
		}
	}
	c.sms[i] = &recorder{}
	cfg := Config{
		ID: spec.ServerID(i + 1), Servers: c.n, Listen: c.addrs[i], Peers: peers, Dir: c.dirs[i],
		StateMachine: c.sms[i], TickInterval: 5 * time.Millisecond, Logf: func(string, ...any) {},
	}
	if c.tweak != nil {
		c.tweak(&cfg)
	}
	nd, err := Start(cfg)
	if err != nil {
		c.t.Fatalf("start S%d: %v", i+1, err)
	}
	c.nodes[i] = nd
	c.addrs[i] = nd.Addr().String()
}

func (c *testCluster) stop(i int) {
	c.t.Helper()
	if err := c.nodes[i].Stop(); err != nil {
		c.t.Errorf("stop S%d: %v", i+1, err)
	}
	c.nodes[i] = nil
}

func (c *testCluster) stopAll() {
	for i, nd := range c.nodes {
		if nd != nil {
			c.stop(i)
		}
	}
	for i, sm := range c.sms {
		if err := sm.err(); err != nil {
			c.t.Errorf("S%d: %v", i+1, err)
		}
	}
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// leader waits until exactly one running node among those in `among`
// (nil: all) leads in the highest term and returns its index.
func (c *testCluster) leader(among ...int) int {
	c.t.Helper()
	if among == nil {
		for i := range c.n {
			among = append(among, i)
		}
	}
	l := -1
	waitFor(c.t, 5*time.Second, "a leader", func() bool {
		l = -1
		var top spec.Term
		for _, i := range among {
			if nd := c.nodes[i]; nd != nil {
				st := nd.Status()
				if st.Role == spec.Leader && st.Term >= top {
					l, top = i, st.Term
				}
			}
		}
		return l >= 0
	})
	return l
}

// propose proposes v on the leader, retrying while leadership moves, and
// returns once the leader has applied v.
func (c *testCluster) propose(v spec.Value, among ...int) {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		l := c.leader(among...)
		err := c.nodes[l].Propose(context.Background(), v)
		if errors.Is(err, raft.ErrNotLeader) {
			continue
		}
		if err != nil {
			c.t.Fatalf("propose %q on S%d: %v", v, l+1, err)
		}
		ok := false
		for time.Now().Before(deadline) && c.nodes[l].Status().Role == spec.Leader {
			if slices.Contains(c.sms[l].values(), v) {
				ok = true
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		if ok {
			return
		}
	}
	c.t.Fatalf("%q not committed within 10s", v)
}

// converged waits until every running node has applied the same values,
// which are want once repeats are dropped (propose retries a value whose
// leader was deposed, so it may commit twice).
func (c *testCluster) converged(want []spec.Value) {
	c.t.Helper()
	defer func() {
		if c.t.Failed() {
			for i, nd := range c.nodes {
				if nd != nil {
					vs := c.sms[i].values()
					c.t.Logf("S%d: %+v, %d values applied, %d distinct", i+1, nd.Status(), len(vs), len(dedup(vs)))
				}
			}
		}
	}()
	waitFor(c.t, 10*time.Second, fmt.Sprintf("every node to apply the %d values", len(want)), func() bool {
		var first []spec.Value
		for i, nd := range c.nodes {
			if nd == nil {
				continue
			}
			vs := c.sms[i].values()
			if first == nil {
				first = vs
			}
			if !slices.Equal(vs, first) || !slices.Equal(dedup(vs), want) {
				return false
			}
		}
		return true
	})
}

func values(prefix string, n int) []spec.Value {
	vs := make([]spec.Value, n)
	for k := range vs {
		vs[k] = spec.Value(fmt.Sprintf("%s%d", prefix, k))
	}
	return vs
}

// dedup drops repeated values, keeping the first: propose retries the same
// value after a lost leadership, so it may commit twice.
func dedup(vs []spec.Value) []spec.Value {
	seen := map[spec.Value]bool{}
	return slices.DeleteFunc(slices.Clone(vs), func(v spec.Value) bool {
		if seen[v] {
			return true
		}
		seen[v] = true
		return false
	})
}
