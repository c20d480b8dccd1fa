package checking

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/raftcheck/raftcheck/checker"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/spec"
)

// naive is a deliberately plain reference search: breadth-first, one
// goroutine, a Go map of full encoded states (canonical ones with
// symmetry), no fingerprints. It is slow and obviously right, and the
// explorer must agree with it exactly.
func naive(m *model.Model, symmetry bool) (distinct, generated int64, depth int) {
	key := func(s *model.State) string {
		if symmetry {
			return string(m.Canonical(nil, s))
		}
		return string(m.Encode(nil, s))
	}
	init := m.Init()
	seen := map[string]bool{key(&init): true}
	level := []model.State{init}
	generated, depth = 1, 1
	var acts []model.Action
	for len(level) > 0 {
		var next []model.State
		for i := range level {
			acts = m.Actions(&level[i], acts[:0])
			for _, a := range acts {
				var out model.State
				if !m.Next(&level[i], a, &out) {
					continue
				}
				generated++
				if k := key(&out); !seen[k] {
					seen[k] = true
					next = append(next, out)
				}
			}
		}
		if len(next) > 0 {
			depth++
		}
		level = next
	}
	return int64(len(seen)), generated, depth
}

// stateSpace marks a test that explores state spaces of 10^5 to 10^6
// states. The race detector makes that 15 times slower and finds nothing
// there (the model is single-threaded; the checker's concurrency is raced
// by its own tests and TestLimitsEndIncomplete), so under -race the test
// is skipped, and `make test` runs this package once more without it.
func stateSpace(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("state-space test: make test runs it without -race")
	}
}

