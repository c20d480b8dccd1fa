package explorer

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/spec"
	"github.com/raftcheck/raftcheck/traces"
	"github.com/raftcheck/raftcheck/traces/replay"
	"github.com/raftcheck/raftcheck/traces/view"
)

// MaxPath bounds the length of a path in a request.
const MaxPath = 10000

// choice is an action enabled in a state with its successor.
type choice struct {
	action model.Action
	spec   spec.Action
	next   model.State
}

// choices lists the actions enabled in st, in the model's fixed order:
// their positions are what a path records.
func (s *Server) choices(st *model.State) []choice {
	var out []choice
	for _, a := range s.m.Actions(st, nil) {
		var next model.State
		if s.m.Next(st, a, &next) {
			out = append(out, choice{action: a, spec: s.m.SpecAction(st, a), next: next})
		}
	}
	return out
}

// walk is a path taken from the initial state: the states along it (one
// more than the steps), their views, and each step's action and the
// properties it broke.
type walk struct {
	states  []model.State
	views   []spec.State
	actions []spec.Action
	broken  []*replay.Broken
}

func (s *Server) view(st *model.State) spec.State {
	var v spec.State
	s.m.View(st, &v)
	return v
}

// walkPath takes path from the initial state; an index that names no
// enabled action is the client's mistake.
func (s *Server) walkPath(path []int) (*walk, error) {
	init := s.m.Init()
	w := &walk{states: []model.State{init}, views: []spec.State{s.view(&init)}}
	for k, i := range path {
		cur := &w.states[len(w.states)-1]
		cs := s.choices(cur)
		if i >= len(cs) {
			return nil, bad("path: step %d: action %d is not enabled (%d actions are)", k+1, i, len(cs))
		}
		c := cs[i]
		after := s.view(&c.next)
		w.broken = append(w.broken, replay.FirstBroken(&w.views[len(w.views)-1], &c.spec, &after))
		w.states, w.views, w.actions = append(w.states, c.next), append(w.views, after), append(w.actions, c.spec)
	}
	return w, nil
}

// parsePath reads "2.0.5" (or "" for the initial state).
func parsePath(q string) ([]int, error) {
	if q == "" {
		return nil, nil
	}
	parts := strings.Split(q, ".")
	if len(parts) > MaxPath {
		return nil, bad("path: %d steps, at most %d", len(parts), MaxPath)
	}
	out := make([]int, len(parts))
	for k, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || p != strconv.Itoa(n) {
			return nil, bad("path: step %d: %q is not an action number (want e.g. path=2.0.5)", k+1, p)
		}
		out[k] = n
	}
	return out, nil
}

// formatPath is parsePath's inverse.
func formatPath(path []int) string {
	parts := make([]string, len(path))
	for k, i := range path {
		parts[k] = strconv.Itoa(i)
	}
	return strings.Join(parts, ".")
}

// requestPath reads the path of a request: ?path=..., or ?step=K, the
// first K steps of the loaded trace.
func (s *Server) requestPath(r *http.Request) ([]int, error) {
	q := r.URL.Query()
	if k := q.Get("step"); k != "" {
		if q.Has("path") {
			return nil, bad("give path or step, not both")
		}
		if s.trace == nil {
			return nil, bad("step: no trace is loaded (start explore serve with a TRACE, or use path)")
		}
		n, err := strconv.Atoi(k)
		if err != nil || n < 0 || n > len(s.trace) {
			return nil, bad("step: %q is not a step of the %d-step trace", k, len(s.trace))
		}
		return s.trace[:n], nil
	}
	return parsePath(q.Get("path"))
}

// pathOf turns a trace into a path: each step's action must be enabled in
// turn. An action is matched by what it does (its successor's view), so a
// hand-written trace that leaves fields out, or lists a partition's groups
// in another order, still matches.
func (s *Server) pathOf(t *traces.Trace) ([]int, error) {
	if err := t.RequireRaft(); err != nil {
		return nil, err
	}
	if !sameConfig(t.Config, s.m.Config()) {
		return nil, fmt.Errorf("the trace is of another configuration (%v) than the explorer's (%v): start explore serve with the trace's bounds", t.Config, s.m.Config())
	}
	cur := s.m.Init()
	var path []int
	for k, st := range t.Steps {
		next, err := s.m.Step(cur, st.Action)
		if err != nil {
			return nil, fmt.Errorf("step %d: %w", k+1, err)
		}
		want := s.view(&next)
		i := s.indexOf(&cur, &want)
		if i < 0 {
			return nil, fmt.Errorf("step %d: %v is not among the enabled actions", k+1, st.Action)
		}
		path, cur = append(path, i), next
	}
	return path, nil
}

func (s *Server) indexOf(cur *model.State, want *spec.State) int {
	for i, c := range s.choices(cur) {
		v := s.view(&c.next)
		if len(replay.StateDiff(want, &v)) == 0 {
			return i
		}
	}
	return -1
}

