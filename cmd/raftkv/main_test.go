package main

import (
	"bytes"
	"errors"
	"flag"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/raftcheck/raftcheck/spec"
)

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"--id", "2", "--peers", "1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003",
		"--http", "127.0.0.1:8002", "--data", "/tmp/x"})
	if err != nil {
		t.Fatal(err)
	}
	if c.id != 2 || len(c.peers) != 3 || c.peers[3] != "127.0.0.1:7003" || c.data != "/tmp/x" || c.snapEvery != 10000 {
		t.Fatalf("config %+v", c)
	}
	want := map[spec.ServerID]string{1: "127.0.0.1:8001", 2: "127.0.0.1:8002", 3: "127.0.0.1:8003"}
	for id, addr := range want {
		if c.httpPeers[id] != addr {
			t.Fatalf("derived HTTP peers %v, want %v", c.httpPeers, want)
		}
	}
	c, err = parseFlags([]string{"--id", "1", "--peers", "1=a:1,2=b:2", "--http", "h:80", "--data", "d",
		"--http-peers", "2=y:90,1=x:80"})
	if err != nil || c.httpPeers[2] != "y:90" {
		t.Fatalf("explicit HTTP peers: %+v, %v", c, err)
	}
	if _, err := parseFlags([]string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
}

// runCmd runs the command's main logic as main does.
func runCmd(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestBadFlags: every bad flag exits 2 with exactly one line on stderr
// that names the flag and the problem, and nothing on stdout.
func TestBadFlags(t *testing.T) {
	base := func(extra ...string) []string {
		return append([]string{"--id", "1", "--peers", "1=h:1,2=h:2,3=h:3", "--http", "h:8001", "--data", "d"}, extra...)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		// Missing required flags.
		{[]string{"--http", "h:1", "--data", "d", "--id", "1"}, "--peers: required"},
		{[]string{"--peers", "1=h:1", "--http", "h:2", "--data", "d"}, "--id: required"},
		{[]string{"--id", "1", "--peers", "1=h:1", "--data", "d"}, "--http: required"},
		{base("--data", ""), "--data: required"},
		{nil, "--id: required"},
		// Ids.
		{base("--id", "4"), "--id: 4 is not one of the servers of --peers (1..3)"},
		{base("--id", "0"), "--id: 0 is not one of the servers"},
		{base("--id", "x"), `invalid value "x" for flag -id`},
		{base("--peers", "1=h:1,1=h:2"), "--peers: server 1 given twice"},
		{base("--peers", "1=h:1,3=h:3"), "--peers: ids must be 1..2 without gaps; 2 is missing"},
		{base("--peers", "x=h:1"), "--peers: \"x=h:1\": id must be a number in 1..7"},
		{base("--peers", "1:h:1"), "--peers: \"1:h:1\" is not id=host:port"},
		// Addresses.
		{base("--peers", "1=h:1,2=h:1"), "--peers: servers 1 and 2 have the same address h:1"},
		{base("--peers", "1=h:1,2=H:01"), "--peers: servers 1 and 2 have the same address H:01"},
		{base("--peers", "1=h"), "--peers: \"1=h\": not host:port (missing port in address)"},
		{base("--peers", "1=h:1,2=:2"), "--peers: \"2=:2\": the host is missing"},
		{base("--peers", "1=h:1,2=h:70000"), `--peers: "2=h:70000": port "70000" is not a number in 1..65535`},
		{base("--peers", "1=h:1,2=a b:2"), `--peers: "2=a b:2": host "a b" is neither an IP address nor a host name`},
		{base("--http", "127.0.0.1:99999"), `--http: "127.0.0.1:99999": port "99999" is not a number in 1..65535`},
		{base("--http", "nonsense"), `--http: "nonsense": not host:port (missing port in address)`},
		{base("--http", "h:0"), `--http: "h:0": port "0" is not`},
		{base("--http", "h:http"), `--http: "h:http": port "http" is not`},
		{base("--http", "h:-1"), `--http: "h:-1": port "-1" is not`},
		{base("--http", "[::1:80"), `--http: "[::1:80": not host:port`},
		{base("--http", "h:2"), "--http: h:2 is also the Raft address of server 2 in --peers"},
		{base("--http-peers", "1=x:1,2=x:1,3=x:3"), "--http-peers: servers 1 and 2 have the same address x:1"},
		{base("--http-peers", "1=x:1,2=x:2,3=h:3"), "--http-peers: server 3's HTTP address h:3 is also the Raft address of server 3"},
		{base("--http-peers", "1=x:1,2=x:99999,3=x:3"), `--http-peers: "2=x:99999": port`},
		{base("--http-peers", "1=h:1"), "--http-peers: 1 servers, but --peers has 3"},
		{base("--peers", "1=h:1,2=h:65535", "--http", "h:8001"), "--http-peers: cannot derive the HTTP address of server 2"},
		{base("--peers", "1=h:1,2=h:5,3=h:6", "--http", "h:2"), "--http-peers: server 2's HTTP address h:6 is also the Raft address of server 3 (derived from --http; give --http-peers)"},
		// Other values and arguments.
		{base("--tick", "0s"), "--tick: 0s is not a positive duration"},
		{base("--tick", "soon"), `invalid value "soon" for flag -tick`},
		{base("--snapshot-entries", "0"), "--snapshot-entries: 0 (want a positive count, or -1 for never)"},
		{base("--snapshot-entries", "many"), "for flag -snapshot-entries"},
		{base("--version=maybe"), `invalid boolean value "maybe" for -version`},
		{base("--data"), "flag needs an argument: -data"},
		{base("--bogus"), "flag provided but not defined: -bogus"},
		{base("extra"), `unexpected argument "extra"`},
		{[]string{"--version", "extra"}, `unexpected argument "extra"`},
	} {
		code, stdout, stderr := runCmd(tc.args...)
		if code != exitUsage || stdout != "" {
			t.Errorf("%q: exit %d, stdout %q; want exit 2 and nothing on stdout", tc.args, code, stdout)
		}
		if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") ||
			!strings.HasPrefix(stderr, "raftkv: ") || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: stderr %q, want one line containing %q", tc.args, stderr, tc.want)
		}
	}
}

