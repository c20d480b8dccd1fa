package transport

import (
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raftcheck/raftcheck/spec"
)

// node is a Transport with a channel of what its Handler received and a
// record of what it logged.
type node struct {
	*Transport
	got chan Frame
	mu  sync.Mutex
	log []string
}

func (n *node) logged() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return strings.Join(n.log, "\n")
}

func startNode(t *testing.T, id spec.ServerID, listen string, peers map[spec.ServerID]string, tweak func(*Config)) *node {
	t.Helper()
	n := &node{got: make(chan Frame, 1000)}
	cfg := Config{
		ID: id, Listen: listen, Peers: peers,
		Handler: func(f Frame) { n.got <- f },
		Logf: func(format string, args ...any) {
			n.mu.Lock()
			n.log = append(n.log, fmt.Sprintf(format, args...))
			n.mu.Unlock()
		},
		BackoffMin: 5 * time.Millisecond, BackoffMax: 50 * time.Millisecond,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	tr, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%v): %v", id, err)
	}
	n.Transport = tr
	return n
}

// cluster starts n nodes on loopback ports that all know each other.
func cluster(t *testing.T, size int) []*node {
	t.Helper()
	nodes := make([]*node, size)
	for i := range nodes {
		nodes[i] = startNode(t, spec.ServerID(i+1), "127.0.0.1:0", nil, nil)
	}
	for _, a := range nodes {
		for _, b := range nodes {
			if a != b {
				if err := a.SetPeer(b.cfg.ID, b.Addr().String()); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	t.Cleanup(func() {
		for _, n := range nodes {
			n.Close()
		}
	})
	return nodes
}

func vote(from, to spec.ServerID, term spec.Term) spec.Message {
	return spec.Message{Type: spec.RequestVote, From: from, To: to, Term: term, LastLogIndex: 3, LastLogTerm: 1}
}

func mustSend(t *testing.T, n *node, m spec.Message) {
	t.Helper()
	if err := n.Send(m); err != nil {
		t.Fatalf("Send(%v): %v", m, err)
	}
}

// receive waits for the next frame delivered to n.
func receive(t *testing.T, n *node) Frame {
	t.Helper()
	select {
	case f := <-n.got:
		return f
	case <-time.After(5 * time.Second):
		t.Fatalf("%v received nothing within 5s; stats %+v; log:\n%s", n.cfg.ID, n.Stats(), n.logged())
		return Frame{}
	}
}

// waitFor polls cond until it holds or 5 seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestLoopbackThreeNodes(t *testing.T) {
	nodes := cluster(t, 3)
	// Every node sends every sample frame, readdressed, to both others.
	want := map[spec.ServerID][]Frame{}
	for _, from := range nodes {
		for _, to := range nodes {
			if from == to {
				continue
			}
			for _, f := range sampleFrames() {
				switch f.Kind {
				case KindHello:
					continue
				case KindMessage:
					f.Message.From, f.Message.To = from.cfg.ID, to.cfg.ID
				case KindInstallSnapshot:
					f.Snapshot.Leader, f.Snapshot.To = from.cfg.ID, to.cfg.ID
				case KindInstallSnapshotResponse:
					f.SnapshotResponse.From, f.SnapshotResponse.To = from.cfg.ID, to.cfg.ID
				}
				if err := from.SendFrame(&f); err != nil {
					t.Fatal(err)
				}
				want[to.cfg.ID] = append(want[to.cfg.ID], f)
			}
		}
	}
	for _, n := range nodes {
		// Frames from one sender arrive in the order sent.
		next := map[spec.ServerID]int{}
		for range want[n.cfg.ID] {
			f := receive(t, n)
			var exp []Frame
			for _, w := range want[n.cfg.ID] {
				if w.From() == f.From() {
					exp = append(exp, w)
				}
			}
			k := next[f.From()]
			if k >= len(exp) || fmt.Sprint(exp[k]) != fmt.Sprint(f) {
				t.Fatalf("%v: frame %d from %v: got %+v", n.cfg.ID, k, f.From(), f)
			}
			next[f.From()]++
		}
	}
	// Everything arrived; a sender counts a frame once its write returns.
	for _, n := range nodes {
		sent := uint64(len(want[n.cfg.ID])) // every node sends as many as it receives
		waitFor(t, "send counters", func() bool { return n.Stats().Sent == sent })
		if s := n.Stats(); s.Received != sent || s.Connections != 2 || s.QueueFull+s.Blocked+s.Unsent+s.BadPeers != 0 {
			t.Errorf("%v: stats %+v", n.cfg.ID, s)
		}
	}
}

func TestSendRefusesMisuse(t *testing.T) {
	nodes := cluster(t, 2)
	n := nodes[0]
	for _, c := range []struct {
		m    spec.Message
		want string
	}{
		{vote(2, 1, 1), "frame from S2, but this is S1"},
		{vote(1, 5, 1), "unknown peer S5"},
		{spec.Message{Type: spec.RequestVote, From: 1, To: 2}, "term of at least 1"},
	} {
		if err := n.Send(c.m); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Send(%v) = %v, want %q", c.m, err, c.want)
		}
	}
	if err := n.SendFrame(&Frame{Kind: KindHello, Hello: 1}); err == nil {
		t.Error("SendFrame(hello) succeeded")
	}
	n.Close()
	if err := n.Send(vote(1, 2, 1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close = %v", err)
	}
	if err := n.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v", err)
	}
}

func TestReconnectAfterPeerRestart(t *testing.T) {
	nodes := cluster(t, 2)
	n1, n2 := nodes[0], nodes[1]
	mustSend(t, n1, vote(1, 2, 1))
	if f := receive(t, n2); f.Message.Term != 1 {
		t.Fatalf("got %+v", f)
	}
	addr := n2.Addr().String()
	n2.Close()
	// Restart S2 on the same address; S1 keeps sending (Raft retries) and
	// must get through on a new connection.
	n2b := restartOn(t, 2, addr, n1)
	defer n2b.Close()
	term := spec.Term(2)
	waitFor(t, "a message on the new connection", func() bool {
		mustSend(t, n1, vote(1, 2, term))
		term++
		select {
		case f := <-n2b.got:
			return f.Message.From == 1
		case <-time.After(20 * time.Millisecond):
			return false
		}
	})
	if s := n1.Stats(); s.Connections < 2 {
		t.Fatalf("S1 stats %+v: want a second connection", s)
	}
	// And the restarted node reaches S1 too.
	mustSend(t, n2b, vote(2, 1, 9))
	if f := receive(t, n1); f.Message.From != 2 || f.Message.Term != 9 {
		t.Fatalf("got %+v", f)
	}
}

// junk connects to n, writes b, and returns once n has closed the
// connection.
func junk(t *testing.T, n *node, b []byte) {
	t.Helper()
	c, err := net.Dial("tcp", n.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("junk peer was not disconnected: %v", err)
	}
}

func TestJunkPeerIsDisconnected(t *testing.T) {
	nodes := cluster(t, 3)
	n1, n2 := nodes[0], nodes[1]
	hello := func(id spec.ServerID) []byte { return mustEncode(t, &Frame{Kind: KindHello, Hello: id}) }
	spoofed, _ := Encode(&spec.Message{Type: spec.RequestVote, From: 3, To: 1, Term: 1})
	for _, c := range []struct {
		b    []byte
		want []string
	}{
		{[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), []string{"transport: S1: peer (before hello) at 127.0.0.1:",
			": protocol violation: frame length 1195725856 outside 1..16777216; disconnecting"}},
		{hello(9), []string{"peer S9 at 127.0.0.1:", "not a configured peer"}},
		{append(hello(2), spoofed...), []string{"message frame from S3 to S1 on the connection of S2 to S1"}},
		{append(hello(2), 0, 0, 0, 3, Version<<4|byte(KindMessage), 1, 2), []string{"peer S2 at", "protocol violation: message frame: to: truncated"}},
		{append(hello(2), hello(2)...), []string{"second hello"}},
	} {
		junk(t, n1, c.b)
		waitFor(t, "the log line", func() bool {
			last := n1.logged()
			last = last[strings.LastIndex(last, "\n")+1:]
			for _, w := range c.want {
				if !strings.Contains(last, w) {
					return false
				}
			}
			return true
		})
	}
	lines := strings.Split(n1.logged(), "\n")
	if len(lines) != 5 || n1.Stats().BadPeers != 5 {
		t.Fatalf("want one log line per junk peer (5), got %d, stats %+v:\n%s", len(lines), n1.Stats(), n1.logged())
	}
	// S1 keeps running: real peers still get through.
	mustSend(t, n2, vote(2, 1, 4))
	if f := receive(t, n1); f.Message.From != 2 || f.Message.Term != 4 {
		t.Fatalf("got %+v", f)
	}
}

func TestBlockedLinksDropTraffic(t *testing.T) {
	nodes := cluster(t, 3)
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	n1.Block(2)
	mustSend(t, n1, vote(1, 2, 1)) // dropped at S1's Send
	mustSend(t, n2, vote(2, 1, 1)) // dropped on arrival at S1
	mustSend(t, n3, vote(3, 1, 1)) // S3's link is intact
	if f := receive(t, n1); f.Message.From != 3 {
		t.Fatalf("S1 got %+v, want S3's message", f)
	}
	waitFor(t, "both directions to be dropped", func() bool { return n1.Stats().Blocked == 2 })
	n1.Unblock(2)
	mustSend(t, n1, vote(1, 2, 2))
	mustSend(t, n2, vote(2, 1, 2))
	// The first frames to get through are the ones sent after Unblock.
	if f := receive(t, n2); f.Message.Term != 2 {
		t.Fatalf("S2 got %+v, want the term-2 message", f)
	}
	if f := receive(t, n1); f.Message.From != 2 || f.Message.Term != 2 {
		t.Fatalf("S1 got %+v, want S2's term-2 message", f)
	}
}

func TestSendNeverBlocks(t *testing.T) {
	// A peer that is not there: the sender dials and backs off while Send
	// keeps returning at once, dropping what does not fit the queue.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	n := startNode(t, 1, "127.0.0.1:0", map[spec.ServerID]string{2: dead}, func(c *Config) { c.QueueSize = 4 })
	defer n.Close()
	start := time.Now()
	for k := range 1000 {
		mustSend(t, n, vote(1, 2, spec.Term(k+1)))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("1000 sends to an unreachable peer took %v", d)
	}
	if s := n.Stats(); s.QueueFull < 1000-4-10 || s.Sent != 0 {
		t.Fatalf("stats %+v: want nearly all 1000 dropped as queue-full", s)
	}
	waitFor(t, "redials", func() bool { return n.Stats().Dials >= 2 })
}

func TestCloseLeaksNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		nodes := cluster(t, 3)
		for _, a := range nodes {
			for _, b := range nodes {
				if a != b {
					mustSend(t, a, vote(a.cfg.ID, b.cfg.ID, 1))
				}
			}
		}
		for _, n := range nodes {
			receive(t, n)
			receive(t, n)
		}
		// Leave a junk connection open, an unreachable peer redialling and
		// an idle inbound connection in hello wait.
		idle, err := net.Dial("tcp", nodes[0].Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer idle.Close()
		if err := nodes[1].SetPeer(7, "127.0.0.1:1"); err != nil {
			t.Fatal(err)
		}
		mustSend(t, nodes[1], vote(2, 7, 1))
		for _, n := range nodes {
			if err := n.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}()
	var after int
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if after = runtime.NumGoroutine(); after <= before {
			return
		}
	}
	buf := make([]byte, 1<<16)
	t.Fatalf("%d goroutines before, %d after Close:\n%s", before, after, buf[:runtime.Stack(buf, true)])
}

