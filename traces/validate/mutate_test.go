package validate_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/raftcheck/raftcheck/spec"
	"github.com/raftcheck/raftcheck/traces/validate"
	"github.com/raftcheck/raftcheck/traces/validate/sim"
)

// encode writes each server's events as ndjson.
func encode(t *testing.T, logs [][]validate.Event) [][]byte {
	t.Helper()
	out := make([][]byte, len(logs))
	for i, evs := range logs {
		var b bytes.Buffer
		w := validate.NewWriter(&b)
		for k := range evs {
			ev := evs[k]
			if err := w.Write(&ev); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		out[i] = b.Bytes()
	}
	return out
}

// decode reads the texts back as s1.ndjson, s2.ndjson, ... (fresh,
// unshared events).
func decode(texts [][]byte) ([][]validate.Event, error) {
	logs := make([][]validate.Event, len(texts))
	for i, b := range texts {
		evs, err := validate.Read(bytes.NewReader(b), fmt.Sprintf("s%d.ndjson", i+1))
		if err != nil {
			return nil, err
		}
		logs[i] = evs
	}
	return logs, nil
}

// baseRun is a clean 3-server run with snapshots and restarts, as fresh
// decoded events.
func baseRun(t *testing.T, seed uint64) ([][]validate.Event, [][]byte) {
	t.Helper()
	texts := encode(t, simulate(t, sim.Options{Servers: 3, Events: 800, Seed: seed, Snapshots: true, Restarts: true}))
	logs, err := decode(texts)
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	if _, err := validate.Validate(logs, validate.Options{}); err != nil {
		t.Fatalf("seed %d: the clean run fails: %v", seed, err)
	}
	return logs, texts
}

// find returns the first event (server index, position) satisfying ok,
// after the first quarter of the run so that there is history before it.
func find(logs [][]validate.Event, ok func(*validate.Event) bool) (int, int, bool) {
	for i := range logs {
		for k := len(logs[i]) / 4; k < len(logs[i]); k++ {
			if ok(&logs[i][k]) {
				return i, k, true
			}
		}
	}
	return 0, 0, false
}

func sentOf(ev *validate.Event, ok func(*validate.Message) bool) int {
	for k := range ev.Sent {
		if ok(&ev.Sent[k]) {
			return k
		}
	}
	return -1
}

// mutation changes one event of a clean run; it returns the field the
// failure must name (prefix) and the rule (prefix).
type mutation struct {
	name  string
	pick  func(*validate.Event) bool
	apply func(*validate.Event) (rule, field string)
}

var mutations = []mutation{
	{"change a term", func(e *validate.Event) bool { return e.Kind == validate.Receive && e.State.Term != nil },
		func(e *validate.Event) (string, string) { *e.State.Term++; return "Receive effect", "state.term" }},
	{"fake a vote", func(e *validate.Event) bool {
		return sentOf(e, func(m *validate.Message) bool { return m.Type == spec.RequestVoteResponse && !m.Granted }) >= 0
	}, func(e *validate.Event) (string, string) {
		k := sentOf(e, func(m *validate.Message) bool { return m.Type == spec.RequestVoteResponse && !m.Granted })
		e.Sent[k].Granted = true
		return "send RequestVoteResponse", fmt.Sprintf("sent[%d].granted", k)
	}},
	{"commit without quorum", func(e *validate.Event) bool {
		return e.Kind == validate.ClientRequest && *e.State.LogLen > *e.State.Commit
	}, func(e *validate.Event) (string, string) {
		*e.State.Commit = *e.State.LogLen
		return "leader commit rule", "state.commit"
	}},
	{"send an AppendEntries inconsistent with the log", func(e *validate.Event) bool {
		return sentOf(e, func(m *validate.Message) bool { return m.Type == spec.AppendEntries && m.PrevLogIndex > 0 }) >= 0
	}, func(e *validate.Event) (string, string) {
		k := sentOf(e, func(m *validate.Message) bool { return m.Type == spec.AppendEntries && m.PrevLogIndex > 0 })
		e.Sent[k].PrevLogTerm++
		return "send AppendEntries", fmt.Sprintf("sent[%d].prev_log_term", k)
	}},
	{"append a wrong entry", func(e *validate.Event) bool {
		return sentOf(e, func(m *validate.Message) bool { return m.Type == spec.AppendEntries && len(m.Entries) > 0 }) >= 0
	}, func(e *validate.Event) (string, string) {
		k := sentOf(e, func(m *validate.Message) bool { return m.Type == spec.AppendEntries && len(m.Entries) > 0 })
		e.Sent[k].Entries[0].Value += "x"
		return "send AppendEntries", fmt.Sprintf("sent[%d].entries[0]", k)
	}},
	{"receive another message than was sent", func(e *validate.Event) bool {
		return e.Kind == validate.Receive && e.Msg.Type == spec.AppendEntries
	}, func(e *validate.Event) (string, string) {
		e.Msg.LeaderCommit++
		return "message identity", "msg.leader_commit"
	}},
	{"compact beyond commit", func(e *validate.Event) bool { return e.Kind == validate.Compact },
		func(e *validate.Event) (string, string) {
			e.Index = *e.State.Commit + 1
			return "Compact guard", "index"
		}},
	{"forget the vote on restart", func(e *validate.Event) bool {
		return e.Kind == validate.Restart && *e.State.Vote != spec.None
	}, func(e *validate.Event) (string, string) {
		*e.State.Vote = spec.None
		return "Restart effect", "state.vote"
	}},
}

// TestMutationsAreCaught changes one event of a clean run at a time; each
// change must be reported at that event, with the rule and field changed.
func TestMutationsAreCaught(t *testing.T) {
	for _, mu := range mutations {
		found := false
		for _, seed := range seeds(20) {
			logs, _ := baseRun(t, seed)
			i, k, ok := find(logs, mu.pick)
			if !ok {
				continue
			}
			found = true
			ev := &logs[i][k]
			rule, field := mu.apply(ev)
			_, err := validate.Validate(logs, validate.Options{})
			var f *validate.Failure
			if !errors.As(err, &f) {
				t.Fatalf("%s (seed %d, %s): got %v, want a failure", mu.name, seed, ev.Where(), err)
			}
			if f.Event != ev || !strings.HasPrefix(f.Rule, rule) || f.Field != field {
				t.Fatalf("%s (seed %d): reported\n  %v\nwant at %s, rule %q, field %q", mu.name, seed, err, ev.Where(), rule, field)
			}
			t.Logf("%s: %v", mu.name, err)
			break
		}
		if !found {
			t.Fatalf("%s: no run among the seeds has an event to mutate", mu.name)
		}
	}
}

// TestDroppedLineIsCaught removes one line of a log: the decoder reports
// the gap at the next line; removed with the events renumbered (a step the
// implementation did not log), the run fails at the event after it.
func TestDroppedLineIsCaught(t *testing.T) {
	logs, texts := baseRun(t, 1)
	i, k, ok := find(logs, func(e *validate.Event) bool { return e.Kind == validate.ClientRequest })
	if !ok {
		t.Fatal("no ClientRequest in the run")
	}
	lines := strings.SplitAfter(string(texts[i]), "\n")
	cut := strings.Join(append(lines[:k:k], lines[k+1:]...), "")
	mutated := append([][]byte(nil), texts...)
	mutated[i] = []byte(cut)
	_, err := decode(mutated)
	want := fmt.Sprintf("s%d.ndjson:%d: field seq: %d where %d comes next", i+1, k+1, k+2, k+1)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("dropped line %d of s%d: got %v, want %q", k+1, i+1, err, want)
	}
	logs[i] = append(logs[i][:k:k], logs[i][k+1:]...)
	for j := range logs[i] {
		logs[i][j].Seq = uint64(j + 1)
	}
	_, err = validate.Validate(logs, validate.Options{})
	var f *validate.Failure
	if !errors.As(err, &f) || f.Event != &logs[i][k] {
		t.Fatalf("dropped ClientRequest at s%d:%d: got %v, want a failure at the next event", i+1, k+1, err)
	}
	t.Logf("renumbered: %v", err)
}

