package kv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	// ChangeMembership proposes a membership change and waits until it
	// is applied (node.Node.ChangeMembership).
	ChangeMembership(ctx context.Context, c raft.ConfChange) error
}

// peerSetter is what a Raft may also do: learn a server's Raft address
// (node.Node.SetPeer), which the server feeds from the replicated
// address table.
type peerSetter interface {
	SetPeer(id spec.ServerID, addr string) error
}

// Server serves the HTTP API of one raftkv server and executes commands
// through the log.
type Server struct {
	raft  Raft
	store *Store
	// httpPeers maps server ids to HTTP addresses (host:port), for
	// redirects to the leader.
	httpPeers map[spec.ServerID]string
	// RaftPeers are the Raft addresses the node was configured with,
	// shown by GET /members for servers the replicated address table
	// does not have (the initial ones). Optional.
	RaftPeers map[spec.ServerID]string
	// Timeout bounds how long a request waits for its command to commit
	// and apply (default 5s).
	Timeout time.Duration
	// MaxValue bounds a PUT body (default 1 MiB).
	MaxValue int64
	// ChangeTimeout bounds a membership change, a new server's catching
	// up included (default 30s).
	ChangeTimeout time.Duration
	// changing is held by the membership change in progress, so that a
	// second one is refused at once rather than half applied.
	changing sync.Mutex
}

// MaxKeyBytes bounds a key, counted in bytes after unescaping; a longer
// one is answered 414. Requests carry keys in their path, so this keeps
// requests well within MaxHeaderBytes.
const MaxKeyBytes = 1024

// NewServer returns the server of a node replicating store. httpPeers
// are the HTTP addresses the server was configured with; the replicated
// address table (OpAddress) takes precedence. If r can SetPeer (a
// *node.Node), the Raft addresses of the table are handed to it as they
// change, so that the node reaches servers added at run time.
func NewServer(r Raft, store *Store, httpPeers map[spec.ServerID]string) *Server {
	if ps, ok := r.(peerSetter); ok {
		store.OnAddresses(func(id spec.ServerID, a Addresses) {
			if a.Raft != "" {
				ps.SetPeer(id, a.Raft) // an error is for a closed node, or its own id: nothing to do
			}
		})
	}
	return &Server{raft: r, store: store, httpPeers: httpPeers, Timeout: 5 * time.Second, MaxValue: 1 << 20, ChangeTimeout: 30 * time.Second}
}

// ServeHTTP implements http.Handler. It routes requests itself rather
// than through http.ServeMux, which cleans paths (a//b, x/../y) and
// redirects to the cleaned path: a key is the rest of the escaped path
// after /kv/, unescaped once, so %2F is a slash within the key.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.EscapedPath(); {
	case strings.HasPrefix(p, "/kv/"):
		s.serveKey(w, r, p[len("/kv/"):])
	case p == "/status":
		if allowed(w, r, "/status", "GET", "HEAD") {
			s.status(w, r)
		}
	case p == "/members":
		s.serveMembers(w, r, "")
	case strings.HasPrefix(p, "/members/"):
		s.serveMembers(w, r, p[len("/members/"):])
	default:
		writeError(w, http.StatusNotFound, fmt.Sprintf("no such path %q; the API is /kv/{key}, /status and /members", p))
	}
}

func (s *Server) serveKey(w http.ResponseWriter, r *http.Request, escaped string) {
	if !allowed(w, r, "/kv/{key}", "DELETE", "GET", "HEAD", "PUT") {
		return
	}
	key, ok := parseKey(w, escaped)
	if !ok {
		return
	}
	switch r.Method {
	case "PUT":
		s.put(w, r, key)
	case "DELETE":
		s.write(w, r, Command{Op: OpDelete, Key: key})
	default:
		s.get(w, r, key)
	}
}

// allowed reports whether r's method is one of methods, and otherwise
// answers 405 with the Allow header.
func allowed(w http.ResponseWriter, r *http.Request, resource string, methods ...string) bool {
	if slices.Contains(methods, r.Method) {
		return true
	}
	allow := strings.Join(methods, ", ")
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed on %s; allowed: %s", r.Method, resource, allow))
	return false
}

// parseKey unescapes the key part of a path, or answers 400 (empty or
// badly escaped) or 414 (longer than MaxKeyBytes).
func parseKey(w http.ResponseWriter, escaped string) (string, bool) {
	key, err := url.PathUnescape(escaped)
	switch {
	case err != nil:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("key %q: %v", escaped, err))
	case key == "":
		writeError(w, http.StatusBadRequest, "empty key: the path is /kv/{key}")
	case len(key) > MaxKeyBytes:
		writeError(w, http.StatusRequestURITooLong, fmt.Sprintf("key is %d bytes; the limit is %d", len(key), MaxKeyBytes))
	default:
		return key, true
	}
	return "", false
}

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
		return Result{}, outcomeUnknown(err)
	}
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		return Result{}, outcomeUnknown(ctx.Err())
	}
}

// outcomeUnknown turns a deadline into ErrTimeout: a proposal that timed
// out may still be in the log and commit later.
func outcomeUnknown(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return ErrTimeout
	}
	return err
}

// Request headers for deduplicated writes: a client that retries a PUT or
// DELETE sends the same pair, and a command already applied is not
// applied again.
const (
	HeaderClient = "Raftkv-Client" // nonzero uint64
	HeaderSeq    = "Raftkv-Seq"    // uint64 >= 1, increasing per client
)

func (s *Server) put(w http.ResponseWriter, r *http.Request, key string) {
	if r.ContentLength > s.MaxValue {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("value is %d bytes; the limit is %d", r.ContentLength, s.MaxValue))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.MaxValue))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge): // a chunked body, of no announced length
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("value is more than the limit of %d bytes", tooLarge.Limit))
	case err != nil:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("reading the value: %v", err))
	default:
		s.write(w, r, Command{Op: OpPut, Key: key, Value: string(body)})
	}
}

func (s *Server) write(w http.ResponseWriter, r *http.Request, c Command) {
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

func (s *Server) get(w http.ResponseWriter, r *http.Request, key string) {
	res, ok := s.execute(w, r, Command{Op: OpGet, Key: key})
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
		if !st.Config.Members().Has(st.ID) {
			writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("server %d is not a member of the cluster's configuration %v "+
				"(it was removed, or has not been added yet); send requests to a member", st.ID, st.Config))
			return Result{}, false
		}
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
// known. The Location keeps the escaped path as the client sent it, so
// the leader sees the same key.
func (s *Server) notLeader(w http.ResponseWriter, r *http.Request, leader spec.ServerID) {
	_, addr := s.addresses(leader)
	if leader == spec.None || addr == "" {
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

// ErrorJSON is the body of every error response (4xx and 5xx).
type ErrorJSON struct {
	Error string `json:"error"`
}

// errorJSON is an error response's body, a line of JSON.
func errorJSON(msg string) []byte {
	b, _ := json.Marshal(ErrorJSON{msg}) // cannot fail: a struct of a string
	return append(b, '\n')
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(errorJSON(msg))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
