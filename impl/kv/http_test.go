package kv

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/raftcheck/raftcheck/spec"
)

// serve starts a real HTTP server for h as raftkv runs one: NewHTTPServer
// on a JSONErrorListener.
func serve(h http.Handler) *httptest.Server {
	ts := httptest.NewUnstartedServer(h)
	ts.Config = NewHTTPServer(h)
	ts.Listener = JSONErrorListener(ts.Listener)
	ts.Start()
	return ts
}

// noFollow is a client that shows redirects instead of following them.
var noFollow = &http.Client{
	Timeout:       5 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// rawRequest sends raw, the bytes of one HTTP request, on a new
// connection to ts, and returns the response with its body read.
func rawRequest(t *testing.T, ts *httptest.Server, raw string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatalf("writing the request: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the response to %.60q: %v", raw, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body of the response to %.60q: %v", raw, err)
	}
	return resp, string(b)
}

// checkErrorJSON fails unless resp is a code response whose body is
// exactly {"error": msg} with msg containing want.
func checkErrorJSON(t *testing.T, what string, resp *http.Response, body string, code int, want string) {
	t.Helper()
	if resp.StatusCode != code || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("%s: %d %q %q, want %d application/json", what, resp.StatusCode, resp.Header.Get("Content-Type"), body, code)
		return
	}
	var e ErrorJSON
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || !strings.Contains(e.Error, want) || dec.More() {
		t.Errorf("%s: body %q (%v), want {\"error\": \"...%s...\"}", what, body, err, want)
	}
}

// request builds a raw request with the given request line, extra header
// lines and body.
func request(line string, headers []string, body string) string {
	h := append([]string{line, "Host: kv", "Connection: close"}, headers...)
	return strings.Join(h, "\r\n") + "\r\n\r\n" + body
}

// TestHTTPErrorsAreJSON sends real requests that fail in each way and
// checks that every answer is JSON {"error": ...} with the right status,
// including the ones net/http writes before any handler runs.
func TestHTTPErrorsAreJSON(t *testing.T) {
	_, s := newFake(spec.Leader, 1)
	s.MaxValue = 4
	ts := serve(s)
	defer ts.Close()
	long := strings.Repeat("k", MaxKeyBytes+1)
	for _, tc := range []struct {
		raw   string
		code  int
		want  string
		allow string // the Allow header of a 405
	}{
		{request("GET /nope HTTP/1.1", nil, ""), 404, `no such path "/nope"`, ""},
		{request("GET /kv HTTP/1.1", nil, ""), 404, "no such path", ""},
		{request("GET /k%76/x HTTP/1.1", nil, ""), 404, "no such path", ""},
		{request("GET /kv/absent HTTP/1.1", nil, ""), 404, "no such key", ""},
		{request("POST /kv/x HTTP/1.1", []string{"Content-Length: 1"}, "v"), 405, "method POST is not allowed on /kv/{key}", "DELETE, GET, HEAD, PUT"},
		{request("PATCH /kv/ HTTP/1.1", nil, ""), 405, "method PATCH", "DELETE, GET, HEAD, PUT"},
		{request("PUT /status HTTP/1.1", []string{"Content-Length: 0"}, ""), 405, "not allowed on /status", "GET, HEAD"},
		{request("PUT /kv/ HTTP/1.1", []string{"Content-Length: 1"}, "v"), 400, "empty key", ""},
		{request("GET /kv/ HTTP/1.1", nil, ""), 400, "empty key", ""},
		{request("PUT /kv/k HTTP/1.1", []string{"Content-Length: 1", HeaderClient + ": 7"}, "v"), 400, HeaderSeq, ""},
		{request("PUT /kv/k HTTP/1.1", []string{"Content-Length: 5"}, "12345"), 413, "value is 5 bytes; the limit is 4", ""},
		{request("PUT /kv/k HTTP/1.1", []string{"Transfer-Encoding: chunked"}, "5\r\n12345\r\n0\r\n\r\n"), 413, "more than the limit of 4 bytes", ""},
		{request("GET /kv/"+long+" HTTP/1.1", nil, ""), 414, fmt.Sprintf("key is %d bytes; the limit is %d", MaxKeyBytes+1, MaxKeyBytes), ""},
		{request("DELETE /kv/"+strings.Repeat("%41", MaxKeyBytes+1)+" HTTP/1.1", nil, ""), 414, fmt.Sprintf("key is %d bytes", MaxKeyBytes+1), ""},
		// Answered by net/http itself, rewritten by JSONErrorListener.
		{request("GET /kv/x HTTP/1.1", []string{"X-Big: " + strings.Repeat("b", MaxHeaderBytes+4096)}, ""), 431, fmt.Sprintf("more than %d bytes", MaxHeaderBytes), ""},
		{request("GET /kv/%zz HTTP/1.1", nil, ""), 400, "malformed request", ""},
		{"GET /kv/x HTTP/1.1\r\n\r\n", 400, "missing required Host header", ""},
		{request("GET /kv/x HTTP/1.1", []string{"Bad Header: x"}, ""), 400, "invalid header name", ""},
		{request("PUT /kv/x HTTP/1.1", []string{"Transfer-Encoding: gzip"}, ""), 501, "Unsupported transfer encoding", ""},
		{request("GET /kv/x HTTP/2.0", nil, ""), 505, "unsupported protocol version", ""},
		{request("PUT /kv/x HTTP/1.1", []string{"Expect: coffee", "Content-Length: 1"}, "v"), 417, "only 100-continue", ""},
	} {
		what := fmt.Sprintf("%.70q", tc.raw)
		resp, body := rawRequest(t, ts, tc.raw)
		checkErrorJSON(t, what, resp, body, tc.code, tc.want)
		if got := resp.Header.Get("Allow"); got != tc.allow {
			t.Errorf("%s: Allow %q, want %q", what, got, tc.allow)
		}
	}
}