// TestStrictDecoding: unknown fields and bad values are one error naming
// file:line and the field.
func TestStrictDecoding(t *testing.T) {
	for _, c := range []struct{ line, want string }{
		{`{"server":1,"seq":1,"kind":"Timeout","colour":"red"}`, `x.ndjson:1: field "colour": not a field`},
		{`{"server":1,"seq":1,"kind":"Timeout","state":{"role":"boss"}}`, `x.ndjson:1: bad JSON: role: unknown role "boss"`},
		{`{"server":1,"seq":1,"kind":"Sleep"}`, `x.ndjson:1: field kind: "Sleep" is not one of`},
		{`{"server":1,"seq":2,"kind":"Timeout"}`, `x.ndjson:1: field seq: 2 where 1 comes next`},
		{`{"server":1,"seq":1,"kind":"Receive"}`, `x.ndjson:1: field msg: missing`},
		{`{"server":1,"seq":1,"kind":"Timeout","state":{"term":-1}}`, `x.ndjson:1: field state.term: number -1 is not a valid`},
		{`{"server":1,"seq":1,"kind":"Heartbeat","sent":[{"id":"a","type":"AppendEntries","from":1,"to":2,"term":1,"granted":true}]}`, `x.ndjson:1: field sent[0].granted: not a field of AppendEntries`},
		{`{"server":1,"seq":1,"kind":"Receive","msg":{"type":"RequestVote","from":2,"to":1,"term":1}}`, `x.ndjson:1: field msg.id: missing`},
		{`{"server":1,"seq":1,"kind":"Receive","msg":{"id":"a","type":"RequestVote","from":2,"to":1,"term":1,"colour":2}}`, `x.ndjson:1: field "colour": not a field`},
		{`{"server":1,"seq":1,"kind":"Timeout","sent":[{"id":"a","type":"RequestVote","from":1,"to":2,"term":1,"entries":[{"term":1,"value":"x","size":3}]}]}`, `x.ndjson:1: field "size": not a field`},
		{`{"server":1,"seq":1,"kind":"Timeout","state":{"vote":300}}`, `x.ndjson:1: bad JSON: server id 300: not a number from 0 to 255`},
		{`{"server":1,"seq":1,"kind":"Timeout"`, `x.ndjson:1: bad JSON: the event is cut`},
	} {
		_, err := validate.Read(strings.NewReader(c.line), "x.ndjson")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant %q", c.line, err, c.want)
		}
	}
}