// A peer that comes back and connects to us is redialled at once, not
// after the rest of a long reconnect backoff: a restarted Raft server must
// hear the leader's heartbeats before its election timeout.
func TestPeerConnectingCutsBackoffShort(t *testing.T) {
	slow := func(c *Config) { c.BackoffMin, c.BackoffMax = 4*time.Second, 8*time.Second }
	n2 := startNode(t, 2, "127.0.0.1:0", nil, nil)
	addr := n2.Addr().String()
	n1 := startNode(t, 1, "127.0.0.1:0", map[spec.ServerID]string{2: addr}, slow)
	defer n1.Close()
	n2.Close()
	// S1 fails to reach S2 and backs off for 2-4 s.
	mustSend(t, n1, vote(1, 2, 1))
	waitFor(t, "a failed dial", func() bool { return n1.Stats().Unsent > 0 })
	n2b := restartOn(t, 2, addr, n1)
	defer n2b.Close()
	// S2 speaks first; S1's sender wakes and dials back well within the
	// backoff.
	mustSend(t, n2b, vote(2, 1, 5))
	receive(t, n1)
	start := time.Now()
	mustSend(t, n1, vote(1, 2, 2))
	select {
	case f := <-n2b.got:
		if f.Message.From != 1 {
			t.Fatalf("got %+v", f)
		}
	case <-time.After(1500 * time.Millisecond):
		t.Fatalf("S1 did not redial S2 for %v after S2 connected", time.Since(start))
	}
}