func explore(t *testing.T, cfg model.Config, opts checker.Options) *checker.Result[model.State, model.Action] {
	t.Helper()
	m, err := model.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := checker.Check[model.State, model.Action](Adapter{m}, Properties(m, nil), opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// pinned are state-space sizes of small configurations. A change of the
// protocol's semantics changes them; update them only on purpose, after
// the naive search agrees.
var pinned = []struct {
	cfg                       model.Config
	distinct, generated       int64 // with symmetry
	distinctAll, generatedAll int64 // without
	depth                     int
}{
	{model.Config{Servers: 3, MaxTerm: 1, MaxValues: 1, MaxMsgs: 3, MaxCopies: 1}, 939, 2411, 5584, 14359, 29},
	{model.Config{Servers: 3, MaxTerm: 2, MaxValues: 1, MaxMsgs: 3, MaxCopies: 1}, 7488, 19226, 44869, 115213, 40},
	{model.Config{Servers: 3, MaxTerm: 1, MaxValues: 1, MaxMsgs: 2, MaxCopies: 2, MaxRestarts: 1, MaxPartitions: 1, MaxDrops: 1, MaxDups: 1}, 9536, 32468, 55660, 188200, 28},
	{model.Config{Servers: 4, MaxTerm: 1, MaxValues: 1, MaxMsgs: 4, MaxCopies: 1, MaxDrops: 1}, 8760, 33007, 184709, 687337, 41},
}

func TestPinnedStateCounts(t *testing.T) {
	stateSpace(t)
	for _, p := range pinned {
		m := model.MustNew(p.cfg)
		for _, sym := range []bool{true, false} {
			wantD, wantG := p.distinct, p.generated
			if !sym {
				wantD, wantG = p.distinctAll, p.generatedAll
			}
			nd, ng, ndepth := naive(m, sym)
			if nd != wantD || ng != wantG || ndepth != p.depth {
				t.Errorf("%v symmetry=%v: naive search gives %d distinct, %d generated, depth %d; pinned %d, %d, %d",
					p.cfg, sym, nd, ng, ndepth, wantD, wantG, p.depth)
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
			}
		}
	}
}

// TestSymmetryOrbits checks that the reduced count is consistent with the
// orbit sizes: every canonical representative stands for as many full
// states as it has distinct renamings, and those add up to the count
// without symmetry.
func TestSymmetryOrbits(t *testing.T) {
	stateSpace(t)
	for _, p := range pinned {
		m := model.MustNew(p.cfg)
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
		perms := permutations(p.cfg.Servers)
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
			if len(perms)%len(orbit) != 0 {
				t.Fatalf("%v: orbit of size %d does not divide %d", p.cfg, len(orbit), len(perms))
			}
			total += int64(len(orbit))
		}
		if int64(len(reps)) != p.distinct || total != p.distinctAll {
			t.Errorf("%v: %d representatives with orbits adding up to %d; want %d and %d", p.cfg, len(reps), total, p.distinct, p.distinctAll)
		}
	}
}

func permutations(n int) [][]uint8 {
	if n == 0 {
		return [][]uint8{{}}
	}
	var out [][]uint8
	for _, p := range permutations(n - 1) {
		for pos := 0; pos <= len(p); pos++ {
			q := append(append(append([]uint8{}, p[:pos]...), uint8(n-1)), p[pos:]...)
			out = append(out, q)
		}
	}
	return out
}

// TestSymmetrySoundVerdicts: with and without symmetry every property
// verdict is the same, for the correct model and for seeded bugs, and the
// counterexamples have the same length (both are shortest).
func TestSymmetrySoundVerdicts(t *testing.T) {
	stateSpace(t)
	cfgs := []model.Config{
		{Servers: 3, MaxTerm: 2, MaxValues: 1, MaxMsgs: 3, MaxCopies: 1, MaxRestarts: 1},
		{Servers: 3, MaxTerm: 2, MaxValues: 2, MaxMsgs: 3, MaxCopies: 1},
	}
	for _, cfg := range cfgs {
		for _, bug := range append([]string{""}, model.BugNames()...) {
			c := cfg
			c.Bug = bug
			var verdicts [2]string
			for i, sym := range []bool{true, false} {
				res := explore(t, c, checker.Options{Workers: 2, Symmetry: sym})
				verdicts[i] = "holds"
				if v := res.Violation; v != nil {
					verdicts[i] = fmt.Sprintf("%s after %d steps", v.Property, v.Path.Len())
				}
			}
			if verdicts[0] != verdicts[1] {
				t.Errorf("%v bug %q: with symmetry %s, without %s", cfg, bug, verdicts[0], verdicts[1])
			}
		}
	}
	// With a joiner, symmetry permutes the members and the joiner apart:
	// the same verdicts for the correct model and the membership bugs.
	cfg := model.Config{Servers: 3, Joiners: 1, MaxReconfigs: 1, MaxTerm: 2, MaxValues: 1, MaxMsgs: 3, MaxCopies: 1}
	for _, b := range append([]model.Bug{{}}, model.Bugs...) {
		if b.Name != "" && b.Bounds.MaxReconfigs == 0 {
			continue
		}
		cfg.Bug = b.Name
		var verdicts [2]string
		for i, sym := range []bool{true, false} {
			res := explore(t, cfg, checker.Options{Workers: 2, Symmetry: sym})
			verdicts[i] = fmt.Sprintf("holds in %d states", res.Distinct)
			if v := res.Violation; v != nil {
				verdicts[i] = fmt.Sprintf("%s after %d steps", v.Property, v.Path.Len())
			}
		}
		if verdicts[0] == verdicts[1] && b.Name == "" {
			t.Errorf("correct model with a joiner: symmetry reduces nothing (%s)", verdicts[0])
		}
		if strings.HasPrefix(verdicts[0], "holds") != strings.HasPrefix(verdicts[1], "holds") ||
			(!strings.HasPrefix(verdicts[0], "holds") && verdicts[0] != verdicts[1]) {
			t.Errorf("%v: with symmetry %s, without %s", cfg, verdicts[0], verdicts[1])
		}
	}
}

// TestSeededBugsFound runs every seeded bug at its documented bounds: each
// is found with a counterexample no longer than documented, breaking the
// documented property, and the counterexample replays on the model through
// the shared vocabulary and violates that property there too. The negative
// control is not reported, although its mutation does change behaviour.
func TestSeededBugsFound(t *testing.T) {
	stateSpace(t)
	for _, b := range model.Bugs {
		t.Run(b.Name, func(t *testing.T) {
			cfg := b.Bounds
			cfg.Bug = b.Name
			strategy, err := checker.ParseStrategy(b.Strategy)
			if b.Strategy == "" {
				strategy, err = checker.BFS, nil
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.Breaks == "" {
				// Run the control at a smaller configuration than its
				// documented one (which `explore check --bug` covers).
				cfg = model.Config{Servers: 3, MaxTerm: 2, MaxValues: 1, MaxMsgs: 3, MaxCopies: 1, MaxRestarts: 1, MaxDrops: 1, Bug: b.Name}
			}
			res := explore(t, cfg, checker.Options{Workers: 2, Symmetry: true, Strategy: strategy})
			if b.Breaks == "" {
				if res.Violation != nil {
					t.Fatalf("negative control reported: %s: %v", res.Violation.Property, res.Violation.Err)
				}
				correct := cfg
				correct.Bug = ""
				if plain := explore(t, correct, checker.Options{Workers: 2, Symmetry: true}); plain.Distinct == res.Distinct {
					t.Fatalf("the mutation changes nothing: %d states with and without it", res.Distinct)
				}
				return
			}
			v := res.Violation
			if v == nil {
				t.Fatalf("not found at %v", cfg)
			}
			// One worker finds the same counterexample with the same counts
			// (checked on the bugs of up to 2M states; the determinism of
			// larger runs is TestPinnedStateCounts' and the checker's).
			if res.Distinct > 2_000_000 {
				return
			}
			if one := explore(t, cfg, checker.Options{Workers: 1, Symmetry: true, Strategy: strategy}); one.Violation == nil ||
				one.Distinct != res.Distinct || one.Generated != res.Generated || !reflect.DeepEqual(one.Coverage, res.Coverage) ||
				!reflect.DeepEqual(one.Violation.Path, v.Path) {
				t.Fatalf("1 and 2 workers differ: %d/%d vs %d/%d states", one.Distinct, one.Generated, res.Distinct, res.Generated)
			}
			if v.Property != b.Breaks || v.Path.Len() > b.MaxLength {
				t.Fatalf("found %s after %d steps; documented %s within %d", v.Property, v.Path.Len(), b.Breaks, b.MaxLength)
			}
			if b.Bounds.MaxReconfigs > 0 && v.Path.Len() != b.MaxLength {
				t.Fatalf("found after %d steps; the membership bugs pin their length, %d", v.Path.Len(), b.MaxLength)
			}
			replayViolation(t, model.MustNew(cfg), v)
		})
	}
}

// TestMembershipFixesHold: the correct protocol at each membership bug's
// bounds (with a client value, so that a leader can commit an entry of
// its term and change the configuration) has no counterexample as short
// as the bug's (the full spaces reach tens of millions of states), and
// changes the membership both ways: each mutation, not the bounds, makes
// its counterexample.
func TestMembershipFixesHold(t *testing.T) {
	stateSpace(t)
	for _, b := range model.Bugs {
		if b.Bounds.MaxReconfigs == 0 {
			continue
		}
		cfg := b.Bounds
		cfg.MaxValues = max(cfg.MaxValues, 1)
		res := explore(t, cfg, checker.Options{Workers: 2, Symmetry: true, MaxDepth: b.MaxLength})
		if v := res.Violation; v != nil {
			t.Fatalf("%s's bounds, correct protocol: %s: %v", b.Name, v.Property, v.Err)
		}
		if res.Depth < b.MaxLength {
			t.Fatalf("%s's bounds: explored to depth %d only", b.Name, res.Depth)
		}
		kinds := []spec.ActionKind{spec.AddServer, spec.RemoveServer}
		switch {
		case b.Bounds.Reconfig == model.ReconfigJoint:
			// LeaveJoint comes after the joint entry commits, deeper than
			// these counterexamples (TestPinnedMembershipCounts fires it).
			kinds = []spec.ActionKind{spec.EnterJoint}
		case b.Name == "rejoin-blank-disk":
			// One change among three members: a removal (the correct
			// protocol never wipes, so Wipe cannot fire).
			kinds = []spec.ActionKind{spec.RemoveServer}
		case b.Name == "count-nonmember-votes":
			kinds = nil // its counterexample is a first election, before any change
		}
		for _, k := range kinds {
			if c := &res.Coverage; c.Fired[int(k)-1] == 0 || c.New[int(k)-1] == 0 {
				t.Errorf("%s's bounds: %v fired %d times, %d new states", b.Name, k, c.Fired[int(k)-1], c.New[int(k)-1])
			}
		}
		t.Logf("%s's bounds: %d states, %d generated", b.Name, res.Distinct, res.Generated)
	}
}

// replayViolation replays a counterexample on the model through
// model.Step, from spec actions alone, and checks the claimed property on
// the spec states.
func replayViolation(t *testing.T, m *model.Model, v *checker.Violation[model.State, model.Action]) {
	t.Helper()
	_, steps := SpecPath(m, &v.Path)
	s := m.Init()
	var before, after spec.State
	m.View(&s, &after)
	for i, st := range steps {
		before = after.Clone()
		next, err := m.Step(s, st.Action)
		if err != nil {
			t.Fatalf("step %d %v: %v", i+1, st.Action, err)
		}
		s = next
		m.View(&s, &after)
		if diff := viewDiff(&after, &st.State); diff != "" {
			t.Fatalf("step %d %v: replayed state differs: %s", i+1, st.Action, diff)
		}
		last := i == len(steps)-1
		errInv := spec.CheckAll(&after, []string{v.Property})
		errStep := spec.CheckStep(&before, &st.Action, &after, []string{v.Property})
		if broken := errInv != nil || errStep != nil; broken != last {
			t.Fatalf("step %d: property %s broken=%v (%v, %v), want broken only at the last step", i+1, v.Property, broken, errInv, errStep)
		}
		if last {
			// The explanation names the servers of the path, not those of
			// a renamed representative.
			got := v.Property + ": " + v.Err.Error()
			if (errInv != nil && errInv.Error() != got) || (errStep != nil && errStep.Error() != got) {
				t.Fatalf("the violation says %q, the replayed path %v / %v", got, errInv, errStep)
			}
		}
	}
}

func viewDiff(a, b *spec.State) string {
	if len(a.Servers) != len(b.Servers) {
		return "server count"
	}
	for i := range a.Servers {
		if d := a.Servers[i].Diff(&b.Servers[i]); len(d) > 0 {
			return fmt.Sprint(d)
		}
	}
	if a.String() != b.String() {
		return "\n" + a.String() + "\nvs\n" + b.String()
	}
	return ""
}

// TestLimitsEndIncomplete: each limit ends a run cleanly, as incomplete,
// with what was covered.
func TestLimitsEndIncomplete(t *testing.T) {
	cfg := model.Config{Servers: 3, MaxTerm: 2, MaxValues: 1, MaxMsgs: 3, MaxCopies: 1, MaxRestarts: 1}
	full := explore(t, cfg, checker.Options{Workers: 2, Symmetry: true})
	for _, c := range []struct {
		opts checker.Options
		why  string
	}{
		{checker.Options{MaxStates: full.Distinct / 2}, "max-states"},
		{checker.Options{MaxDepth: full.Depth / 2}, "max-depth"},
	} {
		c.opts.Workers, c.opts.Symmetry = 2, true
		res := explore(t, cfg, c.opts)
		if res.Complete || res.Stopped != c.why || res.Distinct == 0 || res.Distinct >= full.Distinct {
			t.Errorf("%s: complete=%v stopped=%q distinct=%d of %d", c.why, res.Complete, res.Stopped, res.Distinct, full.Distinct)
		}
	}
	// A run cut short ends at the same place, with the same visited set
	// (its size once depended on how often one worker met a duplicate).
	cfg = model.DefaultConfig()
	cfg.MaxValues = 1
	var ref *checker.Result[model.State, model.Action]
	for _, w := range []int{1, 2, 3} {
		res := explore(t, cfg, checker.Options{Workers: w, Symmetry: true, MaxDepth: 17})
		if ref == nil {
			ref = res
		}
		if res.Distinct != ref.Distinct || res.Generated != ref.Generated || res.TableBytes != ref.TableBytes {
			t.Errorf("max-depth 17, %d workers: %d/%d states, %d table bytes; 1 worker %d/%d, %d", w,
				res.Distinct, res.Generated, res.TableBytes, ref.Distinct, ref.Generated, ref.TableBytes)
		}
	}
}

// TestNoCommitVisible: a configuration without client values never
// commits, and the coverage says so.
func TestNoCommitVisible(t *testing.T) {
	stateSpace(t)
	res := explore(t, model.Config{Servers: 3, MaxTerm: 2, MaxValues: 0, MaxMsgs: 3, MaxCopies: 1}, checker.Options{Workers: 1, Symmetry: true})
	reached := map[string]bool{}
	for _, g := range res.Goals {
		reached[g.Name] = g.Reached
	}
	if reached["value-committed"] || !reached["leader-above-term-1"] {
		t.Fatalf("goals %v", reached)
	}
	if res.Verdict() != checker.VerdictOK {
		t.Errorf("no values: verdict %s, want ok (value-committed is not expected without values)", res.Verdict())
	}
	res = explore(t, model.Config{Servers: 3, MaxTerm: 2, MaxValues: 2, MaxMsgs: 3, MaxCopies: 1, MaxRestarts: 1, MaxPartitions: 1}, checker.Options{Workers: 2, Symmetry: true})
	for _, g := range res.Goals {
		// Without drops and duplications those two goals are neither
		// reachable nor expected.
		if want := !slices.Contains([]string{"message-dropped", "message-duplicated", "snapshot-taken", "snapshot-installed"}, g.Name); g.Reached != want || g.Expected && !want {
			t.Errorf("goal %s reached %v expected %v", g.Name, g.Reached, g.Expected)
			continue
		}
		if g.Reached && g.Path == nil {
			t.Errorf("goal %s has no witness", g.Name)
		}
	}
	if res.Verdict() != checker.VerdictOK {
		t.Errorf("verdict %s, unreached %v", res.Verdict(), res.Unreached())
	}
}

// TestExpectedGoals: which goals a configuration promises follows its
// bounds.
func TestExpectedGoals(t *testing.T) {
	m := model.MustNew(model.Config{Servers: 3, MaxTerm: 1, MaxValues: 0, MaxMsgs: 2, MaxCopies: 2, MaxDups: 1, MaxRestarts: 1})
	got := map[string]bool{}
	for _, g := range Properties(m, nil)().Goals {
		got[g.Name] = g.Expected
	}
	want := map[string]bool{"leader-elected": true, "value-committed": false, "leader-above-term-1": false, "leader-stepped-down": false,
		"uncommitted-entry-overwritten": false, "partition-healed": false, "server-restarted": true, "message-dropped": false, "message-duplicated": true,
		"snapshot-taken": false, "snapshot-installed": false}
	if !maps.Equal(got, want) {
		t.Errorf("expected goals %v, want %v", got, want)
	}
}

// TestDefaultConfigHolds: the unmutated model satisfies every property at
// the default configuration (what make explore checks), every goal is
// reached, and the size is pinned.
func TestDefaultConfigHolds(t *testing.T) {
	stateSpace(t)
	res := explore(t, model.DefaultConfig(), checker.Options{Workers: 2, Symmetry: true})
	if res.Violation != nil || !res.Complete {
		t.Fatalf("violation %v, complete %v", res.Violation, res.Complete)
	}
	if res.Distinct != 5935433 || res.Generated != 22462928 || res.Depth != 57 {
		t.Errorf("%d distinct, %d generated, depth %d; pinned 5935433, 22462928, 57", res.Distinct, res.Generated, res.Depth)
	}
	for _, g := range res.Goals {
		if !g.Reached && g.Name != "message-duplicated" && g.Name != "snapshot-taken" && g.Name != "snapshot-installed" {
			t.Errorf("goal %s not reached", g.Name)
		}
	}
	if res.Verdict() != checker.VerdictOK {
		t.Errorf("verdict %s, unreached %v", res.Verdict(), res.Unreached())
	}
}
