package kv

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/spec"
)

func decodeMembers(t *testing.T, body []byte) MembersJSON {
	t.Helper()
	var m MembersJSON
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("members JSON %q: %v", body, err)
	}
	return m
}

// TestMembersAddAndRemove: POST adds a learner, then promotes it; DELETE
// removes; GET shows the configuration with the replicated addresses.
func TestMembersAddAndRemove(t *testing.T) {
	f, s := newFake(spec.Leader, 1)
	w := do(t, s, "POST", "/members", `{"id": 3, "raft": "h3:7003", "http": "h3:8003"}`)
	if w.Code != http.StatusOK {
		t.Fatalf("POST: %d %s", w.Code, w.Body)
	}
	m := decodeMembers(t, w.Body.Bytes())
	if m.Configuration != "{S1,S2,S3}" || fmt.Sprint(m.Voters) != "[S1 S2 S3]" || m.Joint || m.Leader != 1 || len(m.Members) != 3 ||
		m.Members[2] != (MemberJSON{ID: 3, Role: "voter", Raft: "h3:7003", HTTP: "h3:8003"}) {
		t.Fatalf("after POST: %+v", m)
	}
	want := []raft.ConfChange{{Kind: spec.AddLearner, Target: 3}, {Kind: spec.AddServer, Target: 3}}
	if fmt.Sprint(f.changes) != fmt.Sprint(want) {
		t.Fatalf("changes %v, want %v", f.changes, want)
	}
	if a, ok := s.store.Addresses(3); !ok || a.HTTP != "h3:8003" {
		t.Fatalf("address table: %+v %v", a, ok)
	}
	w = do(t, s, "DELETE", "/members/2", "")
	if m := decodeMembers(t, w.Body.Bytes()); w.Code != 200 || m.Configuration != "{S1,S3}" {
		t.Fatalf("DELETE: %d %s", w.Code, w.Body)
	}
	f.st.Config.Learners = 1 << 4 // S5 a learner: shown as such
	w = do(t, s, "GET", "/members", "")
	if m := decodeMembers(t, w.Body.Bytes()); w.Code != 200 || fmt.Sprint(m.Learners) != "[S5]" || m.Members[2].Role != "learner" {
		t.Fatalf("GET: %d %s", w.Code, w.Body)
	}
}

