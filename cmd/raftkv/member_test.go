package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/raftcheck/raftcheck/impl/kv"
)

// TestBinaryMembership runs raftkv as child processes: servers 1-3 with
// --initial-cluster 1,2,3, server 4 with --join. Server 4 refuses client
// requests until POST /members adds it; then the leader is removed with
// DELETE, and the three left serve every write acknowledged before.
func TestBinaryMembership(t *testing.T) {
	c := newProcCluster(t, buildRaftkv(t), 4)
	c.extra = func(i int) []string {
		if i == 3 {
			return []string{"--initial-cluster", "1,2,3", "--join"}
		}
		return []string{"--initial-cluster", "1,2,3"}
	}
	for i := range 4 {
		c.start(i)
	}
	l := c.waitLeader()
	if code, body, _ := request("PUT", "http://"+c.http[3]+"/kv/early", "x"); code != http.StatusServiceUnavailable ||
		!strings.Contains(body, "server 4 is not a member of the cluster's configuration {S1,S2,S3}") {
		t.Fatalf("PUT on the server not yet added: %d %s", code, body)
	}
	if code, body, err := request("PUT", "http://"+c.http[l]+"/kv/a", "1"); code != http.StatusNoContent {
		t.Fatalf("PUT a: %d %s %v", code, body, err)
	}
	add := fmt.Sprintf(`{"id":4,"raft":%q,"http":%q}`, c.raft[3], c.http[3])
	m := members(t, "POST", "http://"+c.http[(l+1)%3]+"/members", add) // through a follower's 307
	if m.Configuration != "{S1,S2,S3,S4}" || m.Members[3].Raft != c.raft[3] || m.Members[0].Raft != c.raft[0] {
		t.Fatalf("after POST: %+v", m)
	}
	m = members(t, "DELETE", fmt.Sprintf("http://%s/members/%d", c.http[l], l+1), "")
	if m.Members == nil || len(m.Voters) != 3 {
		t.Fatalf("after DELETE of the leader S%d: %+v", l+1, m)
	}
	c.kill(l)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		code, body, _ := request("GET", "http://"+c.http[3]+"/kv/a", "")
		if code == http.StatusOK && body == "1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET a through S4 after the leader's removal: %d %s", code, body)
		}
	}
}

// members sends an admin request (following redirects) and decodes the
// 200 answer, retrying for up to 20 s while no leader is known (a loaded
// machine may delay heartbeats into an election).
func members(t *testing.T, method, url, body string) kv.MembersJSON {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		code, resp, err := request(method, url, body)
		var m kv.MembersJSON
		if err == nil && code == http.StatusOK && json.Unmarshal([]byte(resp), &m) == nil {
			return m
		}
		if code != http.StatusServiceUnavailable || !strings.Contains(resp, "no leader known") || time.Now().After(deadline) {
			t.Fatalf("%s %s: %d %s %v", method, url, code, resp, err)
		}
	}
}
