// Command raftkv is a replicated key-value server: one Raft server of
// impl/node replicating the impl/kv store, with an HTTP API. README.md
// describes the flags, the API and the durability guarantees.
//
//	raftkv --id 1 --peers 1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003 \
//	       --http 127.0.0.1:8001 --data ./data/1
//
// Exit status: 0 after a clean shutdown (SIGINT or SIGTERM); 1 a runtime
// failure (the data directory cannot be opened, a port is taken, the WAL
// failed); 2 bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/raftcheck/raftcheck/impl/kv"
	"github.com/raftcheck/raftcheck/impl/node"
	"github.com/raftcheck/raftcheck/spec"
)

const usage = `usage: raftkv --id N --peers 1=HOST:PORT,2=HOST:PORT,... --http HOST:PORT --data DIR [flags]

flags:
  --id N                this server's id, one of the ids in --peers
  --peers LIST          every server's Raft address, id=host:port, comma-separated (this one included)
  --http HOST:PORT      address of this server's HTTP API
  --http-peers LIST     every server's HTTP address, id=host:port (for redirects to the leader);
                        default: each peer's Raft host with its port shifted by the same offset
                        as this server's (--http port minus its own Raft port)
  --data DIR            data directory (the write-ahead log); created if missing
  --tick DURATION       Raft tick (default 10ms); elections time out after 10-20 ticks
  --snapshot-entries N  snapshot and compact the log every N applied entries (default 10000; -1: never)
`

type config struct {
	id        spec.ServerID
	peers     map[spec.ServerID]string
	http      string
	httpPeers map[spec.ServerID]string
	data      string
	tick      time.Duration
	snapEvery int
}

// parseFlags parses args (without the program name). An error is one line
// for the user.
func parseFlags(args []string) (*config, error) {
	fs := flag.NewFlagSet("raftkv", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	id := fs.Int("id", 0, "")
	peers := fs.String("peers", "", "")
	httpAddr := fs.String("http", "", "")
	httpPeers := fs.String("http-peers", "", "")
	data := fs.String("data", "", "")
	tick := fs.Duration("tick", 10*time.Millisecond, "")
	snapEvery := fs.Int("snapshot-entries", 10000, "")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c := &config{http: *httpAddr, data: *data, tick: *tick, snapEvery: *snapEvery}
	var err error
	if c.peers, err = parsePeers("--peers", *peers); err != nil {
		return nil, err
	}
	if *id < 1 || *id > len(c.peers) {
		return nil, fmt.Errorf("--id: %d is not one of the %d servers of --peers", *id, len(c.peers))
	}
	c.id = spec.ServerID(*id)
	switch {
	case c.http == "":
		return nil, errors.New("--http: required (host:port of the HTTP API)")
	case c.data == "":
		return nil, errors.New("--data: required (data directory)")
	case c.tick <= 0:
		return nil, fmt.Errorf("--tick: %v is not a positive duration", c.tick)
	case c.snapEvery == 0 || c.snapEvery < -1:
		return nil, fmt.Errorf("--snapshot-entries: %d (want a positive count, or -1 for never)", c.snapEvery)
	}
	if _, _, err := net.SplitHostPort(c.http); err != nil {
		return nil, fmt.Errorf("--http: %q: %v", c.http, err)
	}
	if *httpPeers != "" {
		if c.httpPeers, err = parsePeers("--http-peers", *httpPeers); err != nil {
			return nil, err
		}
		if len(c.httpPeers) != len(c.peers) {
			return nil, fmt.Errorf("--http-peers: %d servers, but --peers has %d", len(c.httpPeers), len(c.peers))
		}
	} else if c.httpPeers, err = deriveHTTPPeers(c.peers, c.id, c.http); err != nil {
		return nil, err
	}
	return c, nil
}

// parsePeers parses "1=host:port,2=host:port,...": ids 1..N, each once,
// every address a host:port.
func parsePeers(flagName, s string) (map[spec.ServerID]string, error) {
	if s == "" {
		return nil, fmt.Errorf("%s: required (id=host:port,...)", flagName)
	}
	m := map[spec.ServerID]string{}
	for _, item := range strings.Split(s, ",") {
		idStr, addr, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return nil, fmt.Errorf("%s: %q is not id=host:port", flagName, item)
		}
		id, err := strconv.Atoi(idStr)
		if err != nil || id < 1 || id > spec.MaxServers {
			return nil, fmt.Errorf("%s: %q: id must be a number in 1..%d", flagName, item, spec.MaxServers)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("%s: %q: %v", flagName, item, err)
		}
		if _, dup := m[spec.ServerID(id)]; dup {
			return nil, fmt.Errorf("%s: server %d given twice", flagName, id)
		}
		m[spec.ServerID(id)] = addr
	}
	for id := 1; id <= len(m); id++ {
		if _, ok := m[spec.ServerID(id)]; !ok {
			return nil, fmt.Errorf("%s: ids must be 1..%d without gaps; %d is missing", flagName, len(m), id)
		}
	}
	return m, nil
}

