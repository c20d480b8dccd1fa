package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/raftcheck/raftcheck/impl/kv"
)

// noFollow shows redirects instead of following them.
var noFollow = &http.Client{
	Timeout:       client.Timeout,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// send makes one request; header, when set, is the value of a header
// X-Pad (to make the request too large).
func send(t *testing.T, method, url, header, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if header != "" {
		req.Header.Set("X-Pad", header)
	}
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatalf("%s %.80s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestBinaryHTTPErrorsAndKeys runs a one-server raftkv and checks that it
// answers errors with JSON, including the 431 that net/http writes itself,
// and that keys are the literal escaped path.
func TestBinaryHTTPErrorsAndKeys(t *testing.T) {
	c := newProcCluster(t, buildRaftkv(t), 1)
	c.start(0)
	c.waitLeader()
	base := "http://" + c.http[0]
	for _, tc := range []struct {
		method, path, header, body string
		code                       int
		want                       string
	}{
		{"GET", "/nope", "", "", 404, `no such path "/nope"`},
		{"GET", "/kv/absent", "", "", 404, "no such key"},
		{"POST", "/kv/x", "", "v", 405, "method POST is not allowed on /kv/{key}"},
		{"PUT", "/kv/", "", "v", 400, "empty key"},
		{"GET", "/kv/" + strings.Repeat("k", 1025), "", "", 414, "key is 1025 bytes; the limit is 1024"},
		{"PUT", "/kv/big", "", strings.Repeat("v", 1<<20+1), 413, "value is 1048577 bytes; the limit is 1048576"},
		{"GET", "/kv/x", strings.Repeat("h", 80<<10), "", 431, "the request line and headers are more than 65536 bytes"},
	} {
		resp, body := send(t, tc.method, base+tc.path, tc.header, tc.body)
		var e kv.ErrorJSON
		if resp.StatusCode != tc.code || resp.Header.Get("Content-Type") != "application/json" ||
			json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Error, tc.want) {
			t.Errorf("%s %.40s: %d %q %q, want %d JSON with %q", tc.method, tc.path, resp.StatusCode,
				resp.Header.Get("Content-Type"), body, tc.code, tc.want)
		}
	}
	if resp, _ := send(t, "POST", base+"/kv/x", "", ""); resp.Header.Get("Allow") != "DELETE, GET, HEAD, PUT" {
		t.Errorf("405 Allow %q", resp.Header.Get("Allow"))
	}
	for _, kp := range []struct{ path, cleaned string }{{"/kv/a//b", "/kv/a/b"}, {"/kv/x/../y", "/kv/y"}, {"/kv/p%2Fq", "/kv/p"}} {
		steps := []struct {
			method, path, body string
			code               int
		}{
			{"PUT", kp.path, "v", 204}, {"GET", kp.path, "", 200}, {"GET", kp.cleaned, "", 404},
			{"DELETE", kp.path, "", 204}, {"GET", kp.path, "", 404},
		}
		for _, s := range steps {
			if resp, body := send(t, s.method, base+s.path, "", s.body); resp.StatusCode != s.code || s.code == 200 && body != "v" {
				t.Errorf("%s %s: %d %q, want %d", s.method, s.path, resp.StatusCode, body, s.code)
			}
		}
	}
}

// TestBinaryVersion: the built binary's --version line is its build info
// as `go version -m` reads it.
func TestBinaryVersion(t *testing.T) {
	bin := buildRaftkv(t)
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("--version: %v", err)
	}
	line := strings.TrimSuffix(string(out), "\n")
	if strings.Contains(line, "\n") {
		t.Fatalf("--version printed %q, want one line", out)
	}
	info, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"raftkv"}
	dirty := false
	for _, l := range strings.Split(string(info), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) >= 3 && f[0] == "mod":
			want = append(want, f[1], f[2])
		case len(f) == 2 && strings.HasPrefix(f[1], "vcs.revision="):
			want = append(want, strings.TrimPrefix(f[1], "vcs.revision=")[:7])
		case len(f) == 2 && strings.HasPrefix(f[1], "vcs.time="):
			want = append(want, strings.TrimPrefix(f[1], "vcs.time="))
		case len(f) == 2 && f[1] == "vcs.modified=true":
			dirty = true
		}
	}
	if dirty {
		want = append(want, "dirty")
	}
	if line != strings.Join(want, " ") {
		t.Fatalf("--version: %q, want %q (from go version -m:\n%s)", line, strings.Join(want, " "), info)
	}
}

// TestBinaryExitStatuses: the built binary exits 2 with one line for a
// bad flag, and 0 with the usage on stdout for -h.
func TestBinaryExitStatuses(t *testing.T) {
	bin := buildRaftkv(t)
	var stdout, stderr strings.Builder
	cmd := exec.Command(bin, "--id", "1", "--peers", "1=127.0.0.1:7001", "--http", "127.0.0.1:99999", "--data", t.TempDir())
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	var ee *exec.ExitError
	if err := cmd.Run(); !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("bad --http: %v, want exit status 2", err)
	}
	if want := "raftkv: --http: \"127.0.0.1:99999\": port \"99999\" is not a number in 1..65535 (raftkv -h for usage)\n"; stderr.String() != want || stdout.Len() != 0 {
		t.Fatalf("bad --http: stderr %q stdout %q, want stderr %q", stderr.String(), stdout.String(), want)
	}
	out, err := exec.Command(bin, "-h").Output()
	if err != nil || string(out) != usage {
		t.Fatalf("-h: %v, stdout %q", err, out)
	}
}
