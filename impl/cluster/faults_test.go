//go:build raftfaults

package cluster

import (
	"errors"
	"strings"
	"testing"

	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/spec"
)

// A scenario step builds its action from the cluster's current state, so
// that a scenario can name a message by its endpoints instead of spelling
// out every field; ok false means "not possible here" (skipped).
type sstep func(c *Cluster) (a spec.Action, ok bool)

func server(k spec.ActionKind, id spec.ServerID) sstep {
	return func(*Cluster) (spec.Action, bool) { return spec.Action{Kind: k, Server: id}, true }
}

func request(id spec.ServerID, v spec.Value) sstep {
	return func(*Cluster) (spec.Action, bool) {
		return spec.Action{Kind: spec.ClientRequest, Server: id, Value: v}, true
	}
}

// dlv delivers the first message in flight of type typ from -> to in term
// term whose entries number n (n < 0: any).
func dlv(typ spec.MsgType, from, to spec.ServerID, term spec.Term, n int) sstep {
	return func(c *Cluster) (spec.Action, bool) {
		for _, f := range c.InFlight() {
			m := f.Message
			if m.Type == typ && m.From == from && m.To == to && m.Term == term && (n < 0 || len(m.Entries) == n) {
				return deliver(&m), true
			}
		}
		return spec.Action{}, false
	}
}

// runScenario runs the steps, skipping those the cluster cannot take, and
// returns the first property the implementation's states violate.
func runScenario(t *testing.T, faults raft.Faults, steps []sstep) error {
	t.Helper()
	c := newCluster(t, 3, Options{Faults: faults})
	for k, s := range steps {
		a, ok := s(c)
		if !ok {
			continue
		}
		err := checked(c, a)
		var v *violation
		switch {
		case errors.As(err, &v):
			return v.err
		case errors.Is(err, ErrNotEnabled):
			continue
		case err != nil:
			t.Fatalf("step %d %v: %v", k+1, a, err)
		}
	}
	return nil
}

