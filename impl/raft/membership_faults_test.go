//go:build raftfaults

package raft

import (
	"slices"
	"testing"

	"github.com/raftcheck/raftcheck/spec"
)

// The fault switches of membership changes, each changing exactly its rule.

func TestFaultReconfigBeforeTermCommit(t *testing.T) {
	for _, bug := range []bool{false, true} {
		nw := memberNet(t, 4, spec.Configuration{Voters: members(1, 2, 3)}, Faults{ReconfigBeforeTermCommit: bug})
		r := nw.nodes[1]
		if err := r.Campaign(); err != nil {
			t.Fatal(err)
		}
		nw.pump(all)
		err := r.ProposeConfChange(ConfChange{Kind: spec.AddServer, Target: 4})
		if bug != (err == nil) {
			t.Fatalf("ReconfigBeforeTermCommit=%v: %v", bug, err)
		}
		if !bug {
			wantErr(t, err, ErrNoTermCommit)
		}
	}
}

func TestFaultConcurrentReconfigs(t *testing.T) {
	for _, bug := range []bool{false, true} {
		nw := memberNet(t, 5, spec.Configuration{Voters: members(1, 2, 3)}, Faults{ConcurrentReconfigs: bug})
		r := nw.elect(1, "a")
		nw.change(1, ConfChange{Kind: spec.AddServer, Target: 4})
		err := r.ProposeConfChange(ConfChange{Kind: spec.AddServer, Target: 5})
		if bug != (err == nil) {
			t.Fatalf("ConcurrentReconfigs=%v: %v", bug, err)
		}
		if !bug {
			wantErr(t, err, ErrChangeInProgress)
		} else {
			wantConfig(t, r, spec.Configuration{Voters: members(1, 2, 3, 4, 5)})
		}
	}
}

func TestFaultCountNonmemberVotes(t *testing.T) {
	for _, bug := range []bool{false, true} {
		r := faultyNode(t, 1, 4, Persistent{}, Faults{CountNonmemberVotes: bug},
			func(c *Config) { c.Initial = spec.Configuration{Voters: members(1, 2, 3)} })
		if err := r.Campaign(); err != nil {
			t.Fatal(err)
		}
		var asked []spec.ServerID
		for _, m := range sent(t, r) {
			asked = append(asked, m.To)
		}
		want := []spec.ServerID{2, 3}
		if bug {
			want = []spec.ServerID{2, 3, 4}
		}
		if !slices.Equal(asked, want) {
			t.Fatalf("CountNonmemberVotes=%v: RequestVote to %v, want %v", bug, asked, want)
		}
		step(t, r, rvr(4, 1, 1, true))
		if (r.role == spec.Leader) != bug {
			t.Fatalf("CountNonmemberVotes=%v: after a non-member's vote: %v", bug, r.View())
		}
	}
}

func TestFaultConfigOnCommit(t *testing.T) {
	initial := spec.Configuration{Voters: members(1, 2, 3)}
	four := spec.Configuration{Voters: members(1, 2, 3, 4)}
	for _, bug := range []bool{false, true} {
		r := faultyNode(t, 3, 4, Persistent{}, Faults{ConfigOnCommit: bug}, func(c *Config) { c.Initial = initial })
		step(t, r, ae(1, 3, 1, 0, 0, 0, e(1, "a"), spec.Entry{Term: 1, Config: four.Voters}))
		want := four
		if bug {
			want = initial
		}
		wantConfig(t, r, want)
		step(t, r, ae(1, 3, 1, 2, 1, 2))
		wantConfig(t, r, four)
	}
}

func TestFaultSoleVoterWaits(t *testing.T) {
	for _, wait := range []bool{false, true} {
		r := faultyNode(t, 1, 2, Persistent{}, Faults{SoleVoterWaits: wait}, func(c *Config) { c.Initial = spec.Configuration{Voters: members(1)} })
		if err := r.Campaign(); err != nil {
			t.Fatal(err)
		}
		if (r.role == spec.Leader) == wait {
			t.Fatalf("SoleVoterWaits=%v: a sole voter's campaign: %v", wait, r.View())
		}
		if wait {
			continue
		}
		if err := r.Propose("a"); err != nil {
			t.Fatal(err)
		}
		wantCommit(t, r, 1)
	}
	// A sole voter leader (elected before a removal) does not commit its
	// own append with the switch, nor at a tick: it waits for a response.
	r := faultyNode(t, 1, 2, Persistent{}, Faults{SoleVoterWaits: true})
	r = win(t, campaign(t, r))
	if err := r.Propose("a"); err != nil {
		t.Fatal(err)
	}
	step(t, r, aer(2, 1, 1, true, 1))
	if err := r.ProposeConfChange(ConfChange{Kind: spec.RemoveServer, Target: 2}); err != nil {
		t.Fatal(err)
	}
	if err := r.Propose("b"); err != nil {
		t.Fatal(err)
	}
	r.Tick()
	wantCommit(t, r, 1)
	step(t, r, aer(2, 1, 1, true, 1)) // a late response: the commit rule runs
	wantCommit(t, r, 3)
}
