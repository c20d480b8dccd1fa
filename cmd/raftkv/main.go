// Command raftkv is a replicated key-value server: one Raft server of
// impl/node replicating the impl/kv store, with an HTTP API. README.md
// describes the flags, the API and the durability guarantees.
//
//	raftkv --id 1 --peers 1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003 \
//	       --http 127.0.0.1:8001 --data ./data/1
//
// Exit status: 0 after a clean shutdown (SIGINT or SIGTERM), and for -h
// and --version; 1 a runtime failure (the data directory cannot be
// opened, a port is taken, the WAL failed); 2 bad flags, with one line on
// stderr that names the flag.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/raftcheck/raftcheck/impl/kv"
	"github.com/raftcheck/raftcheck/impl/node"
	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/spec"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

const usage = `usage: raftkv --id N --peers 1=HOST:PORT,2=HOST:PORT,... --http HOST:PORT --data DIR [flags]
       raftkv --version

flags:
  --id N                this server's id, one of the ids in --peers (required)
  --peers LIST          every server's Raft address, id=host:port, comma-separated (this one included;
                        required); servers added later have their addresses replicated (POST /members)
  --http HOST:PORT      address of this server's HTTP API (required; an empty host: all interfaces)
  --http-peers LIST     every server's HTTP address, id=host:port (for redirects to the leader);
                        default: each peer's Raft host with its port shifted by the same offset
                        as this server's (--http port minus its own Raft port)
  --data DIR            data directory (the write-ahead log); created if missing (required)
  --tick DURATION       Raft tick (default 10ms); elections time out after 10-20 ticks
  --snapshot-entries N  snapshot and compact the log every N applied entries (default 10000; -1: never)
  --initial-cluster IDS the voters of the cluster's first configuration, comma-separated ids of --peers
                        (default: every server of --peers, or all but this one with --join); the same
                        on every server and every restart
  --join                this server is new: it is not in the initial configuration, does not campaign,
                        and waits to be added with POST /members on the leader
  --trace FILE          record the Raft core's event log (traces/validate's format) in FILE, appended
                        across restarts; check it with explore validate
  --version             print the build's module, version and VCS revision, and exit

Ports are numbers in 1..65535; no two servers share an address.
Exit status: 0 clean shutdown, 1 runtime failure, 2 bad flags.
`

type config struct {
	id        spec.ServerID
	peers     map[spec.ServerID]string
	http      string
	httpPeers map[spec.ServerID]string
	data      string
	tick      time.Duration
	snapEvery int
	initial   spec.Members // voters of the initial configuration
	join      bool
	trace     string      // --trace: the event log file
	faults    raft.Faults // --fault (raftfaults builds only)
	version   bool        // print the version and exit; nothing else is set
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole command, testable: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return exitOK
	case err != nil:
		fmt.Fprintf(stderr, "raftkv: %v (raftkv -h for usage)\n", err)
		return exitUsage
	case c.version:
		bi, ok := debug.ReadBuildInfo()
		fmt.Fprintln(stdout, versionLine(bi, ok))
		return exitOK
	}
	if err := serve(c, stderr); err != nil {
		fmt.Fprintf(stderr, "raftkv: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// versionLine describes the build: the main module's path and version,
// and the VCS revision (short), commit time and "dirty" for uncommitted
// changes when the build recorded them.
func versionLine(bi *debug.BuildInfo, ok bool) string {
	if !ok {
		return "raftkv (no build information)"
	}
	vcs := map[string]string{}
	for _, s := range bi.Settings {
		vcs[s.Key] = s.Value
	}
	rev := vcs["vcs.revision"]
	rev = rev[:min(len(rev), 7)]
	words := []string{"raftkv", bi.Main.Path, bi.Main.Version, rev, vcs["vcs.time"]}
	if vcs["vcs.modified"] == "true" {
		words = append(words, "dirty")
	}
	return strings.Join(strings.Fields(strings.Join(words, " ")), " ")
}

// parseFlags parses args (without the program name). An error is one line
// for the user that names the flag.
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
	initial := fs.String("initial-cluster", "", "")
	join := fs.Bool("join", false, "")
	version := fs.Bool("version", false, "")
	trace := fs.String("trace", "", "")
	faults := faultFlag(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: raftkv takes only flags", fs.Arg(0))
	}
	if *version {
		return &config{version: true}, nil
	}
	if err := required(fs); err != nil {
		return nil, err
	}
	c := &config{http: *httpAddr, data: *data, tick: *tick, snapEvery: *snapEvery, join: *join, trace: *trace}
	var err error
	if c.faults, err = faults(); err != nil {
		return nil, err
	}
	if err = c.setServers(*id, *peers, *httpPeers); err != nil {
		return nil, err
	}
	if err := c.setInitial(*initial); err != nil {
		return nil, err
	}
	switch {
	case c.tick <= 0:
		return nil, fmt.Errorf("--tick: %v is not a positive duration", c.tick)
	case c.snapEvery == 0 || c.snapEvery < -1:
		return nil, fmt.Errorf("--snapshot-entries: %d (want a positive count, or -1 for never)", c.snapEvery)
	}
	return c, nil
}

// required checks that the required flags are given (an empty value
// counts as missing).
func required(fs *flag.FlagSet) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = f.Value.String() != "" })
	for _, f := range []struct{ name, what string }{
		{"id", "this server's id in --peers"}, {"peers", "id=host:port,... of every server"},
		{"http", "host:port of the HTTP API"}, {"data", "the data directory"},
	} {
		if !set[f.name] {
			return fmt.Errorf("--%s: required (%s)", f.name, f.what)
		}
	}
	return nil
}

