package explorer

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/raftcheck/raftcheck/checker"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/model/checking"
	"github.com/raftcheck/raftcheck/spec"
	"github.com/raftcheck/raftcheck/traces/replay"
)

// fromState is the model explored from one state instead of the initial
// one; everything else (symmetry, encoding, action kinds) is the adapter's.
type fromState struct {
	checking.Adapter
	start model.State
}

// Init returns the state the search starts from.
func (f fromState) Init() []model.State { return []model.State{f.start} }

// searchLine is one line of GET /api/search's answer: a result for one
// enabled action, sent as soon as its search ends, or the closing summary.
type searchLine struct {
	// Index is the enabled action searched from (-1 on the summary line).
	Index int `json:"index"`
	// Steps, when a violation was found, is how few steps (this action
	// included) reach it, and Property the property broken.
	Steps    int    `json:"steps,omitempty"`
	Property string `json:"property,omitempty"`
	// Complete says that no violation is reachable within Depth steps:
	// every state up to that depth was explored. When the budget ran out
	// first, Complete is false and Stopped says which limit cut it short.
	Complete bool   `json:"complete"`
	Stopped  string `json:"stopped,omitempty"`
	States   int64  `json:"states"`
	Depth    int    `json:"depth"`
	// Done marks the summary line, sent last.
	Done bool `json:"done,omitempty"`
	// CutShort, on the summary, counts the actions whose search the
	// budget cut short; Interrupted says the client went away.
	CutShort int `json:"cut_short,omitempty"`
}

// searchBudget is the bounds of one search, from the request or the
// server's defaults (a request may lower them, not raise them).
type searchBudget struct {
	depth  int
	states int64
	time   time.Duration
}

func (s *Server) searchBudget(r *http.Request) (searchBudget, error) {
	b := searchBudget{depth: s.opts.SearchDepth, states: s.opts.SearchStates, time: s.opts.SearchTime}
	q := r.URL.Query()
	if d := q.Get("depth"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > s.opts.SearchDepth {
			return b, bad("depth: %q is not a number of steps from 1 to %d", d, s.opts.SearchDepth)
		}
		b.depth = n
	}
	if v := q.Get("states"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > s.opts.SearchStates {
			return b, bad("states: %q is not a number of states from 1 to %d", v, s.opts.SearchStates)
		}
		b.states = n
	}
	return b, nil
}

// serveSearch searches, from the state the path reaches, each enabled
// action's successors breadth-first up to the depth and state budget, and
// streams one JSON line per action as its search completes (so the page
// marks the actions as results come), then a summary line.
func (s *Server) serveSearch(w http.ResponseWriter, r *http.Request) {
	path, err := s.requestPath(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	b, err := s.searchBudget(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	wk, err := s.walkPath(path)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	flusher, _ := w.(http.Flusher)
	n := len(path)
	cs := s.choices(&wk.states[n])
	deadline := time.Now().Add(b.time)
	sum := searchLine{Index: -1, Done: true, Complete: true, Depth: b.depth}
	for i, c := range cs {
		line := s.searchFrom(r, &wk.views[n], c, b, time.Until(deadline))
		line.Index = i
		sum.States += line.States
		if line.Property == "" && !line.Complete {
			sum.CutShort++
			sum.Complete = false
		}
		_ = enc.Encode(line)
		if flusher != nil {
			flusher.Flush()
		}
		if r.Context().Err() != nil {
			sum.Stopped = "interrupted"
			break
		}
	}
	_ = enc.Encode(sum)
}

// searchFrom searches from one enabled action: the step itself may break
// a transition property; otherwise the checker explores its successor.
func (s *Server) searchFrom(r *http.Request, before *spec.State, c choice, b searchBudget, left time.Duration) searchLine {
	after := s.view(&c.next)
	if br := replay.FirstBroken(before, &c.spec, &after); br != nil {
		return searchLine{Steps: 1, Property: br.Property, Complete: true, States: 1, Depth: 1}
	}
	if left <= 0 {
		return searchLine{Stopped: "time-limit", Depth: 0}
	}
	opts := checker.Options{Strategy: checker.BFS, Workers: 1, Symmetry: true, MaxDepth: b.depth,
		MaxStates: b.states, TimeLimit: left, Interrupt: r.Context().Done()}
	res, err := checker.Check[model.State, model.Action](fromState{Adapter: checking.Adapter{Model: s.m}, start: c.next},
		checking.Properties(s.m, nil), opts)
	if err != nil {
		return searchLine{Stopped: "error: " + err.Error()}
	}
	line := searchLine{States: res.Distinct, Depth: res.Depth}
	switch {
	case res.Violation != nil:
		line.Steps, line.Property, line.Complete = 1+res.Violation.Path.Len(), res.Violation.Property, true
	case res.Complete || res.Stopped == "max-depth":
		line.Complete = true
	default:
		line.Stopped = res.Stopped
	}
	return line
}
