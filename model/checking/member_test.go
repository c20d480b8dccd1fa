package checking

import (
	"fmt"
	"testing"

	"github.com/raftcheck/raftcheck/checker"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/spec"
)

// pinnedMembership are the state-space sizes of a small configuration of
// each kind of membership change: single-server changes, single-server
// changes through learners, joint consensus; each with one joiner, so
// symmetry permutes the initial members only. kinds are the changes that
// must fire.
var pinnedMembership = []struct {
	cfg                       model.Config
	distinct, generated       int64 // with symmetry
	distinctAll, generatedAll int64 // without
	depth                     int
	kinds                     []spec.ActionKind
}{
	{model.Config{Servers: 3, Joiners: 1, MaxReconfigs: 1, MaxTerm: 1, MaxValues: 1, MaxMsgs: 3, MaxCopies: 1},
		10327, 30738, 61789, 184015, 37, []spec.ActionKind{spec.AddServer, spec.RemoveServer}},
	{model.Config{Servers: 3, Joiners: 1, MaxReconfigs: 2, Learners: true, MaxTerm: 1, MaxValues: 1, MaxMsgs: 3, MaxCopies: 1},
		50073, 155152, 299845, 929302, 51, []spec.ActionKind{spec.AddLearner, spec.AddServer, spec.RemoveServer}},
	{model.Config{Servers: 3, Joiners: 1, MaxReconfigs: 1, Reconfig: model.ReconfigJoint, MaxTerm: 1, MaxValues: 1, MaxMsgs: 3, MaxCopies: 1},
		47392, 136655, 283102, 816703, 51, []spec.ActionKind{spec.EnterJoint, spec.LeaveJoint}},
}

// TestPinnedMembershipCounts: each kind of change gives its pinned counts
// with and without symmetry, with 1 and 2 workers, the naive search
// agrees with symmetry, every property holds, and the changes fire.
func TestPinnedMembershipCounts(t *testing.T) {
	stateSpace(t)
	for _, p := range pinnedMembership {
		m := model.MustNew(p.cfg)
		if nd, ng, ndepth := naive(m, true); nd != p.distinct || ng != p.generated || ndepth != p.depth {
			t.Errorf("%v: naive search gives %d distinct, %d generated, depth %d; pinned %d, %d, %d",
				p.cfg, nd, ng, ndepth, p.distinct, p.generated, p.depth)
		}
		for _, sym := range []bool{true, false} {
			wantD, wantG := p.distinct, p.generated
			if !sym {
				wantD, wantG = p.distinctAll, p.generatedAll
			}
			for _, workers := range []int{1, 2} {
				res := explore(t, p.cfg, checker.Options{Workers: workers, Symmetry: sym})
				if res.Violation != nil || !res.Complete {
					t.Fatalf("%v: violation %v, complete %v", p.cfg, res.Violation, res.Complete)
				}
				if res.Distinct != wantD || res.Generated != wantG || res.Depth != p.depth {
					t.Errorf("%v symmetry=%v workers=%d: %d distinct, %d generated, depth %d; want %d, %d, %d",
						p.cfg, sym, workers, res.Distinct, res.Generated, res.Depth, wantD, wantG, p.depth)
				}
				for _, k := range p.kinds {
					if c := &res.Coverage; c.Fired[int(k)-1] == 0 || c.New[int(k)-1] == 0 {
						t.Errorf("%v: %v fired %d times, %d new states", p.cfg, k, c.Fired[int(k)-1], c.New[int(k)-1])
					}
				}
			}
		}
	}
}

// TestMembershipSymmetryOrbits: the orbits of the representatives under
// renamings of the initial members (the joiner stays) add up to the count
// without symmetry, so the canonical form of voters, outgoing voters and
// learners merges exactly the renamings.
func TestMembershipSymmetryOrbits(t *testing.T) {
	stateSpace(t)
	for _, p := range pinnedMembership {
		m := model.MustNew(p.cfg)
		reps := representatives(m)
		var perms [][]uint8
		for _, sigma := range permutations(p.cfg.Servers) {
			for j := p.cfg.Servers; j < p.cfg.Servers+p.cfg.Joiners; j++ {
				sigma = append(sigma, uint8(j))
			}
			perms = append(perms, sigma)
		}
		var total int64
		for i := range reps {
			orbit := map[string]bool{}
			canon := string(m.Canonical(nil, &reps[i]))
			for _, sigma := range perms {
				var q model.State
				m.Permute(&reps[i], sigma, &q)
				orbit[string(m.Encode(nil, &q))] = true
				if string(m.Canonical(nil, &q)) != canon {
					t.Fatalf("%v: a renaming of a state has another canonical form", p.cfg)
				}
			}
			total += int64(len(orbit))
		}
		if int64(len(reps)) != p.distinct || total != p.distinctAll {
			t.Errorf("%v: %d representatives with orbits adding up to %d; want %d and %d", p.cfg, len(reps), total, p.distinct, p.distinctAll)
		}
	}
}

// representatives lists one state per symmetry class reachable in m.
func representatives(m *model.Model) []model.State {
	init := m.Init()
	seen := map[string]bool{string(m.Canonical(nil, &init)): true}
	level := []model.State{init}
	var acts []model.Action
	var reps []model.State
	for len(level) > 0 {
		reps = append(reps, level...)
		var next []model.State
		for i := range level {
			acts = m.Actions(&level[i], acts[:0])
			for _, a := range acts {
				var out model.State
				if m.Next(&level[i], a, &out) {
					if k := string(m.Canonical(nil, &out)); !seen[k] {
						seen[k] = true
						next = append(next, out)
					}
				}
			}
		}
		level = next
	}
	return reps
}

// TestMembershipSymmetryVerdicts: with and without symmetry the same
// verdict, at the same counterexample length, in joint mode and with
// learners, for the correct protocol and every membership bug.
func TestMembershipSymmetryVerdicts(t *testing.T) {
	stateSpace(t)
	for _, base := range []model.Config{
		{Servers: 3, MaxReconfigs: 1, Reconfig: model.ReconfigJoint, MaxTerm: 2, MaxValues: 1, MaxMsgs: 3, MaxCopies: 1},
		{Servers: 3, Joiners: 1, MaxReconfigs: 2, Learners: true, MaxTerm: 1, MaxValues: 1, MaxMsgs: 3, MaxCopies: 1},
	} {
		for _, b := range append([]model.Bug{{}}, model.Bugs...) {
			if b.Name != "" && b.Bounds.MaxReconfigs == 0 {
				continue
			}
			cfg := base
			cfg.Bug = b.Name
			var verdicts [2]string
			for i, sym := range []bool{true, false} {
				res := explore(t, cfg, checker.Options{Workers: 2, Symmetry: sym})
				verdicts[i] = "holds"
				if v := res.Violation; v != nil {
					verdicts[i] = fmt.Sprintf("%s after %d steps", v.Property, v.Path.Len())
				}
			}
			if verdicts[0] != verdicts[1] {
				t.Errorf("%v: with symmetry %s, without %s", cfg, verdicts[0], verdicts[1])
			}
			if b.Name == "" && verdicts[0] != "holds" {
				t.Errorf("%v: the correct protocol: %s", cfg, verdicts[0])
			}
		}
	}
}
