// Package transport carries Raft messages between processes over TCP.
//
// Each Transport listens on one address and keeps, for every peer, a
// bounded send queue drained by one sender goroutine that owns a single
// outbound connection: it dials with exponential backoff and jitter,
// introduces itself with a hello frame, and reconnects after any error.
// Inbound connections are served by one goroutine each, which checks every
// frame (see frame.go and README.md for the wire format) and hands it to
// the Handler. Delivery is best effort, as Raft assumes of its network:
// Send never blocks, and a message that finds its queue full, its link
// blocked or its connection broken is dropped and counted.
package transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raftcheck/raftcheck/spec"
)

// Config configures a Transport. ID, Listen and Handler are required;
// zero durations and sizes take the defaults given.
type Config struct {
	ID     spec.ServerID
	Listen string                   // address to listen on, e.g. "127.0.0.1:7001" or ":0"
	Peers  map[spec.ServerID]string // peer id -> host:port (more can be added with SetPeer)

	// Handler receives every valid message and snapshot frame addressed to
	// this server. It is called from one goroutine per inbound connection,
	// so concurrently for different peers and in order for one peer; while
	// it runs, that peer's connection is not read. It must not block
	// indefinitely (Close waits for it), nor keep f's Snapshot.Data beyond
	// the call without copying it.
	Handler func(f Frame)

	QueueSize    int           // per-peer send queue, in frames (default 1024)
	MaxFrameSize int           // largest frame accepted (default DefaultMaxFrameSize)
	DialTimeout  time.Duration // per dial attempt (default 1s)
	BackoffMin   time.Duration // first retry delay after a failed dial (default 10ms)
	BackoffMax   time.Duration // cap of the doubling retry delay (default 1s)
	WriteTimeout time.Duration // a write stuck longer breaks the connection (default 5s)
	HelloTimeout time.Duration // an inbound connection must say hello within this (default 5s)

	// Logf receives one line per notable event (a peer disconnected for a
	// bad frame, a connection lost). Nil means log.Printf.
	Logf func(format string, args ...any)
}

// Stats are counters of a Transport since New.
type Stats struct {
	Sent        uint64 // frames written to a connection
	Received    uint64 // frames delivered to the Handler
	QueueFull   uint64 // frames dropped by Send because the peer's queue was full
	Blocked     uint64 // frames dropped because the link was blocked (either direction)
	Unsent      uint64 // frames dropped because the connection failed or could not be made
	BadPeers    uint64 // inbound connections closed because the peer sent an invalid frame
	Dials       uint64 // dial attempts
	Connections uint64 // outbound connections established
}

// ErrClosed is returned by Send and SendFrame after Close.
var ErrClosed = errors.New("transport: closed")

// ErrUnknownPeer is wrapped by the error of Send and SendFrame for a
// receiver that is not (or no longer) a peer: with membership changes, a
// server may answer one it has not learnt the address of yet, or one that
// was removed.
var ErrUnknownPeer = errors.New("unknown peer")

// Transport is a TCP endpoint for one Raft server. Its methods are safe for
// concurrent use.
type Transport struct {
	cfg  Config
	ln   net.Listener
	stop chan struct{}
	ctx  context.Context // canceled by Close, aborts dials
	halt context.CancelFunc
	wg   sync.WaitGroup

	mu     sync.Mutex
	peers  map[spec.ServerID]*peer
	conns  map[net.Conn]struct{} // every open connection, closed by Close
	closed bool
	// strangers counts the hellos refused per unknown id: a removed
	// server still running redials at every message, so only the first
	// few and then every 100th are logged.
	strangers map[spec.ServerID]int

	sent, received, queueFull, blocked, unsent, badPeers, dials, connections atomic.Uint64
}

type peer struct {
	id      spec.ServerID
	queue   chan []byte
	addr    atomic.Pointer[string]
	blocked atomic.Bool
	// alive is signalled when the peer connects to us: it is up, so a
	// sender waiting out a reconnect backoff dials again at once (a
	// restarted server would otherwise miss heartbeats for up to
	// BackoffMax and start an election).
	alive chan struct{}
	// gone is closed by RemovePeer: the sender exits, closing its
	// connection. inbound (guarded by Transport.mu) are the connections
	// the peer dialled to us, closed by RemovePeer too.
	gone    chan struct{}
	inbound map[net.Conn]struct{}
}