// deriveHTTPPeers gives every peer the HTTP port at the same offset from
// its Raft port as this server's.
func deriveHTTPPeers(peers map[spec.ServerID]string, self spec.ServerID, httpAddr string) (map[spec.ServerID]string, error) {
	port := func(addr string) (string, int, error) {
		host, p, err := net.SplitHostPort(addr)
		if err != nil {
			return "", 0, err
		}
		n, err := strconv.Atoi(p)
		return host, n, err
	}
	_, raftPort, err1 := port(peers[self])
	_, httpPort, err2 := port(httpAddr)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("--http-peers: cannot derive from numeric ports (%v); give --http-peers", err)
	}
	m := map[spec.ServerID]string{self: httpAddr}
	for id, addr := range peers {
		if id == self {
			continue
		}
		host, p, err := port(addr)
		if err != nil || p+httpPort-raftPort < 1 || p+httpPort-raftPort > 65535 {
			return nil, fmt.Errorf("--http-peers: cannot derive the HTTP address of server %d from %q; give --http-peers", id, addr)
		}
		m[id] = net.JoinHostPort(host, strconv.Itoa(p+httpPort-raftPort))
	}
	return m, nil
}

func main() {
	c, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		fmt.Print(usage)
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "raftkv: %v (raftkv -h for usage)\n", err)
		os.Exit(2)
	}
	if err := run(c); err != nil {
		fmt.Fprintf(os.Stderr, "raftkv: %v\n", err)
		os.Exit(1)
	}
}

func run(c *config) error {
	logger := log.New(os.Stderr, fmt.Sprintf("raftkv %v: ", c.id), log.LstdFlags|log.Lmicroseconds)
	store := kv.NewStore()
	store.Logf = logger.Printf
	ln, err := net.Listen("tcp", c.http)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	defer ln.Close()
	nd, err := node.Start(node.Config{
		ID: c.id, Servers: len(c.peers), Peers: c.peers, Dir: c.data, StateMachine: store,
		TickInterval: c.tick, SnapshotEntries: c.snapEvery, Logf: logger.Printf,
	})
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: kv.NewServer(nd, store, c.httpPeers), ReadHeaderTimeout: 10 * time.Second}
	httpErr := make(chan error, 1)
	go func() { httpErr <- srv.Serve(ln) }()
	logger.Printf("serving HTTP on %v, Raft on %v, data in %s", ln.Addr(), nd.Addr(), c.data)

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	var runErr error
	select {
	case s := <-sigs:
		logger.Printf("%v: shutting down", s)
	case <-nd.Done():
		runErr = fmt.Errorf("raft node stopped: %w", nd.Err())
	case err := <-httpErr:
		runErr = fmt.Errorf("http: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
	if err := nd.Stop(); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}
