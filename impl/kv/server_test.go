package kv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raftcheck/raftcheck/impl/node"
	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/spec"
)

// fakeRaft commits every proposal at once when it leads, and otherwise
// refuses as a follower of leader.
type fakeRaft struct {
	mu     sync.Mutex
	store  *Store
	st     node.Status
	commit bool // apply proposals (false: they never commit)
	// propose, when set, replaces Propose (a node that is stuck or fails).
	propose func(ctx context.Context) error
	// change, when set, replaces ChangeMembership; changes records the
	// changes made.
	change  func(ctx context.Context, c raft.ConfChange) error
	changes []raft.ConfChange
}

// ChangeMembership applies c to the configuration at once, as a leader
// whose changes commit immediately.
func (f *fakeRaft) ChangeMembership(ctx context.Context, c raft.ConfChange) error {
	if f.change != nil {
		return f.change(ctx, c)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.st.Role != spec.Leader {
		return &raft.NotLeaderError{ID: f.st.ID, Role: f.st.Role, Term: f.st.Term, Leader: f.st.Leader}
	}
	bit := spec.Members(1) << (c.Target - 1)
	switch cfg := &f.st.Config; c.Kind {
	case spec.AddLearner:
		cfg.Learners |= bit
	case spec.AddServer:
		cfg.Voters, cfg.Learners = cfg.Voters|bit, cfg.Learners&^bit
	case spec.RemoveServer:
		cfg.Voters, cfg.Learners = cfg.Voters&^bit, cfg.Learners&^bit
	}
	f.changes = append(f.changes, c)
	return nil
}

func (f *fakeRaft) Propose(ctx context.Context, v spec.Value) error {
	if f.propose != nil {
		return f.propose(ctx)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.st.Role != spec.Leader {
		return &raft.NotLeaderError{ID: f.st.ID, Role: f.st.Role, Term: f.st.Term, Leader: f.st.Leader}
	}
	if f.commit {
		f.st.LastIndex++
		f.st.CommitIndex, f.st.Applied = f.st.LastIndex, f.st.LastIndex
		f.store.Apply(f.st.LastIndex, spec.Entry{Term: f.st.Term, Value: v})
	}
	return nil
}

func (f *fakeRaft) Status() node.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

func newFake(role spec.Role, leader spec.ServerID) (*fakeRaft, *Server) {
	store := NewStore()
	f := &fakeRaft{store: store, commit: true}
	f.st.ID, f.st.Role, f.st.Term, f.st.Leader = 1, role, 3, leader
	f.st.Config = spec.Configuration{Voters: 0b11}
	return f, NewServer(f, store, map[spec.ServerID]string{1: "h1:8001", 2: "h2:8002"})
}

func do(t *testing.T, h http.Handler, method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k := 0; k+1 < len(hdr); k += 2 {
		req.Header.Set(hdr[k], hdr[k+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestHTTPPutGetDelete(t *testing.T) {
	_, s := newFake(spec.Leader, 1)
	if w := do(t, s, "GET", "/kv/a/b", ""); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), `"error"`) {
		t.Fatalf("GET absent: %d %s", w.Code, w.Body)
	}
	if w := do(t, s, "PUT", "/kv/a/b", "hello\x00"); w.Code != http.StatusNoContent {
		t.Fatalf("PUT: %d %s", w.Code, w.Body)
	}
	if w := do(t, s, "GET", "/kv/a/b", ""); w.Code != http.StatusOK || w.Body.String() != "hello\x00" {
		t.Fatalf("GET: %d %q", w.Code, w.Body)
	}
	if w := do(t, s, "DELETE", "/kv/a/b", ""); w.Code != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", w.Code, w.Body)
	}
	if w := do(t, s, "GET", "/kv/a/b", ""); w.Code != http.StatusNotFound {
		t.Fatalf("GET deleted: %d", w.Code)
	}
	if w := do(t, s, "PUT", "/kv/", "x"); w.Code != http.StatusBadRequest {
		t.Fatalf("PUT empty key: %d", w.Code)
	}
	s.MaxValue = 4
	if w := do(t, s, "PUT", "/kv/big", "12345"); w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("PUT too large: %d", w.Code)
	}
}

func TestHTTPDedupHeaders(t *testing.T) {
	_, s := newFake(spec.Leader, 1)
	put := func(seq, val string) int {
		return do(t, s, "PUT", "/kv/k", val, HeaderClient, "42", HeaderSeq, seq).Code
	}
	if put("1", "a") != 204 || put("2", "b") != 204 || put("1", "a") != 204 {
		t.Fatal("deduplicated PUTs should all succeed")
	}
	if w := do(t, s, "GET", "/kv/k", ""); w.Body.String() != "b" {
		t.Fatalf("a retried seq 1 overwrote seq 2: %q", w.Body)
	}
	for _, h := range [][]string{{HeaderClient, "42"}, {HeaderClient, "0", HeaderSeq, "1"}, {HeaderClient, "x", HeaderSeq, "1"}} {
		if w := do(t, s, "PUT", "/kv/k", "v", h...); w.Code != http.StatusBadRequest {
			t.Fatalf("headers %v: %d", h, w.Code)
		}
	}
}

func TestHTTPRedirectsToLeader(t *testing.T) {
	_, s := newFake(spec.Follower, 2)
	for _, m := range []string{"GET", "PUT", "DELETE"} {
		w := do(t, s, m, "/kv/x?y=1", "v")
		if w.Code != http.StatusTemporaryRedirect || w.Header().Get("Location") != "http://h2:8002/kv/x?y=1" {
			t.Fatalf("%s on a follower: %d Location %q", m, w.Code, w.Header().Get("Location"))
		}
	}
	_, s = newFake(spec.Candidate, spec.None)
	w := do(t, s, "PUT", "/kv/x", "v")
	var body map[string]string
	if w.Code != http.StatusServiceUnavailable || json.Unmarshal(w.Body.Bytes(), &body) != nil || !strings.Contains(body["error"], "no leader") {
		t.Fatalf("no leader: %d %s", w.Code, w.Body)
	}
	// Leadership lost between the status check and the proposal.
	f, s := newFake(spec.Leader, 1)
	f.mu.Lock()
	f.st.Role = spec.Follower
	f.st.Leader = 2
	f.mu.Unlock()
	if w := do(t, s, "PUT", "/kv/x", "v"); w.Code != http.StatusTemporaryRedirect {
		t.Fatalf("after losing leadership: %d", w.Code)
	}
}

func TestHTTPTimeoutIs503(t *testing.T) {
	f, s := newFake(spec.Leader, 1)
	f.commit = false
	s.Timeout = 20 * time.Millisecond
	w := do(t, s, "PUT", "/kv/x", "v")
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "outcome is unknown") {
		t.Fatalf("uncommitted PUT: %d %s", w.Code, w.Body)
	}
	if n := len(f.store.waiters); n != 0 {
		t.Fatalf("%d waiters left behind", n)
	}
}

func TestHTTPStatus(t *testing.T) {
	_, s := newFake(spec.Leader, 1)
	do(t, s, "PUT", "/kv/a", "1")
	w := do(t, s, "GET", "/status", "")
	var st StatusJSON
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status: %v %s", err, w.Body)
	}
	want := StatusJSON{ID: 1, Role: "leader", Term: 3, Leader: 1, CommitIndex: 1, LastIndex: 1, AppliedIndex: 1, Keys: 1}
	if st != want {
		t.Fatalf("status %+v, want %+v", st, want)
	}
	for _, key := range []string{"id", "role", "term", "leader", "commit_index", "last_index", "applied_index"} {
		if !strings.Contains(w.Body.String(), `"`+key+`"`) {
			t.Errorf("status JSON lacks %q: %s", key, w.Body)
		}
	}
}

