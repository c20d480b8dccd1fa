package traces

import (
	"strings"
	"testing"
)

// TestLoopValidated: a loop marker is refused out of range, without a
// liveness violation, and missing on one, each with one error naming the
// field.
func TestLoopValidated(t *testing.T) {
	base := `{"format": "raftcheck-trace", "version": 2, "model": "raft",
  "config": {"servers": 3, "max_term": 2, "max_values": 0, "max_msgs": 3, "max_copies": 1, "timers": true},
  %s "producer": {"tool": "hand-written"},
  "steps": [{"action": {"kind": "Tick", "server": 1}}]}`
	live := `"violation": {"property": "stable-leader", "kind": "liveness", "step": 1, "fair": "Deliver"},`
	for name, c := range map[string]struct{ header, want string }{
		"out of range": {live + ` "loop": 2,`, "loop: 2 is not a step"},
		"negative":     {live + ` "loop": -1,`, "loop: -1 is not a step"},
		"missing":      {live, "loop: missing"},
		"no liveness":  {` "loop": 0,`, "loop: only a lasso"},
	} {
		_, err := Parse([]byte(strings.Replace(base, "%s", c.header, 1)))
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line with %q", name, err, c.want)
		}
	}
	tr, err := Parse([]byte(strings.Replace(base, "%s", live+` "loop": 0,`, 1)))
	if err != nil || !tr.IsLasso() || tr.LoopStart() != 0 {
		t.Fatalf("a valid lasso: %v", err)
	}
	b, err := tr.Marshal()
	if err != nil || !strings.Contains(string(b), `"loop": 0`) {
		t.Fatalf("the loop marker is not written back: %v %s", err, b)
	}
}