// New starts a Transport: it listens on cfg.Listen and starts a sender for
// each configured peer.
func New(cfg Config) (*Transport, error) {
	if cfg.ID == spec.None {
		return nil, fmt.Errorf("transport: config: ID must be set")
	}
	if cfg.Handler == nil {
		return nil, fmt.Errorf("transport: config: Handler must be set")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.DialTimeout, time.Second)
	def(&cfg.BackoffMin, 10*time.Millisecond)
	def(&cfg.BackoffMax, time.Second)
	def(&cfg.WriteTimeout, 5*time.Second)
	def(&cfg.HelloTimeout, 5*time.Second)
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 1024
	}
	if cfg.MaxFrameSize <= 0 || cfg.MaxFrameSize > DefaultMaxFrameSize {
		cfg.MaxFrameSize = DefaultMaxFrameSize
	}
	if cfg.Logf == nil {
		cfg.Logf = log.Printf
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("transport: %v: %w", cfg.ID, err)
	}
	t := &Transport{
		cfg:   cfg,
		ln:    ln,
		stop:  make(chan struct{}),
		peers: map[spec.ServerID]*peer{},
		conns: map[net.Conn]struct{}{},

		strangers: map[spec.ServerID]int{},
	}
	t.ctx, t.halt = context.WithCancel(context.Background())
	for id, addr := range cfg.Peers {
		if err := t.SetPeer(id, addr); err != nil {
			t.Close()
			return nil, err
		}
	}
	t.wg.Add(1)
	go t.accept()
	return t, nil
}

// Addr is the address the Transport listens on (useful with port 0).
func (t *Transport) Addr() net.Addr { return t.ln.Addr() }

// SetPeer adds a peer or changes its address; the next connection to it
// uses the new address.
func (t *Transport) SetPeer(id spec.ServerID, addr string) error {
	if id == spec.None || id == t.cfg.ID {
		return fmt.Errorf("transport: peer id %v: must be another server", id)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	if p, ok := t.peers[id]; ok {
		p.addr.Store(&addr)
		return nil
	}
	p := &peer{id: id, queue: make(chan []byte, t.cfg.QueueSize), alive: make(chan struct{}, 1),
		gone: make(chan struct{}), inbound: map[net.Conn]struct{}{}}
	p.addr.Store(&addr)
	t.peers[id] = p
	t.wg.Add(1)
	go t.send(p)
	return nil
}

// RemovePeer forgets peer id (a server removed from the cluster): its
// sender stops, its queued frames are discarded, and the connections in
// both directions are closed; a hello from it is refused from now on. It
// reports whether id was a peer. SetPeer may add it again later.
func (t *Transport) RemovePeer(id spec.ServerID) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.peers[id]
	if !ok {
		return false
	}
	delete(t.peers, id)
	close(p.gone)
	for c := range p.inbound {
		c.Close() // serve untracks it
	}
	return true
}

// Peers lists the ids of the current peers, in no particular order.
func (t *Transport) Peers() []spec.ServerID {
	t.mu.Lock()
	defer t.mu.Unlock()
	ids := make([]spec.ServerID, 0, len(t.peers))
	for id := range t.peers {
		ids = append(ids, id)
	}
	return ids
}

// Block cuts the link with peer in both directions: frames to it are
// dropped by Send, frames from it are dropped on arrival. Frames already
// queued may still go out.
func (t *Transport) Block(peer spec.ServerID) { t.setBlocked(peer, true) }

// Unblock restores the link with peer.
func (t *Transport) Unblock(peer spec.ServerID) { t.setBlocked(peer, false) }

func (t *Transport) setBlocked(id spec.ServerID, v bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.peers[id]; ok {
		p.blocked.Store(v)
	}
}

// Send queues m for its receiver m.To. It never blocks: if the queue is
// full or the link is blocked the message is dropped and counted, and nil
// is returned, since Raft tolerates loss. Errors are for misuse: an
// invalid message, a sender other than this server, an unknown receiver,
// or a closed Transport.
func (t *Transport) Send(m spec.Message) error {
	return t.SendFrame(&Frame{Kind: KindMessage, Message: m})
}

