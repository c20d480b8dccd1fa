package main

import (
	"errors"
	"flag"
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

func TestParseFlagsErrors(t *testing.T) {
	base := func(extra ...string) []string {
		return append([]string{"--id", "1", "--peers", "1=h:1,2=h:2,3=h:3", "--http", "h:8001", "--data", "d"}, extra...)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--http", "h:1", "--data", "d", "--id", "1"}, "--peers: required"},
		{base("--id", "4"), "--id: 4 is not one of the 3"},
		{base("--id", "0"), "--id"},
		{base("--peers", "1=h:1,1=h:2"), "given twice"},
		{base("--peers", "1=h:1,3=h:3"), "2 is missing"},
		{base("--peers", "1=h"), "missing port"},
		{base("--peers", "x=h:1"), "id must be a number"},
		{base("--peers", "1:h:1"), "not id=host:port"},
		{base("--http", ""), "--http: required"},
		{base("--data", ""), "--data: required"},
		{base("--tick", "0s"), "--tick"},
		{base("--tick", "soon"), "invalid value"},
		{base("--snapshot-entries", "0"), "--snapshot-entries"},
		{base("--http-peers", "1=h:1"), "--http-peers: 1 servers"},
		{base("--http", "h:http"), "derive"},
		{base("--bogus"), "not defined"},
		{base("extra"), "unexpected argument"},
	} {
		_, err := parseFlags(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error containing %q", tc.args, err, tc.want)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: multi-line error %q", tc.args, err)
		}
	}
}