// Each fault switch of the core makes the harness report the property the
// corresponding model bug breaks, in a scenario that is clean without it:
// replay catches implementation bugs. (SnapshotKeepsConflictingSuffix
// breaks a property only with five servers, as its model bug's
// counterexample does; conform/implcluster finds it as a divergence.)
func TestFaultsAreCaught(t *testing.T) {
	const (
		RV, RVR, AE, AER = spec.RequestVote, spec.RequestVoteResponse, spec.AppendEntries, spec.AppendEntriesResponse
	)
	elect1 := []sstep{server(spec.Timeout, 1), dlv(RV, 1, 2, 1, -1), dlv(RVR, 2, 1, 1, -1)}
	for _, tc := range []struct {
		name     string
		faults   raft.Faults
		property string
		steps    []sstep
	}{
		{"ForgetVoteOnRestart", raft.Faults{ForgetVoteOnRestart: true}, "vote-once", []sstep{
			server(spec.Timeout, 1), dlv(RV, 1, 2, 1, -1), server(spec.Restart, 2),
			server(spec.Timeout, 3), dlv(RV, 3, 2, 1, -1),
		}},
		{"VoteWithoutLogCheck", raft.Faults{VoteWithoutLogCheck: true}, "leader-completeness", append(elect1[:3:3],
			request(1, "a"), server(spec.Heartbeat, 1), dlv(AE, 1, 2, 1, 1), dlv(AER, 2, 1, 1, -1),
			server(spec.Timeout, 3), server(spec.Timeout, 3), dlv(RV, 3, 2, 2, -1), dlv(RVR, 2, 3, 2, -1),
		)},
		{"TruncateOnStaleAppend", raft.Faults{TruncateOnStaleAppend: true}, "committed-never-lost", append(elect1[:3:3],
			request(1, "a"), server(spec.Heartbeat, 1), request(1, "b"), server(spec.Heartbeat, 1),
			dlv(AE, 1, 2, 1, 2), dlv(AE, 1, 3, 1, 2), dlv(AER, 2, 1, 1, -1),
			dlv(AE, 1, 2, 1, 1), dlv(AE, 1, 3, 1, 1), // the stale first heartbeats
		)},
		{"Figure8Commit", raft.Faults{Figure8Commit: true}, "leader-completeness", append(elect1[:3:3],
			request(1, "a"),
			server(spec.Timeout, 3), server(spec.Timeout, 3), dlv(RV, 3, 2, 2, -1), dlv(RVR, 2, 3, 2, -1),
			request(3, "b"),
			dlv(RV, 3, 1, 2, -1), server(spec.Timeout, 1), dlv(RV, 1, 2, 3, -1), dlv(RVR, 2, 1, 3, -1),
			server(spec.Heartbeat, 1), dlv(AE, 1, 2, 3, 0), dlv(AER, 2, 1, 3, -1), // S2 lacks index 1
			server(spec.Heartbeat, 1), dlv(AE, 1, 2, 3, 1), dlv(AER, 2, 1, 3, -1), // S1 commits 1:a of term 1
			dlv(RV, 1, 3, 3, -1), server(spec.Timeout, 3), dlv(RV, 3, 2, 4, -1), dlv(RVR, 2, 3, 4, -1),
			server(spec.Heartbeat, 3), dlv(AE, 3, 2, 4, 1), // S3, elected without it, overwrites it on S2
		)},
		{"SnapshotDiscardsMatchingSuffix", raft.Faults{SnapshotDiscardsMatchingSuffix: true}, "committed-never-lost", append(elect1[:3:3],
			request(1, "a"), server(spec.Heartbeat, 1), request(1, "b"), server(spec.Heartbeat, 1),
			dlv(AE, 1, 2, 1, 1), dlv(AE, 1, 3, 1, 2), dlv(AER, 2, 1, 1, -1), // S1 commits 1:a with S2
			server(spec.Compact, 1), server(spec.Heartbeat, 1), // S3's acknowledgement is late: it gets the snapshot
			dlv(AER, 3, 1, 1, -1),                  // S1 commits 1:b with S3
			dlv(spec.InstallSnapshot, 1, 3, 1, -1), // S3 must keep 1:b after the snapshot
		)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := runScenario(t, raft.Faults{}, tc.steps); err != nil {
				t.Fatalf("correct implementation violates %v", err)
			}
			err := runScenario(t, tc.faults, tc.steps)
			if err == nil || !strings.HasPrefix(err.Error(), tc.property+":") {
				t.Fatalf("with the fault: %v, want a %s violation", err, tc.property)
			}
		})
	}
}

// The faults are switched on again when Restart rebuilds a core, in memory
// and on disk: with ForgetVoteOnRestart a vote cast after a restart is
// still never persisted.
func TestFaultsSurviveRestart(t *testing.T) {
	for _, disk := range []bool{false, true} {
		for _, bug := range []bool{false, true} {
			dir := ""
			if disk {
				dir = t.TempDir()
			}
			c := newCluster(t, 3, Options{Dir: dir, Faults: raft.Faults{ForgetVoteOnRestart: bug}})
			for _, a := range []spec.Action{{Kind: spec.Timeout, Server: 1}, {Kind: spec.Restart, Server: 1}, {Kind: spec.Timeout, Server: 1}} {
				if err := c.Apply(a); err != nil {
					t.Fatalf("%v: %v", a, err)
				}
			}
			p, err := c.stores[0].Load()
			if err != nil {
				t.Fatal(err)
			}
			want := raft.HardState{Term: 2, VotedFor: 1}
			if bug {
				want.VotedFor = spec.None
			}
			if p.HardState != want {
				t.Fatalf("dir %q, ForgetVoteOnRestart=%v: persisted %+v after a restart, want %+v", dir, bug, p.HardState, want)
			}
		}
	}
}
