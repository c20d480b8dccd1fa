package validate_test

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/spec"
	"github.com/raftcheck/raftcheck/traces"
	"github.com/raftcheck/raftcheck/traces/validate"
)

// The cross-check: the validator's reference is another reading of the
// protocol than the model's, so model paths are turned into event logs and
// must validate. Each model step becomes an event of the acting server
// with every message the step put in flight (ids assigned per copy, a
// duplicate keeping its original's id) and the server's whole state after
// the step: term, vote, role, log length, last term, commit index,
// snapshot index and the entire log (as "entries"). So on every step the
// validator's deterministic rules must give exactly the model's state,
// every send of the model must be allowed by the sender's reconstructed
// state, every reply must be the rule's reply, and spec's invariants hold
// on the reconstruction after every event.

// translator turns a model path into event logs.
type translator struct {
	logs   [][]validate.Event
	ids    map[string][]string // in flight: message → the id of each copy
	counts []int
}

func newTranslator(n int) *translator {
	return &translator{logs: make([][]validate.Event, n), ids: map[string][]string{}, counts: make([]int, n+1)}
}

func msgKey(m *spec.Message) string { return fmt.Sprintf("%+v", *m) }

func countNet(st *spec.State) map[string]int {
	c := map[string]int{}
	for _, f := range st.Network {
		c[msgKey(&f.Message)] += f.Count
	}
	return c
}

// step records the model step before --a--> after.
func (tr *translator) step(before, after *spec.State, a spec.Action) error {
	cb, ca := countNet(before), countNet(after)
	ev := validate.Event{Kind: map[spec.ActionKind]validate.Kind{spec.Timeout: validate.Timeout, spec.Heartbeat: validate.Heartbeat,
		spec.ClientRequest: validate.ClientRequest, spec.Restart: validate.Restart, spec.Compact: validate.Compact, spec.Deliver: validate.Receive}[a.Kind]}
	id := a.Server
	switch a.Kind {
	case spec.Partition, spec.Heal:
		return nil
	case spec.Drop, spec.Duplicate:
		k := msgKey(a.Message)
		if a.Kind == spec.Drop {
			tr.ids[k] = tr.ids[k][1:]
		} else {
			tr.ids[k] = append(tr.ids[k], tr.ids[k][0])
		}
		return nil
	case spec.ClientRequest:
		ev.Values = []spec.Value{a.Value}
	case spec.Compact:
		ev.Index = after.Servers[id-1].SnapshotIndex
	case spec.Deliver:
		k := msgKey(a.Message)
		id = a.Message.To
		ev.Msg = &validate.Message{ID: tr.ids[k][0], Message: *a.Message}
		tr.ids[k] = tr.ids[k][1:]
		cb[k]--
	case spec.AddServer, spec.RemoveServer, spec.AddLearner, spec.EnterJoint, spec.LeaveJoint:
		ev.Kind = validate.Reconfigure
		log := after.Servers[id-1].Log
		c := log[len(log)-1].Configuration()
		ev.Config = &c
	case spec.Wipe:
		// A blank disk under the old id: to the validator a restart whose
		// recovered state is not the state the server had.
		ev.Kind = validate.Restart
	case spec.Tick:
		// A tick changes a timer, which no event records, or is a leader's
		// heartbeat.
		if maps.Equal(ca, cb) {
			return nil
		}
		ev.Kind = validate.Heartbeat
	case spec.Timeout, spec.Heartbeat, spec.Restart:
	default:
		return fmt.Errorf("action %v not translated", a.Kind)
	}
	for _, f := range after.Network {
		k := msgKey(&f.Message)
		for range ca[k] - cb[k] {
			if f.Message.From != id {
				return fmt.Errorf("%v: message %v from another server than %v", a, f.Message, id)
			}
			tr.counts[id]++
			mid := fmt.Sprintf("S%d#%d", id, tr.counts[id])
			tr.ids[k] = append(tr.ids[k], mid)
			ev.Sent = append(ev.Sent, validate.Message{ID: mid, Message: f.Message})
		}
		cb[k] = ca[k] // counted once per distinct message
	}
	tr.record(id, ev, &after.Servers[id-1])
	return nil
}

