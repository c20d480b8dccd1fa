package kv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/raftcheck/raftcheck/impl/node"
	"github.com/raftcheck/raftcheck/spec"
)

// The membership test runs up to five raftkv servers in this process, each
// with its own WAL directory, Raft over loopback TCP and its HTTP API on a
// loopback port, and drives everything through HTTP as a user would:
// clients write and read while the cluster grows from 3 to 5 servers and
// shrinks back to 3 with POST /members and DELETE /members/{id}.

// seedFromEnv returns RAFTKV_SEED if set, else a random seed; either way
// it is logged so that a failing run can be repeated.
func seedFromEnv(t *testing.T) uint64 {
	t.Helper()
	seed := rand.Uint64()
	if s := os.Getenv("RAFTKV_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("RAFTKV_SEED=%q: not an unsigned integer", s)
		}
	}
	t.Logf("seed %d (repeat with RAFTKV_SEED=%d)", seed, seed)
	return seed
}

// swappable is an http.Handler set after its listener exists, so that a
// server's HTTP address is known before its kv.Server is built.
type swappable struct{ h atomic.Pointer[http.Handler] }

func (s *swappable) ServeHTTP(w http.ResponseWriter, r *http.Request) { (*s.h.Load()).ServeHTTP(w, r) }

// member is one in-process raftkv server.
type member struct {
	id   spec.ServerID
	nd   *node.Node
	http *httptest.Server
	url  string
	// installs counts the snapshots the node installed from a leader.
	installs atomic.Int32
}

type memberCluster struct {
	t       *testing.T
	root    string
	initial spec.Configuration
	mu      sync.Mutex
	members map[spec.ServerID]*member // running servers
	targets []spec.ServerID           // where clients send requests: running members
}

func newMemberCluster(t *testing.T) *memberCluster {
	c := &memberCluster{t: t, root: t.TempDir(), initial: spec.Configuration{Voters: 0b111}, members: map[spec.ServerID]*member{}}
	t.Cleanup(func() {
		for _, id := range slices.Sorted(mapsKeys(c.members)) {
			c.stop(id)
		}
	})
	return c
}

func mapsKeys(m map[spec.ServerID]*member) iter.Seq[spec.ServerID] { return maps.Keys(m) }

// start starts server id knowing the addresses of the running servers
// (the bootstrap ones start together: start(1..3) and then link).
func (c *memberCluster) start(id spec.ServerID) *member {
	c.t.Helper()
	sw := &swappable{}
	ts := serve(sw)
	peers, httpPeers := map[spec.ServerID]string{}, map[spec.ServerID]string{id: strings.TrimPrefix(ts.URL, "http://")}
	c.mu.Lock()
	for j, m := range c.members {
		peers[j], httpPeers[j] = m.nd.Addr().String(), strings.TrimPrefix(m.url, "http://")
	}
	c.mu.Unlock()
	store := NewStore()
	store.Logf = c.t.Logf
	m := &member{id: id, http: ts, url: ts.URL}
	nd, err := node.Start(node.Config{ID: id, Servers: 5, Initial: c.initial, Listen: "127.0.0.1:0", Peers: peers,
		Dir: filepath.Join(c.root, fmt.Sprint(id)), StateMachine: store, SnapshotEntries: 100,
		Logf: func(format string, _ ...any) {
			if strings.HasPrefix(format, "raft node %v: installed snapshot") {
				m.installs.Add(1)
			}
		}})
	if err != nil {
		c.t.Fatalf("start S%d: %v", id, err)
	}
	srv := NewServer(nd, store, httpPeers)
	srv.Timeout, srv.ChangeTimeout = 2*time.Second, 20*time.Second
	var h http.Handler = srv
	sw.h.Store(&h)
	m.nd = nd
	c.mu.Lock()
	c.members[id] = m
	c.mu.Unlock()
	return m
}

// link tells the bootstrap servers each other's Raft and HTTP addresses,
// as their --peers and --http-peers flags would.
func (c *memberCluster) link() {
	for _, a := range c.members {
		for _, b := range c.members {
			if a != b {
				a.nd.SetPeer(b.id, b.nd.Addr().String())
			}
		}
	}
	c.setTargets(slices.Sorted(mapsKeys(c.members))...)
}

func (c *memberCluster) setTargets(ids ...spec.ServerID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.targets = ids
}

// target picks a server for a client request.
func (c *memberCluster) target(r *rand.Rand) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.members[c.targets[r.IntN(len(c.targets))]].url
}

