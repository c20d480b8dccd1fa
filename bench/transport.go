package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
)

// etcdTransport moves raftpb.Messages over TCP with the design of
// impl/transport, so that the comparison is of the Raft libraries and not
// of their networking: one outbound connection per peer, used only to
// send, a bounded queue per peer (a full queue drops, as Raft tolerates
// loss), one sender goroutine that batches everything queued into one
// buffered write of up to 64 KiB, and one reader goroutine per inbound
// connection. A frame is a 4-byte big-endian length and the marshalled
// message; the first frame of a connection is the dialler's id.
type etcdTransport struct {
	id      uint64
	ln      net.Listener
	handler func(pb.Message)
	peers   map[uint64]*etcdPeer

	mu    sync.Mutex
	conns []net.Conn
	done  chan struct{}
	wg    sync.WaitGroup
}

type etcdPeer struct {
	addr  string
	queue chan []byte
}

const (
	queueSize  = 1024     // frames per peer, as impl/transport
	batchBytes = 64 << 10 // one buffered write, as impl/transport
	maxFrame   = 16 << 20
)

// newEtcdTransport listens on ln and hands every received message to
// handler, from one goroutine per inbound connection.
func newEtcdTransport(id uint64, ln net.Listener, handler func(pb.Message)) *etcdTransport {
	t := &etcdTransport{id: id, ln: ln, handler: handler, peers: map[uint64]*etcdPeer{}, done: make(chan struct{})}
	t.wg.Add(1)
	go t.accept()
	return t
}

// addPeer starts the sender of peer id at addr.
func (t *etcdTransport) addPeer(id uint64, addr string) {
	p := &etcdPeer{addr: addr, queue: make(chan []byte, queueSize)}
	t.peers[id] = p
	t.wg.Add(1)
	go t.sender(p)
}

// send encodes and queues msgs; a message to an unknown peer or beyond a
// full queue is dropped.
func (t *etcdTransport) send(msgs []pb.Message) {
	for i := range msgs {
		p := t.peers[msgs[i].To]
		if p == nil {
			continue
		}
		b := make([]byte, 4+msgs[i].Size())
		n, err := msgs[i].MarshalTo(b[4:])
		if err != nil {
			continue // cannot happen for a message raft built
		}
		binary.BigEndian.PutUint32(b, uint32(n))
		select {
		case p.queue <- b[:4+n]:
		default:
		}
	}
}

func (t *etcdTransport) sender(p *etcdPeer) {
	defer t.wg.Done()
	var w *bufio.Writer
	var conn net.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for {
		var b []byte
		select {
		case b = <-p.queue:
		case <-t.done:
			return
		}
		if conn == nil {
			c, err := t.dial(p.addr)
			if err != nil {
				time.Sleep(10 * time.Millisecond) // the frame is dropped, as a lost message
				continue
			}
			conn, w = c, bufio.NewWriterSize(c, batchBytes)
		}
		if err := t.writeBatch(w, p.queue, b); err != nil {
			conn.Close()
			conn = nil
		}
	}
}

// writeBatch writes b and whatever else is queued, up to batchBytes,
// with one flush.
func (t *etcdTransport) writeBatch(w *bufio.Writer, queue chan []byte, b []byte) error {
	w.Write(b) // a write error is sticky and returned by Flush
	for w.Buffered() < batchBytes {
		select {
		case b = <-queue:
			w.Write(b)
			continue
		default:
		}
		break
	}
	return w.Flush()
}

func (t *etcdTransport) dial(addr string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil, err
	}
	c.(*net.TCPConn).SetNoDelay(true)
	var hello [8]byte
	binary.BigEndian.PutUint64(hello[:], t.id)
	if _, err := c.Write(hello[:]); err != nil {
		c.Close()
		return nil, err
	}
	t.track(c)
	return c, nil
}

func (t *etcdTransport) track(c net.Conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.conns = append(t.conns, c)
}

func (t *etcdTransport) accept() {
	defer t.wg.Done()
	for {
		c, err := t.ln.Accept()
		if err != nil {
			return
		}
		t.track(c)
		t.wg.Add(1)
		go t.read(c)
	}
}

// read decodes the frames of one inbound connection.
func (t *etcdTransport) read(c net.Conn) {
	defer t.wg.Done()
	r := bufio.NewReaderSize(c, batchBytes)
	var hello [8]byte
	if _, err := io.ReadFull(r, hello[:]); err != nil {
		return
	}
	buf := make([]byte, 4096)
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n > maxFrame {
			return
		}
		if int(n) > cap(buf) {
			buf = make([]byte, n)
		}
		if _, err := io.ReadFull(r, buf[:n]); err != nil {
			return
		}
		var m pb.Message
		if err := m.Unmarshal(buf[:n]); err != nil {
			return
		}
		t.handler(m)
	}
}

// close stops every goroutine of the transport and waits for them.
func (t *etcdTransport) close() error {
	close(t.done)
	err := t.ln.Close()
	t.mu.Lock()
	for _, c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("etcd transport %d: %w", t.id, err)
	}
	return nil
}