// TestHTTP431FromClient: a Go client with a huge header gets the JSON 431
// too (net/http answers it while the client may still be writing).
func TestHTTP431FromClient(t *testing.T) {
	_, s := newFake(spec.Leader, 1)
	ts := serve(s)
	defer ts.Close()
	req, _ := http.NewRequest("GET", ts.URL+"/kv/x", nil)
	req.Header.Set("X-Big", strings.Repeat("b", 2*MaxHeaderBytes))
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	checkErrorJSON(t, "huge header", resp, string(b), http.StatusRequestHeaderFieldsTooLarge, "request line and headers")
}

// TestHTTPServiceErrorsAreJSON: 503 without a leader, 503 when a command
// does not commit in time (also when the node does not even take the
// proposal in time), 500 when the node fails otherwise.
func TestHTTPServiceErrorsAreJSON(t *testing.T) {
	stuck := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	for _, tc := range []struct {
		what    string
		role    spec.Role
		commit  bool
		propose func(context.Context) error
		code    int
		want    string
	}{
		{"no leader", spec.Candidate, true, nil, 503, "no leader known"},
		{"not committed", spec.Leader, false, nil, 503, "outcome is unknown"},
		{"proposal not taken", spec.Leader, true, stuck, 503, "outcome is unknown"},
		{"node failure", spec.Leader, true, func(context.Context) error { return errors.New("disk on fire") }, 500, "disk on fire"},
	} {
		f, s := newFake(tc.role, spec.None)
		f.commit, f.propose, s.Timeout = tc.commit, tc.propose, 50*time.Millisecond
		ts := serve(s)
		for _, m := range []string{"PUT", "GET", "DELETE"} {
			req, _ := http.NewRequest(m, ts.URL+"/kv/x", strings.NewReader("v"))
			resp, err := noFollow.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			checkErrorJSON(t, tc.what+": "+m, resp, string(b), tc.code, tc.want)
		}
		ts.Close()
	}
}

// storedKeys lists the keys in st.
func storedKeys(st *Store) []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	var keys []string
	for k := range st.data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// keyPaths are request paths and the keys they name: the escaped path is
// taken as it is, never cleaned, and unescaped once.
var keyPaths = []struct{ path, key string }{
	{"/kv/a//b", "a//b"},
	{"/kv/x/../y", "x/../y"},
	{"/kv/x/./y/", "x/./y/"},
	{"/kv/p%2Fq", "p/q"},
	{"/kv/x/%2E%2E/z", "x/../z"},
	{"/kv/%C3%A4%20%3F%25", "ä ?%"},
	{"/kv/" + strings.Repeat("%41", MaxKeyBytes), strings.Repeat("A", MaxKeyBytes)},
}