// restartOn starts server id again on addr, once the port is free, with
// peer as its only peer.
func restartOn(t *testing.T, id spec.ServerID, addr string, peer *node) *node {
	t.Helper()
	peers := map[spec.ServerID]string{peer.cfg.ID: peer.Addr().String()}
	var n *node
	waitFor(t, "the port to be free again", func() bool {
		tr, err := New(Config{ID: id, Listen: addr, Peers: peers, Handler: func(Frame) {}, Logf: func(string, ...any) {}})
		if err != nil {
			return false
		}
		tr.Close()
		n = startNode(t, id, addr, peers, nil)
		return true
	})
	return n
}

// TestRemovePeer: a removed peer's connections close in both directions,
// frames to it are refused with ErrUnknownPeer and its hello is refused;
// SetPeer brings it back.
func TestRemovePeer(t *testing.T) {
	nodes := cluster(t, 2)
	n1, n2 := nodes[0], nodes[1]
	mustSend(t, n1, vote(1, 2, 1))
	mustSend(t, n2, vote(2, 1, 1))
	receive(t, n2)
	receive(t, n1)
	if !n1.RemovePeer(2) || n1.RemovePeer(2) {
		t.Fatal("RemovePeer(2) should report true once, then false")
	}
	if got := n1.Peers(); len(got) != 0 {
		t.Fatalf("Peers after RemovePeer = %v", got)
	}
	if err := n1.Send(vote(1, 2, 2)); !errors.Is(err, ErrUnknownPeer) {
		t.Fatalf("Send to a removed peer = %v, want ErrUnknownPeer", err)
	}
	// S2's connection to S1 was closed; its next frames make it redial,
	// and S1 refuses the hello of a server that is no longer a peer.
	waitFor(t, "S1 refusing S2's hello", func() bool {
		n2.Send(vote(2, 1, 2))
		return n1.Stats().BadPeers > 0
	})
	select {
	case f := <-n1.got:
		t.Fatalf("S1 received %+v from a removed peer", f)
	default:
	}
	if !strings.Contains(n1.logged(), "not a configured peer") {
		t.Errorf("S1's log does not say why it refused S2:\n%s", n1.logged())
	}
	// A removed server left running redials at every message: the
	// refusals are counted, but only the first three are logged.
	waitFor(t, "ten refused hellos", func() bool {
		n2.Send(vote(2, 1, 2))
		time.Sleep(time.Millisecond)
		return n1.Stats().BadPeers >= 10
	})
	if k := strings.Count(n1.logged(), "not a configured peer"); k != 3 {
		t.Errorf("S1 logged %d refusals of S2, want 3:\n%s", k, n1.logged())
	}
	if err := n1.SetPeer(2, n2.Addr().String()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "S2's frames to arrive again", func() bool {
		n2.Send(vote(2, 1, 3))
		select {
		case f := <-n1.got:
			return f.Message.From == 2
		case <-time.After(20 * time.Millisecond):
			return false
		}
	})
	mustSend(t, n1, vote(1, 2, 4))
	for f := receive(t, n2); f.Message.Term != 4; f = receive(t, n2) {
	}
}