// kvCluster is three raftkv servers in this process over loopback.
type kvCluster struct {
	nodes  []*node.Node
	stores []*Store
	https  []*httptest.Server
}

func newKVCluster(t testing.TB, tick time.Duration) *kvCluster {
	t.Helper()
	c := &kvCluster{}
	httpPeers := map[spec.ServerID]string{}
	servers := make([]*Server, 3)
	for i := range 3 {
		c.stores = append(c.stores, NewStore())
		nd, err := node.Start(node.Config{ID: spec.ServerID(i + 1), Servers: 3, Listen: "127.0.0.1:0",
			Dir: filepath.Join(t.TempDir(), fmt.Sprint(i)), StateMachine: c.stores[i],
			TickInterval: tick, Logf: func(string, ...any) {}})
		if err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, nd)
		servers[i] = NewServer(nd, c.stores[i], httpPeers)
		servers[i].Timeout = time.Second
		c.https = append(c.https, serve(servers[i]))
		httpPeers[spec.ServerID(i+1)] = strings.TrimPrefix(c.https[i].URL, "http://")
	}
	for i, a := range c.nodes {
		for j, b := range c.nodes {
			if i != j {
				a.SetPeer(spec.ServerID(j+1), b.Addr().String())
			}
		}
	}
	t.Cleanup(func() {
		for i := range c.nodes {
			c.https[i].Close()
			if err := c.nodes[i].Stop(); err != nil {
				t.Error(err)
			}
		}
	})
	return c
}

