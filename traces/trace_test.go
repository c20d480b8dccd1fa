package traces

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad trace files give an error naming the step and the field, never a
// panic.
func TestParseErrorsNameStepAndField(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("scenarios", "replication.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(good); err != nil {
		t.Fatal(err)
	}
	header := `{"format":"raftcheck-trace","version":1,"config":{"servers":3,"max_term":2,"max_values":1,"max_msgs":3,"max_copies":1,"max_restarts":0,"max_partitions":0,"max_drops":0,"max_dups":0},"producer":{"tool":"t"},"steps":[`
	cases := map[string]string{
		`{"format":"other","version":1}`:                                                                       "format",
		`{"format":"raftcheck-trace","version":9}`:                                                             "version 9",
		`{"format":"raftcheck-trace","version":1,"bogus":1}`:                                                   `unknown field "bogus"`,
		`{"format":"raftcheck-trace","version":1,"config":{"servers":2}}`:                                      "config: servers",
		header + `{"action":{"kind":"Timeout","server":7}}]}`:                                                  "step 1: action: server",
		header + `{"action":{"kind":"Timeout","server":1}},{"action":{"kind":"Jump","server":1}}]}`:            "step 2",
		header + `{"action":{"kind":"Deliver","message":{"type":"RequestVote","from":1,"to":2,"term":"x"}}}]}`: "step 1: action.message.term",
		header + `{"action":{"kind":"Timeout","server":1},"expect":{"servers":[{"id":1,"role":"king"}]}}]}`:    "step 1: expect.servers[0].role",
		header + `{"action":{"kind":"Timeout","server":1}}]`:                                                   "ends in the middle",
		header + `{"action":{"kind":"Timeout","server":1}},]}`:                                                 "line 1",
		"  \n": "empty file",
		`{"format":"raftcheck-trace","version":1,"config":{"servers":"3"}}`: "config.servers: expected a whole number, got JSON string",
		`{"format":"raftcheck-trace","version":1,"config":{"servers":3,"max_copies":1},"violation":{"property":"nonsense","kind":"invariant","step":0},"producer":{"tool":"t"},"steps":[]}`: "violation.property",
	}
	for in, want := range cases {
		_, err := Parse([]byte(in))
		var te *Error
		if err == nil || !errors.As(err, &te) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s:\n got %v\nwant an error containing %q", in, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("error is not one line: %q", err)
		}
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzParse: arbitrary bytes never panic the reader, every refusal is an
// *Error, and whatever it accepts survives a round trip.
func FuzzParse(f *testing.F) {
	// Small seeds: the stored traces cut to their first steps (whole ones
	// are tens of kilobytes, and the fuzzer crawls on inputs that large).
	for _, name := range []string{"replication.json", "partition.json", filepath.Join("bugs", "count-duplicate-votes.json")} {
		tr, err := ReadFile(filepath.Join("scenarios", name))
		if err != nil {
			f.Fatal(err)
		}
		tr.Steps = tr.Steps[:3]
		tr.Violation = nil
		b, err := json.Marshal(tr)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"format":"raftcheck-trace","version":1}`))
	f.Add([]byte(`[1,2`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := Parse(b)
		if err != nil {
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		out, err := tr.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("re-parsing a marshalled trace: %v", err)
		}
	})
}

// A trace of another model carries that model's name and configuration:
// it parses, validates against its server count, and is written back with
// the configuration unchanged; only raft traces are replayed here.
func TestOtherModelTrace(t *testing.T) {
	in := `{"format":"raftcheck-trace","version":2,"model":"their-raft","config":{"servers":5,"election_ticks":10},` +
		`"producer":{"tool":"t"},"steps":[{"action":{"kind":"Timeout","server":5}}]}`
	tr, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if tr.IsRaft() || tr.Servers() != 5 || tr.RequireRaft() == nil || !strings.Contains(tr.RequireRaft().Error(), `"their-raft"`) {
		t.Fatalf("model %q servers %d require %v", tr.Model, tr.Servers(), tr.RequireRaft())
	}
	b, err := tr.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]json.RawMessage
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, back["config"]); err != nil {
		t.Fatal(err)
	}
	if compact.String() != `{"servers":5,"election_ticks":10}` || string(back["model"]) != `"their-raft"` {
		t.Fatalf("written back as %s / %s", back["model"], back["config"])
	}
	for bad, want := range map[string]string{
		strings.Replace(in, `"server":5`, `"server":6`, 1):                        "step 1: action: server",
		strings.Replace(in, `"servers":5,`, ``, 1):                                "config.servers",
		strings.Replace(in, `"model":"their-raft",`, ``, 1):                       "model: missing",
		strings.Replace(in, `"version":2,"model":"their-raft"`, `"version":1`, 1): `config: unknown field "election_ticks"`,
	} {
		if _, err := Parse([]byte(bad)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", bad, err, want)
		}
	}
}