// TestMembersBadRequests: every bad request gets its status and a JSON
// error, and changes neither the configuration nor the address table.
func TestMembersBadRequests(t *testing.T) {
	inProgress := func(context.Context, raft.ConfChange) error {
		return fmt.Errorf("raft: S1: propose: %w", raft.ErrChangeInProgress)
	}
	for _, tc := range []struct {
		name, method, path, body string
		setup                    func(f *fakeRaft)
		code                     int
		want                     string
	}{
		{"malformed body", "POST", "/members", `{"id": 3,`, nil, 400, "body: unexpected EOF"},
		{"unknown field", "POST", "/members", `{"id": 3, "raft": "h:1", "http": "h:2", "x": 1}`, nil, 400, `unknown field "x"`},
		{"two values", "POST", "/members", `{"id": 3, "raft": "h:1", "http": "h:2"} {}`, nil, 400, "more than one JSON value"},
		{"id 0", "POST", "/members", `{"raft": "h:1", "http": "h:2"}`, nil, 400, "id: 0 is not a server id in 1..7"},
		{"id 8", "POST", "/members", `{"id": 8, "raft": "h:1", "http": "h:2"}`, nil, 400, "id: 8 is not a server id"},
		{"bad raft address", "POST", "/members", `{"id": 3, "raft": "h", "http": "h:2"}`, nil, 400, `raft: "h": not host:port`},
		{"bad http port", "POST", "/members", `{"id": 3, "raft": "h:1", "http": "h:0"}`, nil, 400, `http: "h:0": port "0" is not`},
		{"missing http", "POST", "/members", `{"id": 3, "raft": "h:1"}`, nil, 400, "http: missing (the new server's HTTP address, host:port)"},
		{"same addresses", "POST", "/members", `{"id": 3, "raft": "h:1", "http": "h:1"}`, nil, 400, "raft and http are the same address"},
		{"already a voter", "POST", "/members", `{"id": 2, "raft": "h:1", "http": "h:2"}`, nil, 409, "server 2 is already a member (a voter) of {S1,S2}"},
		{"already a learner", "POST", "/members", `{"id": 3, "raft": "h:1", "http": "h:2"}`,
			func(f *fakeRaft) { f.st.Config.Learners = 0b100 }, 409, "server 3 is already a member (a learner)"},
		{"address of a member", "POST", "/members", `{"id": 3, "raft": "h:1", "http": "h2:8002"}`, nil, 409, "already that of member 2"},
		{"pending change", "POST", "/members", `{"id": 3, "raft": "h:1", "http": "h:2"}`,
			func(f *fakeRaft) { f.st.ConfigPending = true }, 409, "configuration {S1,S2} is not committed yet"},
		{"joint", "DELETE", "/members/2", "",
			func(f *fakeRaft) { f.st.Config.Outgoing = 0b111 }, 409, "a joint configuration change is in progress"},
		{"refused by the core", "POST", "/members", `{"id": 3, "raft": "h:1", "http": "h:2"}`,
			func(f *fakeRaft) { f.change = inProgress }, 409, "adding server 3 as a learner: raft: S1: propose: a configuration change is still uncommitted"},
		{"unknown id", "DELETE", "/members/5", "", nil, 404, "server 5 is not a member of {S1,S2}"},
		{"bad id", "DELETE", "/members/x", "", nil, 400, `/members/x: "x" is not a server id in 1..7`},
		{"id 08", "DELETE", "/members/08", "", nil, 400, `"08" is not a server id`},
		{"last voter", "DELETE", "/members/1", "",
			func(f *fakeRaft) { f.st.Config.Voters = 1 }, 409, "server 1 is the last voter of {S1}"},
		{"no leader", "DELETE", "/members/2", "", func(f *fakeRaft) { f.st.Role, f.st.Leader = spec.Follower, 0 }, 503, "no leader known"},
		{"method", "PUT", "/members", "", nil, 405, "method PUT is not allowed on /members; allowed: GET, HEAD, POST"},
		{"method on id", "GET", "/members/2", "", nil, 405, "allowed: DELETE"},
	} {
		f, s := newFake(spec.Leader, 1)
		if tc.setup != nil {
			tc.setup(f)
		}
		before := f.st.Config
		w := do(t, s, tc.method, tc.path, tc.body)
		var e ErrorJSON
		if w.Code != tc.code || w.Header().Get("Content-Type") != "application/json" ||
			json.Unmarshal(w.Body.Bytes(), &e) != nil || !strings.Contains(e.Error, tc.want) {
			t.Errorf("%s: %s %s: %d %s, want %d with %q", tc.name, tc.method, tc.path, w.Code, w.Body, tc.code, tc.want)
		}
		if f.st.Config != before || len(f.changes) != 0 || len(s.store.AddressTable()) != 0 {
			t.Errorf("%s: changed the configuration to %v (changes %v) or the address table to %v", tc.name, f.st.Config, f.changes, s.store.AddressTable())
		}
	}
}

// TestMembersNotLeader: a follower redirects changes to the leader with
// 307 (method and body kept); a server outside its configuration refuses
// client requests with 503.
func TestMembersNotLeader(t *testing.T) {
	f, s := newFake(spec.Follower, 2)
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/members", `{"id": 3, "raft": "h:1", "http": "h:2"}`}, {"DELETE", "/members/2", ""},
	} {
		w := do(t, s, r.method, r.path, r.body)
		if w.Code != http.StatusTemporaryRedirect || w.Header().Get("Location") != "http://h2:8002"+r.path {
			t.Errorf("%s %s on a follower: %d, Location %q", r.method, r.path, w.Code, w.Header().Get("Location"))
		}
	}
	f.st.Config = spec.Configuration{Voters: 0b110} // S1 was removed
	w := do(t, s, "PUT", "/kv/k", "v")
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "server 1 is not a member of the cluster's configuration {S2,S3}") {
		t.Errorf("PUT on a removed server: %d %s", w.Code, w.Body)
	}
}