func (c *memberCluster) stop(id spec.ServerID) {
	c.mu.Lock()
	m := c.members[id]
	delete(c.members, id)
	c.mu.Unlock()
	m.http.Close()
	if err := m.nd.Stop(); err != nil {
		c.t.Errorf("stop S%d: %v", id, err)
	}
}

var memberClient = &http.Client{Timeout: 5 * time.Second}

// call makes one request and returns the status and body (0 and the error
// text when there was no answer). Redirects to the leader are followed.
func call(method, url, body string) (int, string) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	resp, err := memberClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// leaderOf asks the running servers who leads, until one answers.
func (c *memberCluster) leaderOf() spec.ServerID {
	c.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		c.mu.Lock()
		ms := slices.Collect(maps.Values(c.members))
		c.mu.Unlock()
		for _, m := range ms {
			if st := m.nd.Status(); st.Role == spec.Leader {
				return m.id
			}
		}
	}
	c.t.Fatal("no leader within 10s")
	return spec.None
}

// admin runs a membership request until it succeeds (200), retrying what
// a user would retry: no leader yet, a change in progress (409), no
// answer.
func (c *memberCluster) admin(method, path, body string, r *rand.Rand) MembersJSON {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		url := c.members[c.leaderOf()].url // the leader: a follower would redirect there anyway
		if r.IntN(2) == 0 {
			url = c.target(r) // sometimes through a redirect
		}
		code, resp := call(method, url+path, body)
		if code == http.StatusOK {
			var m MembersJSON
			if err := json.Unmarshal([]byte(resp), &m); err != nil {
				c.t.Fatalf("%s %s: %v in %q", method, path, err, resp)
			}
			return m
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s %s %s: %d %s", method, path, body, code, resp)
		}
		c.t.Logf("%s %s: %d %s; retrying", method, path, code, strings.TrimSpace(resp))
		time.Sleep(50 * time.Millisecond)
	}
}

// configured waits until every running server's configuration is want
// and committed.
func (c *memberCluster) configured(want spec.Configuration) {
	c.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		ok := true
		c.mu.Lock()
		for _, m := range c.members {
			st := m.nd.Status()
			ok = ok && st.Config == want && !st.ConfigPending
		}
		c.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("servers not all in configuration %v within 10s", want)
		}
	}
}

// sharedKeys is how many keys the clients share: enough to keep each of
// porcupine's partitions small.
const sharedKeys = 6

// kvInput and kvOutput are one client operation for porcupine.
type kvInput struct {
	put        bool
	key, value string
}

type kvOutput struct {
	value string
	found bool
}

// kvModel is a register per key (the partition); "" is an absent key,
// since every value written is non-empty.
var kvModel = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, op := range h {
			k := op.Input.(kvInput).key
			byKey[k] = append(byKey[k], op)
		}
		var out [][]porcupine.Operation
		for _, k := range slices.Sorted(maps.Keys(byKey)) {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in, out, st := input.(kvInput), output.(kvOutput), state.(string)
		if in.put {
			return true, in.value
		}
		return out.found == (st != "") && out.value == st, st
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(kvInput), output.(kvOutput)
		if in.put {
			return fmt.Sprintf("put(%s, %s)", in.key, in.value)
		}
		if !out.found {
			return fmt.Sprintf("get(%s) -> absent", in.key)
		}
		return fmt.Sprintf("get(%s) -> %s", in.key, out.value)
	},
	DescribeState: func(state any) string { return fmt.Sprintf("%q", state) },
}

// history records client operations for porcupine; a write whose outcome
// is unknown (no answer, a timeout) may take effect at any time after its
// call, so it returns at the end of time.
type history struct {
	start time.Time
	mu    sync.Mutex
	ops   []porcupine.Operation
	acked map[string]string // unique-key writes acknowledged
}

func (h *history) now() int64 { return int64(time.Since(h.start)) }

func (h *history) add(client int, in kvInput, out kvOutput, call, ret int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
}