func sameConfig(a, b model.Config) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// stateAnswer is GET /api/state: the current state after the path.
type stateAnswer struct {
	Config string `json:"config"`
	Path   string `json:"path"`
	// Steps lists the path's steps; Frame is the current state as the
	// pictures draw it (view.PictureFrame).
	Steps      []stepInfo      `json:"steps"`
	Frame      json.RawMessage `json:"frame"`
	Enabled    []actionInfo    `json:"enabled"`
	Properties []propertyInfo  `json:"properties"`
	// Violation is the first property broken along the path, if any.
	Violation *violationInfo `json:"violation,omitempty"`
}

type stepInfo struct {
	Index     int    `json:"index"`
	Text      string `json:"text"`
	Caption   string `json:"caption,omitempty"`
	Violation string `json:"violation,omitempty"`
}

type actionInfo struct {
	Index   int    `json:"index"`
	Kind    string `json:"kind"`
	Text    string `json:"text"`
	Preview string `json:"preview"`
	Caption string `json:"caption,omitempty"`
	// Breaks names the property this very step would break.
	Breaks string `json:"breaks,omitempty"`
	// Message is the action's message, for a click on it in the picture.
	Message *spec.Message `json:"message,omitempty"`
}

type propertyInfo struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Holds   bool   `json:"holds"`
	Message string `json:"message,omitempty"`
}

type violationInfo struct {
	Property string `json:"property"`
	Step     int    `json:"step"`
	Message  string `json:"message"`
}

func (s *Server) serveState(w http.ResponseWriter, r *http.Request) {
	path, err := s.requestPath(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	wk, err := s.walkPath(path)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	a, err := s.answer(path, wk)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) answer(path []int, wk *walk) (*stateAnswer, error) {
	n := len(path)
	a := &stateAnswer{Config: s.m.Config().String(), Path: formatPath(path), Steps: []stepInfo{}}
	for k := range wk.actions {
		info := stepInfo{Index: path[k], Text: wk.actions[k].String(), Caption: s.captionAt(path, k, wk)}
		if b := wk.broken[k]; b != nil {
			info.Violation = b.Property
			if a.Violation == nil {
				a.Violation = &violationInfo{Property: b.Property, Step: k + 1, Message: b.Message}
			}
		}
		a.Steps = append(a.Steps, info)
	}
	f := view.Frame{Step: n, Model: wk.views[n]}
	if n > 0 {
		f.Action, f.Caption = wk.actions[n-1], a.Steps[n-1].Caption
		if b := wk.broken[n-1]; b != nil {
			f.Violation, f.Message = b.Property, b.Message
		}
	}
	frame, err := view.PictureFrame(&f)
	if err != nil {
		return nil, err
	}
	a.Frame = frame
	a.Enabled = s.enabled(&wk.states[n], &wk.views[n])
	var last *replay.Broken
	if n > 0 {
		last = wk.broken[n-1]
	}
	a.Properties = properties(&wk.views[n], n > 0, last)
	return a, nil
}

// captionAt is step k's caption: the loaded trace's own where the path
// follows it, else the storyline's when the step matches one.
func (s *Server) captionAt(path []int, k int, wk *walk) string {
	if t := s.opts.Trace; t != nil && k < len(s.trace) && equalPrefix(path, s.trace, k+1) && t.Steps[k].Caption != "" {
		return t.Steps[k].Caption
	}
	return Caption(&wk.views[k], &wk.actions[k], &wk.views[k+1])
}

func equalPrefix(a, b []int, n int) bool {
	for i := range n {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// enabled describes the actions enabled in st, each with a one-line
// preview of what it changes.
func (s *Server) enabled(st *model.State, before *spec.State) []actionInfo {
	out := []actionInfo{}
	for i, c := range s.choices(st) {
		after := s.view(&c.next)
		info := actionInfo{Index: i, Kind: c.spec.Kind.String(), Text: c.spec.String(),
			Preview: Preview(before, &after), Caption: Caption(before, &c.spec, &after), Message: c.spec.Message}
		if b := replay.FirstBroken(before, &c.spec, &after); b != nil {
			info.Breaks = b.Property
		}
		out = append(out, info)
	}
	return out
}

// properties evaluates every invariant in the state and, after a step,
// every transition property on it (the broken ones are in last).
func properties(st *spec.State, stepped bool, last *replay.Broken) []propertyInfo {
	var out []propertyInfo
	for _, p := range spec.Invariants {
		info := propertyInfo{Name: p.Name, Kind: "invariant", Holds: true}
		if err := p.Check(st); err != nil {
			info.Holds, info.Message = false, err.Error()
		}
		out = append(out, info)
	}
	for _, p := range spec.TransitionProperties {
		info := propertyInfo{Name: p.Name, Kind: "transition", Holds: true}
		if !stepped {
			info.Message = "no step yet"
		} else if last.Breaks(p.Name) {
			info.Holds = false
			if last.Property == p.Name {
				info.Message = last.Message
			}
		}
		out = append(out, info)
	}
	return out
}

// Preview renders on one line what a step changes (view.StepChanges'
// lines joined), cut to a length a list shows.
func Preview(before, after *spec.State) string {
	lines := strings.Split(strings.TrimSpace(view.StepChanges(before, after)), "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	p := strings.Join(lines, "; ")
	if r := []rune(p); len(r) > 160 {
		p = string(r[:159]) + "…"
	}
	return p
}