// TestOneEventPerLine: two values on a line, or one over several lines,
// are refused with the line.
func TestOneEventPerLine(t *testing.T) {
	ev := `{"server":1,"seq":1,"kind":"Timeout"}`
	for _, c := range []struct{ text, want string }{
		{ev + " " + ev + "\n", "x.ndjson:1: more than one JSON value on the line"},
		{"\n\n{\"server\":1,\n\"seq\":1,\"kind\":\"Timeout\"}\n", "x.ndjson:3: bad JSON: the event is cut or spans several lines"},
		{"nul\n", "x.ndjson:1: bad JSON: the event is cut"},
		{"{\"server\":x}\n", "x.ndjson:1: bad JSON: invalid character"},
		{"\n", "x.ndjson: no events"},
	} {
		_, err := validate.Read(strings.NewReader(c.text), "x.ndjson")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.text, err, c.want)
		}
	}
	evs, err := validate.Read(strings.NewReader("\n"+ev+"\n\n"+strings.Replace(ev, `"seq":1`, `"seq":2`, 1)), "x.ndjson")
	if err != nil || len(evs) != 2 || evs[0].Line != 2 || evs[1].Line != 4 {
		t.Fatalf("blank lines: %v %+v", err, evs)
	}
}

// TestCausalCycle: each server receives first what the other sends only
// afterwards; and a message nobody sent.
func TestCausalCycle(t *testing.T) {
	s1 := `{"server":1,"seq":1,"kind":"Receive","msg":{"id":"S2#1","type":"RequestVote","from":2,"to":1,"term":1}}
{"server":1,"seq":2,"kind":"Timeout","sent":[{"id":"S1#1","type":"RequestVote","from":1,"to":2,"term":1}]}`
	s2 := `{"server":2,"seq":1,"kind":"Receive","msg":{"id":"S1#1","type":"RequestVote","from":1,"to":2,"term":1}}
{"server":2,"seq":2,"kind":"Timeout","sent":[{"id":"S2#1","type":"RequestVote","from":2,"to":1,"term":1}]}`
	logs, err := decode([][]byte{[]byte(s1), []byte(s2)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = validate.Validate(logs, validate.Options{})
	if want := "s1.ndjson:1: S1 #1 Receive S2#1 RequestVote S2->S1 t1 last=0/0: causality (message S2#1 is sent only at s2.ndjson:2"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got %v, want %q", err, want)
	}
	logs[1] = logs[1][:1]
	_, err = validate.Validate(logs, validate.Options{})
	if want := "s1.ndjson:1: S1 #1 Receive S2#1 RequestVote S2->S1 t1 last=0/0: message identity (message S2#1 was never sent by any server)"; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}

// TestRestartFirst: a fresh server's log may begin with the Restart of its
// first start (the runtime hook logs one whenever it builds the core);
// one claiming recovered entries is refused, the run starting fresh.
func TestRestartFirst(t *testing.T) {
	ok := `{"server":1,"seq":1,"kind":"Restart","state":{"term":0,"vote":0,"role":"follower","log_len":0,"commit":0,"snapshot":0}}
{"server":1,"seq":2,"kind":"Timeout","state":{"term":1,"vote":1,"role":"leader"}}`
	logs, err := decode([][]byte{[]byte(ok)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := validate.Validate(logs, validate.Options{}); err != nil {
		t.Fatalf("one server restarting fresh, then electing itself: %v", err)
	}
	*logs[0][0].State.LogLen = 3
	if _, err := validate.Validate(logs, validate.Options{}); err == nil || !strings.Contains(err.Error(), "state.log_len: expected 0, got 3") {
		t.Fatalf("a fresh server recovering 3 entries: %v", err)
	}
}