func (tr *translator) record(id spec.ServerID, ev validate.Event, v *spec.View) {
	lastTerm, n := spec.LastTerm(v.Log), spec.Index(len(v.Log))
	term, vote, role, commit, snap := v.Term, v.VotedFor, v.Role, v.CommitIndex, v.SnapshotIndex
	ev.Server, ev.Seq = id, uint64(len(tr.logs[id-1])+1)
	ev.State = &validate.State{Term: &term, Vote: &vote, Role: &role, LogLen: &n, LastTerm: &lastTerm, Commit: &commit, Snapshot: &snap}
	ev.Entries = append([]spec.Entry(nil), v.Log...)
	tr.logs[id-1] = append(tr.logs[id-1], ev)
}

// walk takes a seeded random walk of depth steps and returns its logs.
func walk(t *testing.T, m *model.Model, seed uint64, depth int) ([][]validate.Event, int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	s := m.Init()
	var before, after spec.State
	tr := newTranslator(m.Config().Servers + m.Config().Joiners)
	steps := 0
	for range depth {
		acts := m.Actions(&s, nil)
		if len(acts) == 0 {
			break
		}
		a := acts[rng.IntN(len(acts))]
		sa := m.SpecAction(&s, a)
		var out model.State
		if !m.Next(&s, a, &out) {
			t.Fatalf("seed %d: enabled action %v not taken", seed, sa)
		}
		m.View(&s, &before)
		m.View(&out, &after)
		if err := tr.step(&before, &after, sa); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		s = out
		steps++
	}
	return tr.logs, steps
}

// crossConfigs are the model configurations of the cross-check.
func crossConfigs() map[string]model.Config {
	base := model.DefaultConfig()
	base.MaxTerm, base.MaxValues, base.MaxMsgs, base.MaxCopies, base.MaxDups, base.MaxDrops, base.MaxRestarts = 4, 4, 5, 2, 2, 2, 2
	out := map[string]model.Config{"figure2": base}
	c := base
	c.MaxSnapshots = 2
	out["snapshots"] = c
	c = base
	c.ConflictHint, c.ReplicateOnPropose, c.MaxBatch = true, true, 1
	out["hint+replicate+batch"] = c
	c = base
	c.MaxInflight = 2
	out["pipelining"] = c
	c = base
	c.MaxReconfigs, c.Joiners = 2, 1
	out["membership"] = c
	c = model.DefaultConfigFor(5)
	c.MaxTerm, c.MaxValues, c.MaxMsgs = 3, 3, 6
	out["5 servers"] = c
	return out
}

// TestModelWalksValidate: random walks of the model validate, every step
// agreeing on the state, and one corrupted state field in a walk is
// reported at its event.
func TestModelWalksValidate(t *testing.T) {
	for name, cfg := range crossConfigs() {
		m, err := model.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		events := 0
		for _, seed := range seeds(150) {
			logs, steps := walk(t, m, seed, 60)
			res, err := validate.Validate(logs, validate.Options{CheckEvery: 1, Initial: spec.Configuration{Voters: spec.AllServers(cfg.Servers)}})
			if err != nil {
				t.Fatalf("%s seed %d (%d model steps): %v", name, seed, steps, err)
			}
			events += res.Events
			mutateOne(t, name, seed, logs, validate.Options{Initial: spec.Configuration{Voters: spec.AllServers(cfg.Servers)}})
		}
		if events < 1000 {
			t.Fatalf("%s: only %d events validated", name, events)
		}
		t.Logf("%s: %d model events validated", name, events)
	}
}

// mutateOne changes the term of one event of a validated walk: the
// failure must be at that event.
func mutateOne(t *testing.T, name string, seed uint64, logs [][]validate.Event, opts validate.Options) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 2))
	i := rng.IntN(len(logs))
	if len(logs[i]) == 0 {
		return
	}
	ev := &logs[i][rng.IntN(len(logs[i]))]
	*ev.State.Commit += 1
	_, err := validate.Validate(logs, opts)
	var f *validate.Failure
	if !errors.As(err, &f) || f.Event != ev {
		t.Fatalf("%s seed %d: commit of %v raised: got %v, want a failure at that event", name, seed, ev, err)
	}
}