// setServers sets the id and the Raft and HTTP addresses, and checks that
// no address is used twice.
func (c *config) setServers(id int, peers, httpPeers string) error {
	var err error
	if c.peers, err = parsePeers("--peers", peers); err != nil {
		return err
	}
	if _, ok := c.peers[spec.ServerID(id)]; !ok {
		return fmt.Errorf("--id: %d is not one of the servers of --peers (1..%d)", id, len(c.peers))
	}
	c.id = spec.ServerID(id)
	if _, err := canonicalAddr(c.http, true); err != nil {
		return fmt.Errorf("--http: %q: %w", c.http, err)
	}
	if httpPeers == "" {
		c.httpPeers, err = deriveHTTPPeers(c.peers, c.id, c.http)
	} else if c.httpPeers, err = parsePeers("--http-peers", httpPeers); err == nil && len(c.httpPeers) != len(c.peers) {
		err = fmt.Errorf("--http-peers: %d servers, but --peers has %d", len(c.httpPeers), len(c.peers))
	}
	if err != nil {
		return err
	}
	return c.checkHTTPNotRaft(httpPeers == "")
}

// setInitial sets the initial configuration's voters from
// --initial-cluster, or the default, and checks it against --join.
func (c *config) setInitial(list string) error {
	if list == "" {
		for id := range c.peers {
			if !c.join || id != c.id {
				c.initial |= 1 << (id - 1)
			}
		}
		if c.initial == 0 {
			return errors.New("--join: --peers has no other server to join")
		}
		return nil
	}
	for _, item := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(item))
		id := spec.ServerID(n)
		if _, ok := c.peers[id]; err != nil || !ok {
			return fmt.Errorf("--initial-cluster: %q is not the id of a server of --peers (1..%d)", item, len(c.peers))
		}
		if c.initial.Has(id) {
			return fmt.Errorf("--initial-cluster: server %d given twice", id)
		}
		c.initial |= 1 << (id - 1)
	}
	switch {
	case c.join && c.initial.Has(c.id):
		return fmt.Errorf("--join: server %d is in --initial-cluster %v; a joining server is not", c.id, c.initial)
	case !c.join && !c.initial.Has(c.id):
		return fmt.Errorf("--initial-cluster: server %d is not in %v; give --join to start it as a new server", c.id, c.initial)
	}
	return nil
}

// checkHTTPNotRaft rejects an HTTP address (--http, or one of
// --http-peers, given or derived) that is also a Raft address in --peers.
func (c *config) checkHTTPNotRaft(derived bool) error {
	raft := map[string]spec.ServerID{}
	for id, addr := range c.peers {
		a, _ := canonicalAddr(addr, false) // checked by parsePeers
		raft[a] = id
	}
	if a, _ := canonicalAddr(c.http, true); raft[a] != spec.None {
		return fmt.Errorf("--http: %s is also the Raft address of server %d in --peers", c.http, raft[a])
	}
	hint := ""
	if derived {
		hint = " (derived from --http; give --http-peers)"
	}
	for id := spec.ServerID(1); int(id) <= len(c.httpPeers); id++ {
		if a, _ := canonicalAddr(c.httpPeers[id], true); raft[a] != spec.None {
			return fmt.Errorf("--http-peers: server %d's HTTP address %s is also the Raft address of server %d%s", id, c.httpPeers[id], raft[a], hint)
		}
	}
	return nil
}

