package validate_test

import (
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/traces/validate"
	"github.com/raftcheck/raftcheck/traces/validate/sim"
)

var seedFlag = flag.Uint64("seed", 0, "run only this seed (0: the fixed seeds)")

func seeds(n int) []uint64 {
	if *seedFlag != 0 {
		return []uint64{*seedFlag}
	}
	out := make([]uint64, n)
	for k := range out {
		out[k] = uint64(k + 1)
	}
	return out
}

// configs are the implementation's configurations the runs use: the
// replay path, and every production feature on.
var configs = map[string]func(*raft.Config){
	"figure2": nil,
	"features": func(c *raft.Config) {
		c.MaxBatch, c.ReplicateOnPropose, c.MaxInflight, c.MaxAppendEntries, c.ConflictHint = 4, true, 2, 3, true
	},
}

func simulate(t testing.TB, opts sim.Options) [][]validate.Event {
	t.Helper()
	logs, err := sim.Run(opts)
	if err != nil {
		t.Fatalf("seed %d: %v", opts.Seed, err)
	}
	return logs
}

// TestRealRunsPass validates runs of impl/raft with loss, duplication,
// reordering, restarts and snapshots: every one is a behaviour.
func TestRealRunsPass(t *testing.T) {
	for name, conf := range configs {
		for _, servers := range []int{3, 5} {
			for _, seed := range seeds(8) {
				opts := sim.Options{Servers: servers, Events: 600, Seed: seed, Configure: conf, Snapshots: true, Restarts: true,
					SnapshotData: seed%2 == 0, Ticks: seed%4 < 2}
				logs := simulate(t, opts)
				res, err := validate.Validate(logs, validate.Options{CheckEvery: 50})
				if err != nil {
					t.Fatalf("%s, %d servers, seed %d (-seed %d): %v", name, servers, seed, seed, err)
				}
				if res.Events != 600 || res.Received == 0 || res.Sent == 0 || res.Fields == 0 {
					t.Fatalf("%s seed %d: checked too little: %+v", name, seed, res)
				}
			}
		}
	}
}

// TestContentIDs: a run whose messages are named by ContentID on both
// sides (no ids on the wire) validates, and a changed received message is
// then a message never sent.
func TestContentIDs(t *testing.T) {
	for _, seed := range seeds(4) {
		logs := simulate(t, sim.Options{Servers: 3, Events: 600, Seed: seed, Snapshots: true, Restarts: true})
		for i := range logs {
			for k := range logs[i] {
				ev := &logs[i][k]
				for j := range ev.Sent {
					ev.Sent[j].ID = validate.ContentID(&ev.Sent[j].Message)
				}
				if ev.Msg != nil {
					m := *ev.Msg
					m.ID = validate.ContentID(&m.Message)
					ev.Msg = &m
				}
			}
		}
		if _, err := validate.Validate(logs, validate.Options{}); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		for i := range logs {
			for k := len(logs[i]) / 2; k < len(logs[i]); k++ {
				if ev := &logs[i][k]; ev.Kind == validate.Receive {
					ev.Msg.Term++
					ev.Msg.ID = validate.ContentID(&ev.Msg.Message)
					_, err := validate.Validate(logs, validate.Options{})
					var f *validate.Failure
					if !errors.As(err, &f) || f.Event != ev || !strings.Contains(f.Detail, "never sent") {
						t.Fatalf("seed %d: changed %v: got %v", seed, ev, err)
					}
					return
				}
			}
		}
	}
}

// TestPartialState: what is not logged is reconstructed — runs validate
// with no state at all, or with one field only, and a wrong value of the
// one field left is still caught.
func TestPartialState(t *testing.T) {
	for _, keep := range []string{"none", "commit", "role", "log_len"} {
		for _, seed := range seeds(4) {
			logs := simulate(t, sim.Options{Servers: 3, Events: 600, Seed: seed, Configure: configs["features"], Snapshots: true, Restarts: true})
			var last *validate.Event
			for i := range logs {
				for k := range logs[i] {
					ev := &logs[i][k]
					st := ev.State
					ev.State, ev.Entries = &validate.State{}, nil
					switch keep {
					case "commit":
						ev.State.Commit = st.Commit
					case "role":
						ev.State.Role = st.Role
					case "log_len":
						ev.State.LogLen = st.LogLen
					}
					if i == 0 && k > len(logs[i])/2 && last == nil && keep != "none" {
						last = ev
					}
				}
			}
			if _, err := validate.Validate(logs, validate.Options{}); err != nil {
				t.Fatalf("keeping %s, seed %d: %v", keep, seed, err)
			}
			if last == nil {
				continue
			}
			switch keep {
			case "commit":
				*last.State.Commit += 100
			case "role":
				*last.State.Role = (*last.State.Role + 1) % 3
			case "log_len":
				*last.State.LogLen += 1
			}
			_, err := validate.Validate(logs, validate.Options{})
			var f *validate.Failure
			if !errors.As(err, &f) || f.Event != last {
				t.Fatalf("keeping %s, seed %d: a wrong %s at %v: got %v", keep, seed, keep, last, err)
			}
		}
	}
}
