// Package explorer is the interactive explorer of `explore serve`: a local
// web server whose page steps through the model's state space the way the
// classic Raft animation narrates a run, but driven by the model. The page
// shows the current state with the trace viewer's picture (traces/view),
// the enabled actions with a preview of each, the properties, and a
// bounded search telling which actions lead to a violation; it goes back,
// forward and branches, and exports the path as a trace that `explore
// replay` accepts, or replays it on the implementation beside the model.
//
// The server is stateless: a state is named by its path, the numbers of
// the enabled actions taken from the initial state ("2.0.5"), which the
// page keeps in its URL (?path=...), so a link reproduces a state. A trace
// given to the server opens at ?step=K. Every answer is JSON; a bad
// request gets {"error": "..."} with a 4xx status, never a panic.
package explorer

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net/http"
	"time"

	"github.com/raftcheck/raftcheck/conform"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/traces"
)

//go:embed assets
var assets embed.FS

// Options configures a Server.
type Options struct {
	// Config is the model's configuration (bounds and seeded bug).
	Config model.Config
	// Trace, if set, is the trace the page opens (a counterexample): its
	// steps are the path at ?step=K, with their captions.
	Trace *traces.Trace
	// Factory and Abstraction are the system the replay endpoint runs a
	// path on beside the model (conform.Replay); nil Factory: no replay.
	Factory     conform.Factory
	Abstraction conform.Abstraction
	// SearchStates and SearchDepth bound the search from the current
	// state (0: 20000 states per enabled action, 8 steps), SearchTime its
	// duration (0: 20s in all).
	SearchStates int64
	SearchDepth  int
	SearchTime   time.Duration
	// Command is the command line that started the server, recorded in
	// exported traces.
	Command string
}

// Server answers the explorer's page and its JSON API.
type Server struct {
	opts  Options
	m     *model.Model
	trace []int // the loaded trace as a path, nil without one
	mux   *http.ServeMux
}

// MaxBody bounds a request body (a trace to load or replay).
const MaxBody = 8 << 20

// New checks the options and returns the server. A loaded trace must be
// of this configuration and every step of it enabled in turn.
func New(opts Options) (*Server, error) {
	m, err := model.New(opts.Config)
	if err != nil {
		return nil, fmt.Errorf("explorer: configuration: %w", err)
	}
	if opts.SearchStates <= 0 {
		opts.SearchStates = 20000
	}
	if opts.SearchDepth <= 0 {
		opts.SearchDepth = 8
	}
	if opts.SearchTime <= 0 {
		opts.SearchTime = 20 * time.Second
	}
	s := &Server{opts: opts, m: m}
	if opts.Trace != nil {
		if s.trace, err = s.pathOf(opts.Trace); err != nil {
			return nil, fmt.Errorf("explorer: the trace: %w", err)
		}
	}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	sub, _ := fs.Sub(assets, "assets") // the directory is embedded: no error
	s.mux = http.NewServeMux()
	s.mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(sub)))
	s.mux.HandleFunc("GET /assets/picture.js", servePicture)
	s.mux.HandleFunc("GET /assets/viewer.css", servePictureCSS)
	s.mux.HandleFunc("GET /{$}", s.servePage)
	s.mux.HandleFunc("GET /api/state", s.serveState)
	s.mux.HandleFunc("GET /api/trace", s.serveTrace)
	s.mux.HandleFunc("GET /api/search", s.serveSearch)
	s.mux.HandleFunc("GET /api/export", s.serveExport)
	s.mux.HandleFunc("POST /api/load", s.serveLoad)
	s.mux.HandleFunc("POST /api/replay", s.serveReplay)
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no such endpoint: %s %s", r.Method, r.URL.Path))
	})
}

// csp lets the page load its own scripts and styles and talk to this
// server, nothing else: the page needs no network beyond it.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// ServeHTTP answers a request; a handler that panics answers 500 with a
// JSON error instead of dropping the connection.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			log.Printf("explore serve: internal error on %s: %v", r.URL, p)
			writeError(w, http.StatusInternalServerError, fmt.Errorf("internal error: %v", p))
		}
	}()
	w.Header().Set("Content-Security-Policy", csp)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	s.mux.ServeHTTP(w, r)
}

func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	b, err := assets.ReadFile("assets/index.html")
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b)
}

// apiError is the body of every error answer.
type apiError struct {
	Error string `json:"error"`
}

// badRequest marks an error as the client's (400).
type badRequest struct{ error }

func (e badRequest) Unwrap() error { return e.error }

func bad(format string, args ...any) error { return badRequest{fmt.Errorf(format, args...)} }

// writeError answers err as JSON: 400 for the client's mistakes, else
// status.
func writeError(w http.ResponseWriter, status int, err error) {
	var br badRequest
	if errors.As(err, &br) {
		status = http.StatusBadRequest
	}
	writeJSON(w, status, apiError{Error: err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