// SendFrame is Send for any frame other than a hello.
func (t *Transport) SendFrame(f *Frame) error {
	if f.Kind == KindHello {
		return fmt.Errorf("transport: send: hello frames are the transport's own")
	}
	if from := f.From(); from != t.cfg.ID {
		return fmt.Errorf("transport: send: frame from %v, but this is %v", from, t.cfg.ID)
	}
	b, err := EncodeFrame(f)
	if err != nil {
		return err
	}
	if len(b)-lenPrefix > t.cfg.MaxFrameSize {
		return fmt.Errorf("transport: send: frame of %d bytes exceeds maximum %d", len(b)-lenPrefix, t.cfg.MaxFrameSize)
	}
	t.mu.Lock()
	p, ok := t.peers[f.To()]
	closed := t.closed
	t.mu.Unlock()
	switch {
	case closed:
		return ErrClosed
	case !ok:
		return fmt.Errorf("transport: send: %w %v", ErrUnknownPeer, f.To())
	case p.blocked.Load():
		t.blocked.Add(1)
		return nil
	}
	select {
	case p.queue <- b:
	default:
		t.queueFull.Add(1)
	}
	return nil
}

// Stats returns the Transport's counters.
func (t *Transport) Stats() Stats {
	return Stats{
		Sent: t.sent.Load(), Received: t.received.Load(), QueueFull: t.queueFull.Load(),
		Blocked: t.blocked.Load(), Unsent: t.unsent.Load(), BadPeers: t.badPeers.Load(),
		Dials: t.dials.Load(), Connections: t.connections.Load(),
	}
}

// Close stops listening, closes every connection and waits for all of the
// Transport's goroutines, including running Handler calls, to finish.
// Queued frames are discarded.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return ErrClosed
	}
	t.closed = true
	close(t.stop)
	t.halt()
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	err := t.ln.Close()
	t.wg.Wait()
	if err != nil {
		return fmt.Errorf("transport: close listener: %w", err)
	}
	return nil
}

// track registers an open connection so that Close can close it; it
// refuses (and closes c) once Close has begun.
func (t *Transport) track(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		c.Close()
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *Transport) untrack(c net.Conn) {
	c.Close()
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

// sleep waits d or until Close; it reports whether to go on.
func (t *Transport) sleep(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-t.stop:
		return false
	}
}

type waited int

const (
	slept waited = iota
	woken
	stopped
)

// wait sleeps d, or less if p connects to us meanwhile, on Close or on
// RemovePeer(p).
func (t *Transport) wait(p *peer, d time.Duration) waited {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return slept
	case <-p.alive:
		return woken
	case <-t.stop:
		return stopped
	case <-p.gone:
		return stopped
	}
}

// send is p's sender goroutine: it takes frames off p's queue and writes
// them to its connection, (re)connecting as needed. Frames are batched in
// one buffered write while more are queued.
func (t *Transport) send(p *peer) {
	defer t.wg.Done()
	var conn net.Conn
	var w *bufio.Writer
	backoff := t.cfg.BackoffMin
	defer func() {
		if conn != nil {
			t.untrack(conn)
		}
	}()
	for {
		var b []byte
		select {
		case <-t.stop:
			return
		case <-p.gone:
			return
		case b = <-p.queue:
		}
		if conn == nil {
			var err error
			if conn, err = t.dial(p); err != nil {
				t.unsent.Add(1)
				// Jitter (half to full delay) keeps restarted peers from
				// being redialled in lockstep.
				switch t.wait(p, backoff/2+rand.N(backoff/2+1)) {
				case stopped:
					return
				case woken:
					backoff = t.cfg.BackoffMin
				default:
					backoff = min(2*backoff, t.cfg.BackoffMax)
				}
				continue
			}
			backoff = t.cfg.BackoffMin
			w = bufio.NewWriterSize(conn, 64<<10)
		}
		n := 1
		w.Write(b)
		for more := true; more && w.Buffered() < 64<<10; {
			select {
			case b = <-p.queue:
				w.Write(b)
				n++
			default:
				more = false
			}
		}
		conn.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout))
		if err := w.Flush(); err != nil {
			t.unsent.Add(uint64(n))
			t.logIfOpen("transport: %v: connection to %v lost: %v; reconnecting", t.cfg.ID, p.id, err)
			t.untrack(conn)
			conn = nil
			continue
		}
		t.sent.Add(uint64(n))
	}
}