// parsePeers parses "1=host:port,2=host:port,...": ids 1..N, each once,
// every address a host:port of its own.
func parsePeers(flagName, s string) (map[spec.ServerID]string, error) {
	m := map[spec.ServerID]string{}
	seen := map[string]spec.ServerID{} // canonical address -> id
	for _, item := range strings.Split(s, ",") {
		idStr, addr, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return nil, fmt.Errorf("%s: %q is not id=host:port", flagName, item)
		}
		id, err := strconv.Atoi(idStr)
		if err != nil || id < 1 || id > spec.MaxServers {
			return nil, fmt.Errorf("%s: %q: id must be a number in 1..%d", flagName, item, spec.MaxServers)
		}
		canon, err := canonicalAddr(addr, false)
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %w", flagName, item, err)
		}
		if _, dup := m[spec.ServerID(id)]; dup {
			return nil, fmt.Errorf("%s: server %d given twice", flagName, id)
		}
		if other, dup := seen[canon]; dup {
			return nil, fmt.Errorf("%s: servers %d and %d have the same address %s", flagName, other, id, addr)
		}
		m[spec.ServerID(id)], seen[canon] = addr, spec.ServerID(id)
	}
	for id := 1; id <= len(m); id++ {
		if _, ok := m[spec.ServerID(id)]; !ok {
			return nil, fmt.Errorf("%s: ids must be 1..%d without gaps; %d is missing", flagName, len(m), id)
		}
	}
	return m, nil
}

// canonicalAddr checks a host:port: a port in 1..65535 and a host that is
// an IP address or a host name (or empty, for all interfaces, where
// emptyHost). It returns the address in one spelling (lower case, the port
// without leading zeros), to compare addresses.
func canonicalAddr(addr string, emptyHost bool) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			return "", fmt.Errorf("not host:port (%s)", ae.Err)
		}
		return "", fmt.Errorf("not host:port: %w", err)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return "", fmt.Errorf("port %q is not a number in 1..65535", port)
	}
	switch _, ipErr := netip.ParseAddr(host); {
	case host == "" && !emptyHost:
		return "", errors.New("the host is missing")
	case host != "" && ipErr != nil && !isHostName(host):
		return "", fmt.Errorf("host %q is neither an IP address nor a host name", host)
	}
	return net.JoinHostPort(strings.ToLower(host), strconv.FormatUint(n, 10)), nil
}

// isHostName reports whether h is a DNS name: dot-separated labels of 1
// to 63 letters, digits, hyphens or underscores.
func isHostName(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		bad := strings.IndexFunc(label, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
		})
		if label == "" || len(label) > 63 || bad >= 0 {
			return false
		}
	}
	return true
}

// deriveHTTPPeers gives every peer the HTTP port at the same offset from
// its Raft port as this server's. The addresses are valid host:ports.
func deriveHTTPPeers(peers map[spec.ServerID]string, self spec.ServerID, httpAddr string) (map[spec.ServerID]string, error) {
	port := func(addr string) (string, int) {
		host, p, _ := net.SplitHostPort(addr)
		n, _ := strconv.Atoi(p)
		return host, n
	}
	_, raftPort := port(peers[self])
	_, httpPort := port(httpAddr)
	m := map[spec.ServerID]string{self: httpAddr}
	for id, addr := range peers {
		if id == self {
			continue
		}
		host, p := port(addr)
		if p += httpPort - raftPort; p < 1 || p > 65535 {
			return nil, fmt.Errorf("--http-peers: cannot derive the HTTP address of server %d from %q (port %d); give --http-peers", id, addr, p)
		}
		m[id] = net.JoinHostPort(host, strconv.Itoa(p))
	}
	return m, nil
}

// serve runs the server until a signal, or until the node or the HTTP
// server fails.
func serve(c *config, stderr io.Writer) error {
	logger := log.New(stderr, fmt.Sprintf("raftkv %v: ", c.id), log.LstdFlags|log.Lmicroseconds)
	store := kv.NewStore()
	store.Logf = logger.Printf
	ln, err := net.Listen("tcp", c.http)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	defer ln.Close()
	nd, err := node.Start(node.Config{
		// Servers may join later (POST /members): every id is possible.
		ID: c.id, Servers: spec.MaxServers, Initial: spec.Configuration{Voters: c.initial},
		Peers: c.peers, Dir: c.data, StateMachine: store,
		TickInterval: c.tick, SnapshotEntries: c.snapEvery, Logf: logger.Printf,
		TracePath: c.trace, Faults: c.faults,
	})
	if err != nil {
		return fmt.Errorf("starting the Raft node: %w", err)
	}
	kvs := kv.NewServer(nd, store, c.httpPeers)
	kvs.RaftPeers = c.peers
	srv := kv.NewHTTPServer(kvs)
	httpErr := make(chan error, 1)
	go func() { httpErr <- srv.Serve(kv.JSONErrorListener(ln)) }()
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
