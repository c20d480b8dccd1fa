package model

import (
	"encoding/json"
	"flag"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/raftcheck/raftcheck/spec"
)

var agreeSeed = flag.Uint64("agree.seed", 1, "seed of TestNativePropertiesAgree's walks")

// Every registered property has exactly one native check, and every
// native check is of a registered property.
func TestNativeChecksCoverTheRegistry(t *testing.T) {
	var inv, tr []string
	for _, p := range spec.Properties() {
		if p.Kind == spec.InvariantKind {
			inv = append(inv, p.Name)
		} else {
			tr = append(tr, p.Name)
		}
	}
	if got := slices.Sorted(maps.Keys(NativeInvariants)); !slices.Equal(got, slices.Sorted(slices.Values(inv))) {
		t.Errorf("native invariants %v, registry %v", got, inv)
	}
	if got := slices.Sorted(maps.Keys(NativeTransitions)); !slices.Equal(got, slices.Sorted(slices.Values(tr))) {
		t.Errorf("native transitions %v, registry %v", got, tr)
	}
	for _, b := range Bugs {
		if _, ok := spec.LookupProperty(b.Breaks); b.Breaks != "" && !ok {
			t.Errorf("bug %s breaks %q, not a registered property", b.Name, b.Breaks)
		}
	}
}

// agreement walks one configuration and compares every native check with
// its spec definition on every state and step, in both directions. It
// returns the properties it saw violated.
type agreement struct {
	t        *testing.T
	m        *Model
	violated map[string]int
}

func (a *agreement) state(s *State, where string) {
	var v spec.State
	a.m.PropertyView(s, &v)
	for _, p := range spec.Invariants {
		native, err := NativeInvariants[p.Name](a.m, s), p.Check(&v)
		if native != (err == nil) {
			a.t.Fatalf("%s: %s: native says holds=%v, spec says %v", where, p.Name, native, err)
		}
		if err != nil {
			a.violated[p.Name]++
		}
	}
}

func (a *agreement) step(b *State, act Action, s *State, where string) {
	var vb, va spec.State
	a.m.PropertyView(b, &vb)
	a.m.PropertyView(s, &va)
	sa := a.m.SpecAction(b, act)
	allNative := true
	for _, p := range spec.TransitionProperties {
		native, err := NativeTransitions[p.Name](a.m, b, act, s), p.Check(&vb, &sa, &va)
		if native != (err == nil) {
			a.t.Fatalf("%s: %v: %s: native says holds=%v, spec says %v", where, sa, p.Name, native, err)
		}
		allNative = allNative && native
		if err != nil {
			a.violated[p.Name]++
		}
	}
	if TransitionsHold(a.m, b, act, s) != allNative {
		a.t.Fatalf("%s: %v: TransitionsHold says %v, the individual checks %v", where, sa, !allNative, allNative)
	}
}

// walk takes up to n random steps, checking agreement all the way.
func (a *agreement) walk(rng *rand.Rand, n int, where string) {
	s := a.m.Init()
	a.state(&s, where)
	var acts []Action
	for range n {
		acts = a.m.Actions(&s, acts[:0])
		if len(acts) == 0 {
			return
		}
		act := acts[rng.IntN(len(acts))]
		var next State
		a.m.Next(&s, act, &next)
		a.step(&s, act, &next, where)
		a.state(&next, where)
		s = next
	}
}

// TestNativePropertiesAgree: on random walks of the correct model and of
// every seeded bug (at its documented bounds and at bigger ones), every
// native check gives the same verdict as its spec definition, on every
// state and step, both ways; and each bug's walks do reach a violation of
// the property it breaks, so the agreement is tested where it matters.
func TestNativePropertiesAgree(t *testing.T) {
	if raceEnabled {
		t.Skip("state-space test: make test runs it without -race")
	}
	t.Logf("seed %d (rerun: go test ./model -run TestNativePropertiesAgree -agree.seed=%[1]d)", *agreeSeed)
	type run struct {
		name string
		cfg  Config
		// must: the run has to reach a violation of the bug's property
		// (at the documented bounds; bigger ones add breadth only).
		must bool
	}
	runs := []run{{"correct default", DefaultConfig(), false}, {"correct 5 servers", testConfigs[1], false}}
	for _, b := range Bugs {
		cfg := b.Bounds
		cfg.Bug = b.Name
		runs = append(runs, run{b.Name, cfg, b.Breaks != ""})
		big := cfg
		big.MaxTerm, big.MaxValues, big.MaxMsgs = min(cfg.MaxTerm+1, MaxTerm), min(cfg.MaxValues+1, MaxLog), min(cfg.MaxMsgs+2, MaxInFlight)
		big.MaxRestarts, big.MaxDrops, big.MaxPartitions = max(cfg.MaxRestarts, 1), max(cfg.MaxDrops, 1), max(cfg.MaxPartitions, 1)
		runs = append(runs, run{b.Name + " bigger", big, false})
	}
	for k, r := range runs {
		a := &agreement{t: t, m: MustNew(r.cfg), violated: map[string]int{}}
		rng := rand.New(rand.NewPCG(*agreeSeed, uint64(k)))
		for range 1500 {
			a.walk(rng, 80, r.name)
		}
		if b, _ := LookupBug(r.cfg.Bug); r.must && a.violated[b.Breaks] == 0 {
			// Random walks rarely get this deep: check along the bug's
			// shortest counterexample too.
			a.path(t, b.Name, r.name)
			if a.violated[b.Breaks] == 0 {
				t.Errorf("%s: neither the walks nor the stored counterexample violated %s", r.name, b.Breaks)
			}
		}
		if r.cfg.Bug == "" && len(a.violated) > 0 {
			t.Errorf("%s: the correct model violated %v", r.name, a.violated)
		}
	}
}

// path checks agreement along the stored counterexample of the run's bug
// (traces/scenarios/bugs/NAME.json, the explorer's shortest one, which
// make test keeps up to date), read here without package traces, which
// imports this one.
func (a *agreement) path(t *testing.T, bug string, where string) {
	b, err := os.ReadFile(filepath.Join("..", "traces", "scenarios", "bugs", bug+".json"))
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	var tr struct {
		Steps []struct {
			Action spec.Action `json:"action"`
		} `json:"steps"`
	}
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	s := a.m.Init()
	a.state(&s, where)
	for i, st := range tr.Steps {
		next, err := a.m.Step(s, st.Action)
		if err != nil {
			t.Fatalf("%s: stored counterexample, step %d: %v", where, i+1, err)
		}
		act := a.actionOf(&s, &next)
		a.step(&s, act, &next, where+" (stored counterexample)")
		a.state(&next, where+" (stored counterexample)")
		s = next
	}
}

// actionOf finds the compact action that leads from s to next.
func (a *agreement) actionOf(s, next *State) Action {
	var out State
	for _, act := range a.m.Actions(s, nil) {
		if a.m.Next(s, act, &out) && out == *next {
			return act
		}
	}
	a.t.Fatal("no enumerated action leads to the stored step's state")
	return Action{}
}
