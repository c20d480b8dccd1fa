package explorer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/raftcheck/raftcheck/conform"
	"github.com/raftcheck/raftcheck/traces"
	"github.com/raftcheck/raftcheck/traces/replay"
	"github.com/raftcheck/raftcheck/traces/view"
)

// Export turns a path into a trace that `explore replay` accepts: its
// actions with their captions, the model's state after every step and,
// when a property breaks, the violation, at which the trace ends (a trace
// has no steps after its violation).
func (s *Server) Export(path []int) (*traces.Trace, error) {
	wk, err := s.walkPath(path)
	if err != nil {
		return nil, err
	}
	t := traces.New(s.m.Config(), traces.Producer{Tool: "explore serve", Command: s.opts.Command})
	for k, a := range wk.actions {
		t.Steps = append(t.Steps, traces.Step{Action: a, Caption: s.captionAt(path, k, wk)})
	}
	b, err := replay.Complete(t)
	if err != nil {
		return nil, fmt.Errorf("internal error: the path does not replay: %w", err)
	}
	t.Title = fmt.Sprintf("explored by hand: %d steps", len(t.Steps))
	if b != nil {
		t.Title = fmt.Sprintf("explored by hand: %s violated after %d steps", b.Property, b.Step)
	}
	return t, nil
}

// serveExport answers the path as a trace file, to download.
func (s *Server) serveExport(w http.ResponseWriter, r *http.Request) {
	path, err := s.requestPath(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	t, err := s.Export(path)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	b, err := t.Marshal()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="explored.json"`)
	_, _ = w.Write(b)
}

// traceAnswer is GET /api/trace and POST /api/load: a trace as a path.
type traceAnswer struct {
	Title string `json:"title,omitempty"`
	Path  string `json:"path"`
	Steps int    `json:"steps"`
	// Violation is the step the trace claims a violation at (0: none).
	Violation int `json:"violation,omitempty"`
}

func newTraceAnswer(t *traces.Trace, path []int) traceAnswer {
	a := traceAnswer{Title: t.Title, Path: formatPath(path), Steps: len(path)}
	if t.Violation != nil {
		a.Violation = t.Violation.Step
	}
	return a
}

// serveTrace answers the trace the server was started with.
func (s *Server) serveTrace(w http.ResponseWriter, r *http.Request) {
	if s.opts.Trace == nil {
		writeError(w, http.StatusNotFound, errors.New("no trace is loaded"))
		return
	}
	writeJSON(w, http.StatusOK, newTraceAnswer(s.opts.Trace, s.trace))
}

// readTrace reads a trace from a request's body.
func readTrace(w http.ResponseWriter, r *http.Request) (*traces.Trace, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		return nil, bad("reading the trace: %v", err)
	}
	t, err := traces.Parse(body)
	if err != nil {
		return nil, bad("the trace: %v", err)
	}
	return t, nil
}

// serveLoad turns a trace in the body into a path of this explorer.
func (s *Server) serveLoad(w http.ResponseWriter, r *http.Request) {
	t, err := readTrace(w, r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	path, err := s.pathOf(t)
	if err != nil {
		writeError(w, http.StatusBadRequest, bad("the trace: %v", err))
		return
	}
	writeJSON(w, http.StatusOK, newTraceAnswer(t, path))
}

// replayAnswer is POST /api/replay: the trace replayed on the model and
// the implementation in lockstep.
type replayAnswer struct {
	// OK says that the two agreed at every step and the trace replayed
	// as it claims; Verdict is the one-line outcome, Divergence the
	// first difference.
	OK         bool              `json:"ok"`
	Verdict    string            `json:"verdict"`
	Divergence []string          `json:"divergence,omitempty"`
	Frames     []json.RawMessage `json:"frames"`
}

// serveReplay replays the trace in the body (an export) on the system
// under test beside the model, as `explore replay --impl` does.
func (s *Server) serveReplay(w http.ResponseWriter, r *http.Request) {
	if s.opts.Factory == nil {
		writeError(w, http.StatusNotImplemented, errors.New("this explorer has no implementation to replay on"))
		return
	}
	t, err := readTrace(w, r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	res, err := conform.Replay(t, s.opts.Factory, s.opts.Abstraction)
	if err != nil {
		writeError(w, http.StatusBadRequest, bad("replaying the trace: %v", err))
		return
	}
	a := replayAnswer{OK: res.OK(), Verdict: verdict(res), Frames: []json.RawMessage{}}
	if d := res.Divergence; d != nil {
		a.Divergence = d.Lines()
	}
	for i := range res.Frames {
		b, err := view.PictureFrame(&res.Frames[i])
		if err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		a.Frames = append(a.Frames, b)
	}
	writeJSON(w, http.StatusOK, a)
}

// verdict says in one line how a replay on the implementation went.
func verdict(r *conform.Result) string {
	var parts []string
	if d := r.Divergence; d != nil {
		parts = append(parts, fmt.Sprintf("DIVERGED at step %d (%s)", d.Step, d.Kind))
	}
	if v := r.ImplBroken; v != nil {
		parts = append(parts, fmt.Sprintf("the implementation breaks %s at step %d", v.Property, v.Step))
	}
	for _, f := range r.Failures {
		parts = append(parts, "FAILED on the model: "+f)
	}
	if len(parts) == 0 {
		return fmt.Sprintf("OK: %d steps replayed on the model and the implementation with identical views and messages", r.Steps)
	}
	return strings.Join(parts, "; ")
}

func servePicture(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	_, _ = io.WriteString(w, view.PictureJS())
}

func servePictureCSS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	_, _ = io.WriteString(w, view.PictureCSS())
}
