package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// cluster is the raftkv processes and the proxies between them.
type cluster struct {
	o       *options
	raft    []string   // server i+1's own Raft address
	http    []string   // and HTTP address
	proxies [][]*proxy // proxies[i][j]: i's connections to j
	procs   []*exec.Cmd
	paused  []bool
}

// freePort picks a free port on 127.0.0.1.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func newCluster(o *options) (*cluster, error) {
	n := o.servers
	c := &cluster{o: o, raft: make([]string, n), http: make([]string, n), procs: make([]*exec.Cmd, n), paused: make([]bool, n)}
	for _, d := range []string{"logs", "traces", "data"} {
		if err := os.MkdirAll(filepath.Join(o.out, d), 0o755); err != nil {
			return nil, err
		}
	}
	for i := range n {
		var err error
		if c.raft[i], err = freePort(); err == nil {
			c.http[i], err = freePort()
		}
		if err != nil {
			return nil, fmt.Errorf("ports: %w", err)
		}
	}
	c.proxies = make([][]*proxy, n)
	for i := range n {
		c.proxies[i] = make([]*proxy, n)
		for j := range n {
			if i != j {
				p, err := newProxy(c.raft[j])
				if err != nil {
					c.stop()
					return nil, fmt.Errorf("proxy S%d->S%d: %w", i+1, j+1, err)
				}
				c.proxies[i][j] = p
			}
		}
	}
	for i := range n {
		if err := c.start(i); err != nil {
			c.stop()
			return nil, err
		}
	}
	return c, nil
}

func (c *cluster) tracePath(i int) string {
	return filepath.Join(c.o.out, "traces", fmt.Sprintf("s%d.ndjson", i+1))
}

// start starts server i (again), its peers reached through its proxies.
func (c *cluster) start(i int) error {
	var peers, https []string
	for j := range c.o.servers {
		addr := c.raft[j]
		if j != i {
			addr = c.proxies[i][j].addr()
		}
		peers = append(peers, fmt.Sprintf("%d=%s", j+1, addr))
		https = append(https, fmt.Sprintf("%d=%s", j+1, c.http[j]))
	}
	args := []string{"--id", fmt.Sprint(i + 1), "--peers", strings.Join(peers, ","), "--http", c.http[i],
		"--http-peers", strings.Join(https, ","), "--data", filepath.Join(c.o.out, "data", fmt.Sprint(i+1)),
		"--tick", c.o.tick.String(), "--snapshot-entries", "500", "--trace", c.tracePath(i)}
	if c.o.fault != "" {
		args = append(args, "--fault", c.o.fault)
	}
	log, err := os.OpenFile(filepath.Join(c.o.out, "logs", fmt.Sprintf("s%d.log", i+1)), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(c.o.raftkv, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start S%d: %w", i+1, err)
	}
	log.Close() // the child has its copy
	c.procs[i], c.paused[i] = cmd, false
	return nil
}

// kill sends server i SIGKILL and reaps it.
func (c *cluster) kill(i int) {
	if p := c.procs[i]; p != nil {
		_ = p.Process.Kill()
		_ = p.Wait()
		c.procs[i] = nil
	}
}

func (c *cluster) signal(i int, s syscall.Signal) {
	if p := c.procs[i]; p != nil {
		_ = p.Process.Signal(s)
		c.paused[i] = s == syscall.SIGSTOP
	}
}

// block stops bytes from i to j (in both proxies the pair uses), or lets
// them through again.
func (c *cluster) block(i, j int, on bool) {
	c.proxies[i][j].setBlocked(true, on)
	c.proxies[j][i].setBlocked(false, on)
}

// heal ends every partition and pause and restarts killed servers.
func (c *cluster) heal() error {
	for i := range c.o.servers {
		for j := range c.o.servers {
			if i != j {
				c.block(i, j, false)
			}
		}
		if c.paused[i] {
			c.signal(i, syscall.SIGCONT)
		}
		if c.procs[i] == nil {
			if err := c.start(i); err != nil {
				return err
			}
		}
	}
	return nil
}

// stop ends the servers cleanly (SIGTERM, so that their traces are
// closed; SIGKILL after 10s) and the proxies.
func (c *cluster) stop() {
	for i, p := range c.procs {
		if p == nil {
			continue
		}
		if c.paused[i] {
			_ = p.Process.Signal(syscall.SIGCONT)
		}
		_ = p.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = p.Process.Kill()
			<-done
		}
		c.procs[i] = nil
	}
	for _, row := range c.proxies {
		for _, p := range row {
			if p != nil {
				p.close()
			}
		}
	}
}

// proxy forwards connections to target. Each direction can be blocked:
// bytes are held (not dropped, which would break the framing) until it
// is unblocked, as a link that stops delivering and later delivers late.
// forward is the dialler's bytes to target, back the answer direction.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cond   *sync.Cond
	fwd    bool // forward direction blocked
	back   bool
	conns  []net.Conn
	closed bool
}

func newProxy(target string) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{ln: ln, target: target}
	p.cond = sync.NewCond(&p.mu)
	go p.accept()
	return p, nil
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) setBlocked(forward, on bool) {
	p.mu.Lock()
	if forward {
		p.fwd = on
	} else {
		p.back = on
	}
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *proxy) accept() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		go p.pipe(in, out, true)
		go p.pipe(out, in, false)
	}
}

// pipe copies src to dst, holding each chunk while its direction is
// blocked.
func (p *proxy) pipe(src, dst net.Conn, forward bool) {
	defer src.Close()
	defer dst.Close()
	buf := make([]byte, 64<<10)
	for {
		k, err := src.Read(buf)
		if k > 0 {
			p.mu.Lock()
			for !p.closed && (forward && p.fwd || !forward && p.back) {
				p.cond.Wait()
			}
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:k]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				return
			}
			return
		}
	}
}

func (p *proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for _, c := range p.conns {
		c.Close()
	}
	p.cond.Broadcast()
	p.mu.Unlock()
}