// leader waits until one node leads and every node knows it (a follower
// that has not yet heard from the new leader rightly answers 503), and
// returns its index.
func (c *kvCluster) leader(t testing.TB) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for i, nd := range c.nodes {
			if nd.Status().Role == spec.Leader && c.allFollow(spec.ServerID(i+1)) {
				return i
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no leader known to every node within 5s")
	return -1
}

func (c *kvCluster) allFollow(id spec.ServerID) bool {
	for _, nd := range c.nodes {
		if nd.Status().Leader != id {
			return false
		}
	}
	return true
}

func httpDo(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req) // follows 307, re-sending the body
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestClusterHTTPFollowsRedirects: a PUT sent to a follower is redirected
// to the leader, committed, and readable through any server.
func TestClusterHTTPFollowsRedirects(t *testing.T) {
	c := newKVCluster(t, 5*time.Millisecond)
	l := c.leader(t)
	f := (l + 1) % 3
	if code, body := httpDo(t, "PUT", c.https[f].URL+"/kv/greeting", "hello"); code != http.StatusNoContent {
		t.Fatalf("PUT via follower: %d %s", code, body)
	}
	for i := range 3 {
		if code, body := httpDo(t, "GET", c.https[i].URL+"/kv/greeting", ""); code != 200 || body != "hello" {
			t.Fatalf("GET via S%d: %d %q", i+1, code, body)
		}
	}
	if code, _ := httpDo(t, "GET", c.https[f].URL+"/kv/nothing", ""); code != http.StatusNotFound {
		t.Fatalf("GET absent key: %d", code)
	}
}

// TestClusterReadsAreLinearizable: a leader cut off from the others may
// still believe it leads, but its reads go through the log, so it cannot
// answer with a value older than a write the new leader acknowledged: it
// answers 503 (or redirects) instead.
func TestClusterReadsAreLinearizable(t *testing.T) {
	c := newKVCluster(t, 5*time.Millisecond)
	old := c.leader(t)
	if code, _ := httpDo(t, "PUT", c.https[old].URL+"/kv/x", "1"); code != http.StatusNoContent {
		t.Fatalf("first PUT: %d", code)
	}
	for j := range 3 {
		if j != old {
			c.nodes[old].Block(spec.ServerID(j + 1))
			c.nodes[j].Block(spec.ServerID(old + 1))
		}
	}
	other := (old + 1) % 3
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := httpDo(t, "PUT", c.https[other].URL+"/kv/x", "2")
		if code == http.StatusNoContent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("PUT on the majority side: %d %s", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The old leader never serves the stale "1" (it cannot commit the read
	// marker; the 1s server timeout bounds the wait).
	req, _ := http.NewRequest("GET", c.https[old].URL+"/kv/x", nil)
	resp, err := http.DefaultTransport.RoundTrip(req) // no redirect following
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Fatalf("isolated old leader answered a read with %q", b)
	}
}
