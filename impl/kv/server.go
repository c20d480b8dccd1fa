package kv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/raftcheck/raftcheck/impl/node"
	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/spec"
)

// Raft is what the server needs of a node (a *node.Node, or a fake in
// tests).
type Raft interface {
	Propose(ctx context.Context, v spec.Value) error
	Status() node.Status
}

// Server serves the HTTP API of one raftkv server and executes commands
// through the log.
type Server struct {
	raft  Raft
	store *Store
	// httpPeers maps server ids to HTTP addresses (host:port), for
	// redirects to the leader.
	httpPeers map[spec.ServerID]string
	// Timeout bounds how long a request waits for its command to commit
	// and apply (default 5s).
	Timeout time.Duration
	// MaxValue bounds a PUT body (default 1 MiB).
	MaxValue int64
	mux      *http.ServeMux
}

// NewServer returns the server of a node replicating store.
func NewServer(r Raft, store *Store, httpPeers map[spec.ServerID]string) *Server {
	s := &Server{raft: r, store: store, httpPeers: httpPeers, Timeout: 5 * time.Second, MaxValue: 1 << 20, mux: http.NewServeMux()}
	s.mux.HandleFunc("PUT /kv/{key...}", s.put)
	s.mux.HandleFunc("GET /kv/{key...}", s.get)
	s.mux.HandleFunc("DELETE /kv/{key...}", s.del)
	s.mux.HandleFunc("GET /status", s.status)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Errors of Do besides the node's (a *raft.NotLeaderError when this server
// does not lead, node.ErrStopped) and the context's.
var (
	// ErrTimeout: the command was proposed but not applied in time; it
	// may still commit later (its outcome is unknown).
	ErrTimeout = errors.New("timed out waiting for the command to commit; its outcome is unknown")
)

// Do proposes c and waits until it is applied, returning its result. A
// Client of 0 gets a fresh random client id (a one-off request).
func (s *Server) Do(ctx context.Context, c Command) (Result, error) {
	if c.Client == 0 {
		c.Client = rand.Uint64() | 1
	}
	ch := s.store.wait(c.Client, c.Seq)
	defer s.store.cancel(c.Client, c.Seq, ch)
	if err := s.raft.Propose(ctx, c.Encode()); err != nil {
		return Result{}, err
	}
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return Result{}, ErrTimeout
		}
		return Result{}, ctx.Err()
	}
}

// Request headers for deduplicated writes: a client that retries a PUT or
// DELETE sends the same pair, and a command already applied is not
// applied again.
const (
	HeaderClient = "Raftkv-Client" // nonzero uint64
	HeaderSeq    = "Raftkv-Seq"    // uint64 >= 1, increasing per client
)

func (s *Server) put(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.MaxValue))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("reading the value: %v", err))
		return
	}
	s.write(w, r, Command{Op: OpPut, Value: string(body)})
}

func (s *Server) del(w http.ResponseWriter, r *http.Request) {
	s.write(w, r, Command{Op: OpDelete})
}

func (s *Server) write(w http.ResponseWriter, r *http.Request, c Command) {
	c.Key = r.PathValue("key")
	if c.Key == "" {
		writeError(w, http.StatusBadRequest, "empty key")
		return
	}
	if hc, hs := r.Header.Get(HeaderClient), r.Header.Get(HeaderSeq); hc != "" || hs != "" {
		var err1, err2 error
		c.Client, err1 = strconv.ParseUint(hc, 10, 64)
		c.Seq, err2 = strconv.ParseUint(hs, 10, 64)
		if err1 != nil || err2 != nil || c.Client == 0 || c.Seq == 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("%s and %s must both be set, to integers of at least 1", HeaderClient, HeaderSeq))
			return
		}
	}
	if _, ok := s.execute(w, r, c); ok {
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	c := Command{Op: OpGet, Key: r.PathValue("key")}
	if c.Key == "" {
		writeError(w, http.StatusBadRequest, "empty key")
		return
	}
	res, ok := s.execute(w, r, c)
	if !ok {
		return
	}
	if !res.Found {
		writeError(w, http.StatusNotFound, "no such key")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	io.WriteString(w, res.Value)
}

// execute runs c through the log, or answers the request itself with a
// redirect to the leader or an error. ok reports a result to write.
func (s *Server) execute(w http.ResponseWriter, r *http.Request, c Command) (Result, bool) {
	if st := s.raft.Status(); st.Role != spec.Leader {
		s.notLeader(w, r, st.Leader)
		return Result{}, false
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	res, err := s.Do(ctx, c)
	var nl *raft.NotLeaderError
	switch {
	case errors.As(err, &nl):
		s.notLeader(w, r, nl.Leader)
	case errors.Is(err, ErrTimeout), errors.Is(err, node.ErrStopped):
		writeError(w, http.StatusServiceUnavailable, err.Error())
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
	default:
		return res, true
	}
	return Result{}, false
}

// notLeader redirects to the leader's HTTP address (307 keeps the method
// and body, so curl -L re-sends a PUT), or answers 503 when no leader is
// known.
func (s *Server) notLeader(w http.ResponseWriter, r *http.Request, leader spec.ServerID) {
	addr, ok := s.httpPeers[leader]
	if leader == spec.None || !ok {
		writeError(w, http.StatusServiceUnavailable, "no leader known; retry shortly")
		return
	}
	http.Redirect(w, r, "http://"+addr+r.URL.RequestURI(), http.StatusTemporaryRedirect)
}

// StatusJSON is the body of GET /status.
type StatusJSON struct {
	ID            spec.ServerID `json:"id"`
	Role          string        `json:"role"`
	Term          spec.Term     `json:"term"`
	Leader        spec.ServerID `json:"leader"`
	CommitIndex   spec.Index    `json:"commit_index"`
	LastIndex     spec.Index    `json:"last_index"`
	AppliedIndex  spec.Index    `json:"applied_index"`
	SnapshotIndex spec.Index    `json:"snapshot_index"`
	Keys          int           `json:"keys"`
}

func (s *Server) status(w http.ResponseWriter, _ *http.Request) {
	st := s.raft.Status()
	writeJSON(w, http.StatusOK, StatusJSON{
		ID: st.ID, Role: st.Role.String(), Term: st.Term, Leader: st.Leader,
		CommitIndex: st.CommitIndex, LastIndex: st.LastIndex, AppliedIndex: st.Applied,
		SnapshotIndex: st.SnapshotIndex, Keys: s.store.Len(),
	})
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