// dial connects to p and says hello. A reader goroutine watches the
// connection (peers never write on it) so that a peer's restart is noticed
// by the next write rather than a write into a dead socket.
func (t *Transport) dial(p *peer) (net.Conn, error) {
	t.dials.Add(1)
	d := net.Dialer{Timeout: t.cfg.DialTimeout}
	conn, err := d.DialContext(t.ctx, "tcp", *p.addr.Load())
	if err != nil {
		return nil, err
	}
	if !t.track(conn) {
		return nil, ErrClosed
	}
	hello, _ := EncodeFrame(&Frame{Kind: KindHello, Hello: t.cfg.ID})
	conn.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout))
	if _, err := conn.Write(hello); err != nil {
		t.untrack(conn)
		return nil, err
	}
	t.connections.Add(1)
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		io.Copy(io.Discard, conn)
		conn.Close()
	}()
	return conn, nil
}

func (t *Transport) logIfOpen(format string, args ...any) {
	select {
	case <-t.stop:
	default:
		t.cfg.Logf(format, args...)
	}
}

func (t *Transport) accept() {
	defer t.wg.Done()
	for {
		c, err := t.ln.Accept()
		if err != nil {
			select {
			case <-t.stop:
				return
			default:
			}
			t.cfg.Logf("transport: %v: accept: %v", t.cfg.ID, err)
			if !t.sleep(10 * time.Millisecond) {
				return
			}
			continue
		}
		if !t.track(c) {
			return
		}
		t.wg.Add(1)
		go t.serve(c)
	}
}

// serve reads frames from one inbound connection until it fails or the
// peer misbehaves, in which case it logs one line and disconnects.
func (t *Transport) serve(c net.Conn) {
	defer t.wg.Done()
	defer t.untrack(c)
	r := bufio.NewReaderSize(c, 64<<10)
	bad := func(from string, err error) {
		t.badPeers.Add(1)
		t.logIfOpen("transport: %v: peer %s at %v: %v; disconnecting", t.cfg.ID, from, c.RemoteAddr(), err)
	}
	c.SetReadDeadline(time.Now().Add(t.cfg.HelloTimeout))
	f, err := t.readFrame(r)
	if err != nil {
		if errors.Is(err, errProtocol) {
			bad("(before hello)", err)
		}
		return
	}
	if f.Kind != KindHello {
		bad("(before hello)", fmt.Errorf("%v frame before hello", f.Kind))
		return
	}
	from := f.Hello
	t.mu.Lock()
	p, known := t.peers[from]
	refused := 0
	if known {
		p.inbound[c] = struct{}{} // RemovePeer closes it
	} else {
		t.strangers[from]++
		refused = t.strangers[from]
	}
	t.mu.Unlock()
	if !known {
		if refused <= 3 || refused%100 == 0 {
			bad(from.String(), fmt.Errorf("not a configured peer (hello %d refused)", refused))
		} else {
			t.badPeers.Add(1)
		}
		return
	}
	defer func() {
		t.mu.Lock()
		delete(p.inbound, c)
		t.mu.Unlock()
	}()
	c.SetReadDeadline(time.Time{})
	select {
	case p.alive <- struct{}{}:
	default:
	}
	for {
		f, err := t.readFrame(r)
		switch {
		case errors.Is(err, errProtocol):
			bad(from.String(), err)
			return
		case err != nil:
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				t.logIfOpen("transport: %v: connection from %v lost: %v", t.cfg.ID, from, err)
			}
			return
		case f.Kind == KindHello:
			bad(from.String(), fmt.Errorf("second hello"))
			return
		case f.From() != from || f.To() != t.cfg.ID:
			bad(from.String(), fmt.Errorf("%v frame from %v to %v on the connection of %v to %v", f.Kind, f.From(), f.To(), from, t.cfg.ID))
			return
		case p.blocked.Load():
			t.blocked.Add(1)
		default:
			t.received.Add(1)
			t.cfg.Handler(f)
		}
	}
}

func (t *Transport) readFrame(r io.Reader) (Frame, error) {
	body, err := readFrame(r, t.cfg.MaxFrameSize)
	if err != nil {
		return Frame{}, err
	}
	return decodeBody(body)
}