// TestHTTPKeysFromEscapedPath: PUT, GET and DELETE on paths that
// http.ServeMux would clean and redirect (301) reach the literal key.
func TestHTTPKeysFromEscapedPath(t *testing.T) {
	f, s := newFake(spec.Leader, 1)
	ts := serve(s)
	defer ts.Close()
	for _, kp := range keyPaths {
		val := "value of " + kp.path
		if code, body := clientDo(t, "PUT", ts.URL+kp.path, val); code != http.StatusNoContent {
			t.Fatalf("PUT %s: %d %s", kp.path, code, body)
		}
		if keys := storedKeys(f.store); !slices.Equal(keys, []string{kp.key}) {
			t.Fatalf("PUT %s stored the keys %q, want %q", kp.path, keys, kp.key)
		}
		if code, body := clientDo(t, "GET", ts.URL+kp.path, ""); code != http.StatusOK || body != val {
			t.Fatalf("GET %s: %d %q", kp.path, code, body)
		}
		if code, body := clientDo(t, "DELETE", ts.URL+kp.path, ""); code != http.StatusNoContent || f.store.Len() != 0 {
			t.Fatalf("DELETE %s: %d %s, %d keys left", kp.path, code, body, f.store.Len())
		}
	}
}

// clientDo sends a request with the noFollow client.
func clientDo(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	resp := clientResp(t, method, url, body)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b)
}

func clientResp(t *testing.T, method, url, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp
}

// redirected sends a request to a follower, checks that it answers 307
// with the leader's URL and the same escaped path, and sends the request
// again there.
func (c *kvCluster) redirected(t *testing.T, follower, leader int, method, path, body string) (int, string) {
	t.Helper()
	resp := clientResp(t, method, c.https[follower].URL+path, body)
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusTemporaryRedirect || loc != c.https[leader].URL+path {
		t.Fatalf("%s %s on a follower: %d Location %q, want 307 to %s", method, path, resp.StatusCode, loc, c.https[leader].URL+path)
	}
	return clientDo(t, method, resp.Header.Get("Location"), body)
}

// TestClusterKeysThroughRedirects: on a real cluster, a follower's 307
// keeps the escaped path exactly, so the leader stores, reads and deletes
// the literal key.
func TestClusterKeysThroughRedirects(t *testing.T) {
	c := newKVCluster(t, 5*time.Millisecond)
	l := c.leader(t)
	f := (l + 1) % 3
	for _, kp := range keyPaths {
		val := "value of " + kp.path
		if code, body := c.redirected(t, f, l, "PUT", kp.path, val); code != http.StatusNoContent {
			t.Fatalf("PUT %s at the leader: %d %s", kp.path, code, body)
		}
		if keys := storedKeys(c.stores[l]); !slices.Equal(keys, []string{kp.key}) {
			t.Fatalf("PUT %s stored the keys %q, want %q", kp.path, keys, kp.key)
		}
		if code, body := c.redirected(t, f, l, "GET", kp.path, ""); code != http.StatusOK || body != val {
			t.Fatalf("GET %s at the leader: %d %q", kp.path, code, body)
		}
		if code, body := c.redirected(t, f, l, "DELETE", kp.path, ""); code != http.StatusNoContent || c.stores[l].Len() != 0 {
			t.Fatalf("DELETE %s at the leader: %d %s, %d keys left", kp.path, code, body, c.stores[l].Len())
		}
	}
	// Go's client resolves dot segments when it follows a redirect; escaped
	// dots pass through.
	if code, body := httpDo(t, "PUT", c.https[f].URL+"/kv/x/%2E%2E/z", "v"); code != http.StatusNoContent {
		t.Fatalf("PUT following the redirect: %d %s", code, body)
	}
	if keys := storedKeys(c.stores[l]); !slices.Equal(keys, []string{"x/../z"}) {
		t.Fatalf("PUT following the redirect stored %q, want x/../z", keys)
	}
}
