package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/raftcheck/raftcheck/impl/kv"
	"github.com/raftcheck/raftcheck/impl/node"
	"github.com/raftcheck/raftcheck/spec"
)

// member is one server of a cluster under test: what the clients need.
type member interface {
	kv.Raft
	Stop() error
}

// cluster is three servers on loopback, each with its kv.Server.
type cluster struct {
	members []member
	servers []*kv.Server
}

// startRaftkv starts raftkv's core: impl/node (impl/raft, impl/wal through
// impl/raftwal, impl/transport) with impl/kv's Store, as cmd/raftkv runs
// it; trace is the directory of the servers' event logs (recording on),
// or empty.
func startRaftkv(dir, trace string, n int) (*cluster, error) {
	c := &cluster{}
	nodes := make([]*node.Node, n)
	for i := range n {
		store := kv.NewStore()
		store.Logf = func(string, ...any) {}
		cfg := node.Config{ID: spec.ServerID(i + 1), Servers: n, Listen: "127.0.0.1:0",
			Dir: filepath.Join(dir, fmt.Sprint(i+1)), StateMachine: store, Logf: func(string, ...any) {}}
		if trace != "" {
			cfg.TracePath = filepath.Join(trace, fmt.Sprintf("s%d.ndjson", i+1))
		}
		nd, err := node.Start(cfg)
		if err != nil {
			c.stop()
			return nil, err
		}
		nodes[i] = nd
		c.members = append(c.members, nd)
		c.servers = append(c.servers, kv.NewServer(nd, store, nil))
	}
	for i, a := range nodes {
		for j, b := range nodes {
			if i != j {
				if err := a.SetPeer(spec.ServerID(j+1), b.Addr().String()); err != nil {
					c.stop()
					return nil, fmt.Errorf("set peer: %w", err)
				}
			}
		}
	}
	return c, nil
}

// startEtcd starts n etcdNodes on loopback with their WALs under dir.
func startEtcd(dir string, n int) (*cluster, error) {
	lns := make([]net.Listener, n)
	for i := range lns {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			for _, l := range lns[:i] {
				l.Close()
			}
			return nil, fmt.Errorf("listen: %w", err)
		}
		lns[i] = ln
	}
	c := &cluster{}
	nodes := make([]*etcdNode, n)
	for i := range n {
		store := kv.NewStore()
		store.Logf = func(string, ...any) {}
		e, err := startEtcdNode(uint64(i+1), n, lns[i], filepath.Join(dir, fmt.Sprint(i+1)), store)
		if err != nil {
			for _, l := range lns[i:] {
				l.Close()
			}
			c.stop()
			return nil, err
		}
		nodes[i] = e
		c.members = append(c.members, e)
		c.servers = append(c.servers, kv.NewServer(e, store, nil))
	}
	for i, a := range nodes {
		for j := range nodes {
			if i != j {
				a.tr.addPeer(uint64(j+1), lns[j].Addr().String())
			}
		}
	}
	return c, nil
}

// leader waits for a leader and returns its index.
func (c *cluster) leader() (int, error) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for i, m := range c.members {
			if m.Status().Role == spec.Leader {
				return i, nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return 0, errors.New("no leader after 10s")
}

func (c *cluster) stop() error {
	var errs []error
	for _, m := range c.members {
		errs = append(errs, m.Stop())
	}
	return errors.Join(errs...)
}

// tempDir is a fresh directory for one run's WALs, on the disk (not a
// tmpfs: the fsyncs must be real).
func tempDir(base string) (string, error) {
	d, err := os.MkdirTemp(base, "bench-")
	if err != nil {
		return "", fmt.Errorf("temp dir: %w", err)
	}
	return d, nil
}