// TestGoodAddresses: IPv6, host names and an empty --http host (all
// interfaces) are accepted.
func TestGoodAddresses(t *testing.T) {
	c, err := parseFlags([]string{"--id", "2", "--peers", "1=[::1]:7001,2=Node-2.example.com:7002,3=10.0.0.3:7003",
		"--http", ":8002", "--data", "d"})
	if err != nil {
		t.Fatal(err)
	}
	if c.httpPeers[1] != "[::1]:8001" || c.httpPeers[3] != "10.0.0.3:8003" || c.httpPeers[2] != ":8002" {
		t.Fatalf("derived HTTP peers %v", c.httpPeers)
	}
}

// TestHelp: -h prints the usage on stdout and exits 0.
func TestHelp(t *testing.T) {
	for _, h := range []string{"-h", "--help"} {
		code, stdout, stderr := runCmd(h)
		if code != exitOK || stdout != usage || stderr != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", h, code, stdout, stderr)
		}
	}
}

// TestVersion: --version prints one line from the build info and exits 0.
func TestVersion(t *testing.T) {
	code, stdout, stderr := runCmd("--version")
	if code != exitOK || stderr != "" || strings.Count(stdout, "\n") != 1 ||
		!strings.HasPrefix(stdout, "raftkv github.com/raftcheck/raftcheck ") {
		t.Fatalf("--version: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	bi := &debug.BuildInfo{Main: debug.Module{Path: "example.com/m", Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "83a926a0123456789abcdef0123456789abcdef0"},
		{Key: "vcs.time", Value: "2026-12-02T10:20:00Z"}, {Key: "vcs.modified", Value: "true"}, {Key: "-race", Value: "true"},
	}}
	for _, tc := range []struct {
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{bi, true, "raftkv example.com/m (devel) 83a926a 2026-12-02T10:20:00Z dirty"},
		{&debug.BuildInfo{Main: bi.Main, Settings: bi.Settings[:2]}, true, "raftkv example.com/m (devel) 83a926a 2026-12-02T10:20:00Z"},
		{&debug.BuildInfo{Main: debug.Module{Path: "example.com/m", Version: "v1.2.3"}}, true, "raftkv example.com/m v1.2.3"},
		{nil, false, "raftkv (no build information)"},
	} {
		if got := versionLine(tc.bi, tc.ok); got != tc.want {
			t.Errorf("versionLine: %q, want %q", got, tc.want)
		}
	}
}

// TestMembershipFlags: --initial-cluster and --join set the initial
// configuration; bad combinations are one-line errors.
func TestMembershipFlags(t *testing.T) {
	peers := "1=h:1,2=h:2,3=h:3,4=h:4"
	parse := func(extra ...string) (*config, error) {
		return parseFlags(append([]string{"--peers", peers, "--http", "h:8001", "--data", "d"}, extra...))
	}
	for _, tc := range []struct {
		args    []string
		initial spec.Members
		join    bool
	}{
		{[]string{"--id", "1"}, 0b1111, false},
		{[]string{"--id", "2", "--initial-cluster", "1,2,3"}, 0b0111, false},
		{[]string{"--id", "4", "--join"}, 0b0111, true},
		{[]string{"--id", "4", "--join", "--initial-cluster", "1, 2"}, 0b0011, true},
	} {
		c, err := parse(tc.args...)
		if err != nil || c.initial != tc.initial || c.join != tc.join {
			t.Errorf("%q: %+v, %v; want initial %v join %v", tc.args, c, err, tc.initial, tc.join)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--id", "4", "--initial-cluster", "1,2,3"}, "--initial-cluster: server 4 is not in {S1,S2,S3}; give --join to start it as a new server"},
		{[]string{"--id", "1", "--join", "--initial-cluster", "1,2"}, "--join: server 1 is in --initial-cluster {S1,S2}; a joining server is not"},
		{[]string{"--id", "1", "--initial-cluster", "1,5"}, `--initial-cluster: "5" is not the id of a server of --peers (1..4)`},
		{[]string{"--id", "1", "--initial-cluster", "1,1"}, "--initial-cluster: server 1 given twice"},
		{[]string{"--id", "1", "--initial-cluster", "1,x"}, `--initial-cluster: "x" is not the id`},
	} {
		if _, err := parse(tc.args...); err == nil || err.Error() != tc.want && !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.args, err, tc.want)
		}
	}
	if _, err := parseFlags([]string{"--id", "1", "--peers", "1=h:1", "--http", "h:2", "--data", "d", "--join"}); err == nil ||
		err.Error() != "--join: --peers has no other server to join" {
		t.Errorf("--join alone: %v", err)
	}
}