// TestModelExhaustive validates every model path up to a small depth.
func TestModelExhaustive(t *testing.T) {
	if raceEnabled {
		t.Skip("75,126 single-threaded paths: 15 times slower under -race, and nothing to race; make test runs it without")
	}
	cfg := model.DefaultConfig()
	m, err := model.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const depth = 6
	paths := 0
	var dfs func(s model.State, path []spec.Action, states []model.State)
	dfs = func(s model.State, path []spec.Action, states []model.State) {
		acts := m.Actions(&s, nil)
		if len(path) == depth || len(acts) == 0 {
			paths++
			tr := newTranslator(cfg.Servers)
			var before, after spec.State
			for k, a := range path {
				m.View(&states[k], &before)
				m.View(&states[k+1], &after)
				if err := tr.step(&before, &after, a); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := validate.Validate(tr.logs, validate.Options{CheckEvery: 1}); err != nil {
				t.Fatalf("path %v: %v", path, err)
			}
			return
		}
		for _, a := range acts {
			var out model.State
			sa := m.SpecAction(&s, a)
			if m.Next(&s, a, &out) {
				dfs(out, append(path, sa), append(states, out))
			}
		}
	}
	s := m.Init()
	dfs(s, nil, []model.State{s})
	if paths < 1000 {
		t.Fatalf("only %d paths", paths)
	}
	t.Logf("%d model paths of depth %d validated", paths, depth)
}

// translateTrace replays a stored trace on the model of its
// configuration and turns the path into event logs; steps maps each event
// to the model step (1-based) it records.
func translateTrace(t *testing.T, file string) (*traces.Trace, [][]validate.Event, map[*validate.Event]int) {
	t.Helper()
	tr, err := traces.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(tr.Config)
	if err != nil {
		t.Fatal(err)
	}
	x := newTranslator(tr.Config.Servers + tr.Config.Joiners)
	s := m.Init()
	var before, after spec.State
	for k, st := range tr.Steps {
		out, err := m.Step(s, st.Action)
		if err != nil {
			t.Fatalf("%s step %d: %v", file, k+1, err)
		}
		m.View(&s, &before)
		m.View(&out, &after)
		if err := x.step(&before, &after, st.Action); err != nil {
			t.Fatalf("%s step %d: %v", file, k+1, err)
		}
		s = out
	}
	return tr, x.logs, stepsByEvent(tr, x)
}

// TestModelScenariosValidate: the stored scenarios of the correct model
// validate.
func TestModelScenariosValidate(t *testing.T) {
	files, err := filepath.Glob("../scenarios/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("stored scenarios: %v (%d files)", err, len(files))
	}
	for _, file := range files {
		tr, logs, _ := translateTrace(t, file)
		res, err := validate.Validate(logs, validate.Options{CheckEvery: 1, Initial: spec.Configuration{Voters: spec.AllServers(tr.Config.Servers)}})
		if err != nil || res.Events == 0 {
			t.Errorf("%s: %+v %v", file, res, err)
		}
	}
}

// TestModelBugsAreCaught replays the stored counterexample of every
// seeded bug of the model (traces/scenarios/bugs) on the buggy model,
// turns the path into event logs and validates it: each must fail, at a
// step no later than the one where the model's property check reports
// the violation. The validator's rules are the correct ones, so each bug
// shows up as the first step that breaks one.
func TestModelBugsAreCaught(t *testing.T) {
	files, err := filepath.Glob("../scenarios/bugs/*.json")
	if err != nil || len(files) < 15 {
		t.Fatalf("stored counterexamples: %v (%d files)", err, len(files))
	}
	for _, file := range files {
		tr, logs, stepOf := translateTrace(t, file)
		_, err = validate.Validate(logs, validate.Options{Initial: spec.Configuration{Voters: spec.AllServers(tr.Config.Servers)}})
		var f *validate.Failure
		if !errors.As(err, &f) || f.Event == nil {
			t.Errorf("%s (%s): not caught: %v", filepath.Base(file), tr.Config.Bug, err)
			continue
		}
		k := stepOf[f.Event]
		if tr.Violation != nil && k > tr.Violation.Step {
			t.Errorf("%s: caught at model step %d, after the violation at step %d: %v", filepath.Base(file), k, tr.Violation.Step, err)
		}
		t.Logf("%-36s model step %2d: %v", tr.Config.Bug, k, err)
	}
}

// actor is the server whose event a model action is.
func actor(a spec.Action) spec.ServerID {
	switch a.Kind {
	case spec.Deliver:
		return a.Message.To
	case spec.Drop, spec.Duplicate, spec.Partition, spec.Heal:
		return spec.None
	}
	return a.Server
}

// stepsByEvent maps each event of x's logs to the model step it records.
func stepsByEvent(tr *traces.Trace, x *translator) map[*validate.Event]int {
	out := map[*validate.Event]int{}
	next := make([]int, len(x.logs))
	for k, st := range tr.Steps {
		if id := actor(st.Action); id != spec.None {
			out[&x.logs[id-1][next[id-1]]] = k + 1
			next[id-1]++
		}
	}
	return out
}