// client runs random puts and gets on a few shared keys until stop.
func (c *memberCluster) client(id int, r *rand.Rand, h *history, stop *atomic.Bool, counts *[4]atomic.Int64) {
	for n := 0; !stop.Load(); n++ {
		in := kvInput{put: r.IntN(2) == 0, key: fmt.Sprintf("k%d", r.IntN(sharedKeys))}
		method := "GET"
		if in.put {
			in.value, method = fmt.Sprintf("c%d-%d", id, n), "PUT"
		}
		call0 := h.now()
		code, body := call(method, c.target(r)+"/kv/"+in.key, in.value)
		ret := h.now()
		switch {
		case in.put && code == http.StatusNoContent:
			h.add(id, in, kvOutput{}, call0, ret)
			counts[0].Add(1)
		case in.put && notProposed(code, body):
			counts[2].Add(1)
		case in.put: // unknown outcome: it may still commit
			h.add(id, in, kvOutput{}, call0, math.MaxInt64)
			counts[2].Add(1)
			counts[3].Add(1)
		case code == http.StatusOK:
			h.add(id, in, kvOutput{value: body, found: true}, call0, ret)
			counts[1].Add(1)
		case code == http.StatusNotFound && strings.Contains(body, "no such key"):
			h.add(id, in, kvOutput{}, call0, ret)
			counts[1].Add(1)
		default: // a failed read has no effect
			counts[2].Add(1)
		}
		if code != http.StatusNoContent && code != http.StatusOK && code != http.StatusNotFound {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// notProposed reports an answer that says the request was never
// proposed: no leader known to the server, a server outside the
// configuration, or no connection at all (call's error text). Any other
// failure may have left the command in the log.
func notProposed(code int, body string) bool {
	switch code {
	case http.StatusServiceUnavailable:
		return strings.Contains(body, "no leader known") || strings.Contains(body, "is not a member")
	case 0:
		return strings.Contains(body, "connection refused")
	}
	return false
}

// uniqueWriter writes distinct keys and records the acknowledged ones,
// all of which must survive.
func (c *memberCluster) uniqueWriter(r *rand.Rand, h *history, stop *atomic.Bool) {
	for n := 0; !stop.Load(); n++ {
		key, val := fmt.Sprintf("u%d", n), fmt.Sprintf("v%d", n)
		if code, _ := call("PUT", c.target(r)+"/kv/"+key, val); code == http.StatusNoContent {
			h.mu.Lock()
			h.acked[key] = val
			h.mu.Unlock()
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func addBody(m *member) string {
	b, _ := json.Marshal(AddMemberJSON{ID: m.id, Raft: m.nd.Addr().String(), HTTP: strings.TrimPrefix(m.url, "http://")})
	return string(b)
}

// TestMembershipUnderLoad grows a three-server cluster to five and shrinks
// it back to three through the HTTP admin API, removing the leader at
// least once, while clients write and read; it checks that every
// acknowledged write survives and that the clients' history is
// linearizable (porcupine). RAFTKV_SEED repeats a run's random choices.
func TestMembershipUnderLoad(t *testing.T) {
	seed := seedFromEnv(t)
	r := rand.New(rand.NewPCG(seed, 1))
	c := newMemberCluster(t)
	for id := spec.ServerID(1); id <= 3; id++ {
		c.start(id)
	}
	c.link()
	c.leaderOf()
	h := &history{start: time.Now(), acked: map[string]string{}}
	var stop atomic.Bool
	var counts [4]atomic.Int64 // acknowledged writes, reads, failed or unknown, unknown writes
	var wg sync.WaitGroup
	for k := range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); c.client(k, rand.New(rand.NewPCG(seed, uint64(10+k))), h, &stop, &counts) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); c.uniqueWriter(rand.New(rand.NewPCG(seed, 2)), h, &stop) }()
	time.Sleep(300 * time.Millisecond)

	want := c.initial
	for _, id := range []spec.ServerID{4, 5} {
		want = c.grow(id, want, r)
		t.Logf("grown to %v after %d acknowledged writes", want, counts[0].Load())
	}
	for k := range 2 {
		victim := c.leaderOf() // the first removal is the leader's own
		if k == 1 && r.IntN(2) == 0 {
			victim = want.Voters.IDs()[r.IntN(want.Voters.Size())]
		}
		want = c.shrink(victim, want, r)
		t.Logf("shrunk to %v (removed S%d) after %d acknowledged writes", want, victim, counts[0].Load())
	}
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	t.Logf("%d writes acknowledged, %d reads, %d failed or unknown (%d writes of unknown outcome); %d unique keys acknowledged",
		counts[0].Load(), counts[1].Load(), counts[2].Load(), counts[3].Load(), len(h.acked))
	c.logStatus()
	c.checkAcked(h)
	c.checkLinearizable(h)
}

// grow starts server id, adds it with POST /members and waits until
// every server has the configuration; it returns the configuration.
func (c *memberCluster) grow(id spec.ServerID, want spec.Configuration, r *rand.Rand) spec.Configuration {
	c.t.Helper()
	m := c.start(id)
	got := c.admin("POST", "/members", addBody(m), r)
	want.Voters |= 1 << (id - 1)
	if got.Configuration != want.String() || got.Pending || got.Members[len(got.Members)-1] != (MemberJSON{ID: id, Role: "voter",
		Raft: m.nd.Addr().String(), HTTP: strings.TrimPrefix(m.url, "http://")}) {
		c.t.Fatalf("POST /members %d answered %+v, want configuration %v, committed, with its addresses", id, got, want)
	}
	c.configured(want)
	c.setTargets(want.Voters.IDs()...)
	c.t.Logf("S%d installed %d snapshots from the leader", id, m.installs.Load())
	time.Sleep(200 * time.Millisecond)
	return want
}

// shrink removes server victim with DELETE /members/{id}, stops it and
// waits until every other server has the configuration, which it returns.
func (c *memberCluster) shrink(victim spec.ServerID, want spec.Configuration, r *rand.Rand) spec.Configuration {
	c.t.Helper()
	want.Voters &^= 1 << (victim - 1)
	got := c.admin("DELETE", fmt.Sprintf("/members/%d", victim), "", r)
	if got.Configuration != want.String() || got.Pending {
		c.t.Fatalf("DELETE /members/%d answered %+v, want configuration %v, committed", victim, got, want)
	}
	c.setTargets(want.Voters.IDs()...)
	time.Sleep(50 * time.Millisecond) // let requests already sent to it finish
	c.stop(victim)
	c.configured(want)
	time.Sleep(200 * time.Millisecond)
	return want
}

// checkAcked reads every acknowledged unique key back, and the shared
// keys once more into the history.
func (c *memberCluster) checkAcked(h *history) {
	c.t.Helper()
	r := rand.New(rand.NewPCG(0, 0))
	c.leaderOf()
	lost := 0
	for key, val := range h.acked {
		code, body := c.read(key, r)
		if code != http.StatusOK || body != val {
			if lost++; lost <= 5 {
				c.t.Errorf("acknowledged %s=%s: GET gives %d %q", key, val, code, body)
			}
		}
	}
	if lost > 0 {
		c.t.Fatalf("%d of %d acknowledged writes lost", lost, len(h.acked))
	}
	for k := range sharedKeys {
		key := fmt.Sprintf("k%d", k)
		call0 := h.now()
		code, body := c.read(key, r)
		if code != http.StatusOK && code != http.StatusNotFound {
			c.t.Fatalf("final GET %s: %d %s", key, code, body)
		}
		out := kvOutput{}
		if code == http.StatusOK {
			out = kvOutput{value: body, found: true}
		}
		h.add(4, kvInput{key: key}, out, call0, h.now())
	}
}

// read GETs key, retrying for up to 5 s while no leader is known (an
// election may still be under way after the last removal).
func (c *memberCluster) read(key string, r *rand.Rand) (int, string) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body := call("GET", c.target(r)+"/kv/"+key, "")
		if code != http.StatusServiceUnavailable && code != 0 || time.Now().After(deadline) {
			if code == http.StatusServiceUnavailable || code == 0 {
				c.logStatus()
			}
			return code, body
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logStatus logs every running server's status (for a failure).
func (c *memberCluster) logStatus() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range slices.Sorted(maps.Keys(c.members)) {
		c.t.Logf("S%d: %+v", id, c.members[id].nd.Status())
	}
}

// checkLinearizable runs porcupine on the history; on failure it writes
// the visualization to the test's temporary directory (or
// RAFTKV_ARTIFACTS, which outlives the test).
func (c *memberCluster) checkLinearizable(h *history) {
	c.t.Helper()
	res, info := porcupine.CheckOperationsVerbose(kvModel, h.ops, 30*time.Second)
	switch res {
	case porcupine.Ok:
		c.t.Logf("history of %d operations is linearizable", len(h.ops))
		return
	case porcupine.Unknown:
		c.t.Fatalf("porcupine timed out on %d operations", len(h.ops))
	}
	dir := os.Getenv("RAFTKV_ARTIFACTS")
	if dir == "" {
		dir = c.t.TempDir()
	}
	path := filepath.Join(dir, "membership-history.html")
	var buf bytes.Buffer
	if err := porcupine.Visualize(kvModel, info, &buf); err == nil {
		err = os.WriteFile(path, buf.Bytes(), 0o644)
		c.t.Logf("visualization: %s (%v)", path, err)
	}
	c.t.Fatalf("history of %d operations is not linearizable", len(h.ops))
}
