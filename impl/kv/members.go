package kv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"

	"github.com/raftcheck/raftcheck/impl/node"
	"github.com/raftcheck/raftcheck/impl/raft"
	"github.com/raftcheck/raftcheck/spec"
)

// The admin API: GET /members, POST /members, DELETE /members/{id}
// (cmd/raftkv/README.md). A new server is added as a learner first and
// promoted to a voter once it has caught up with the leader (thesis
// §4.2.1), so that it never counts towards a majority while it lacks
// entries. Its addresses go through the log first (OpAddress), so that
// every server can reach it.

// AddMemberJSON is the body of POST /members.
type AddMemberJSON struct {
	ID   spec.ServerID `json:"id"`
	Raft string        `json:"raft"`
	HTTP string        `json:"http"`
}

// MemberJSON is one member in GET /members.
type MemberJSON struct {
	ID spec.ServerID `json:"id"`
	// Role is "voter", "outgoing voter" (in C_old only, while joint) or
	// "learner".
	Role string `json:"role"`
	Raft string `json:"raft,omitempty"`
	HTTP string `json:"http,omitempty"`
}

// MembersJSON is the body of GET /members and of a successful POST or
// DELETE: this server's configuration in effect.
type MembersJSON struct {
	// Configuration renders it: {S1,S2,S3}, {S1,S2}&{S1,S2,S3} while
	// joint (C_new&C_old), +{S4} for learners.
	Configuration string          `json:"configuration"`
	Voters        []spec.ServerID `json:"voters"`
	Outgoing      []spec.ServerID `json:"outgoing,omitempty"`
	Learners      []spec.ServerID `json:"learners"`
	Joint         bool            `json:"joint"`
	// Pending: the configuration is not committed yet.
	Pending bool          `json:"pending"`
	Leader  spec.ServerID `json:"leader"`
	Members []MemberJSON  `json:"members"`
}

// serveMembers routes /members and /members/{id}.
func (s *Server) serveMembers(w http.ResponseWriter, r *http.Request, rest string) {
	if rest == "" {
		if !allowed(w, r, "/members", "GET", "HEAD", "POST") {
			return
		}
		if r.Method == "POST" {
			s.addMember(w, r)
		} else {
			writeJSON(w, http.StatusOK, s.members())
		}
		return
	}
	if !allowed(w, r, "/members/{id}", "DELETE") {
		return
	}
	id, err := parseServerID(rest)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("/members/%s: %v", rest, err))
		return
	}
	s.removeMember(w, r, id)
}

func parseServerID(s string) (spec.ServerID, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > spec.MaxServers || strconv.Itoa(n) != s {
		return spec.None, fmt.Errorf("%q is not a server id in 1..%d", s, spec.MaxServers)
	}
	return spec.ServerID(n), nil
}

// members describes this server's configuration with the addresses known.
func (s *Server) members() MembersJSON {
	st := s.raft.Status()
	c := st.Config
	out := MembersJSON{Configuration: c.String(), Voters: c.Voters.IDs(), Outgoing: c.Outgoing.IDs(),
		Learners: c.Learners.IDs(), Joint: c.Joint(), Pending: st.ConfigPending, Leader: st.Leader}
	if out.Learners == nil {
		out.Learners = []spec.ServerID{}
	}
	for _, id := range c.Members().IDs() {
		m := MemberJSON{ID: id, Role: "voter"}
		switch {
		case c.Learners.Has(id):
			m.Role = "learner"
		case !c.Voters.Has(id):
			m.Role = "outgoing voter"
		}
		m.Raft, m.HTTP = s.addresses(id)
		out.Members = append(out.Members, m)
	}
	return out
}

// addresses returns the Raft and HTTP addresses of id: the replicated
// table's, or the HTTP address the server was configured with.
func (s *Server) addresses(id spec.ServerID) (raftAddr, httpAddr string) {
	if a, ok := s.store.Addresses(id); ok {
		return a.Raft, a.HTTP
	}
	return s.RaftPeers[id], s.httpPeers[id]
}

// parseAddMember decodes a POST /members body strictly: one JSON object
// with exactly the known fields, an id in 1..MaxServers and two distinct
// host:port addresses.
func parseAddMember(r io.Reader) (AddMemberJSON, error) {
	var m AddMemberJSON
	d := json.NewDecoder(r)
	d.DisallowUnknownFields()
	if err := d.Decode(&m); err != nil {
		return m, fmt.Errorf("body: %v (want {\"id\": N, \"raft\": \"host:port\", \"http\": \"host:port\"})", err)
	}
	if d.More() {
		return m, errors.New("body: more than one JSON value")
	}
	if m.ID < 1 || m.ID > spec.MaxServers {
		return m, fmt.Errorf("id: %d is not a server id in 1..%d", m.ID, spec.MaxServers)
	}
	for _, f := range []struct{ name, addr string }{{"raft", m.Raft}, {"http", m.HTTP}} {
		if f.addr == "" {
			return m, fmt.Errorf("%s: missing (the new server's %s address, host:port)", f.name, map[string]string{"raft": "Raft", "http": "HTTP"}[f.name])
		}
		if err := checkHostPort(f.addr); err != nil {
			return m, fmt.Errorf("%s: %q: %v", f.name, f.addr, err)
		}
	}
	if m.Raft == m.HTTP {
		return m, fmt.Errorf("raft and http are the same address %s", m.Raft)
	}
	return m, nil
}

// checkHostPort accepts host:port with a non-empty host free of spaces and
// a port in 1..65535.
func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("not host:port")
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("port %q is not a number in 1..65535", port)
	}
	if host == "" || bytes.ContainsAny([]byte(host), " \t") {
		return fmt.Errorf("host %q is missing or has spaces", host)
	}
	return nil
}

// changeGuard answers 409 and returns false when no change may start:
// another one is running here, or the configuration in effect is joint or
// not committed yet.
func (s *Server) changeGuard(w http.ResponseWriter, st node.Status) bool {
	switch {
	case st.Config.Joint():
		writeError(w, http.StatusConflict, fmt.Sprintf("a joint configuration change is in progress (%v)", st.Config))
	case st.ConfigPending:
		writeError(w, http.StatusConflict, fmt.Sprintf("a membership change is in progress: configuration %v is not committed yet; retry shortly", st.Config))
	default:
		return true
	}
	return false
}

// leaderStatus returns the status if this server leads, or redirects
// (307 keeps the method and body) or answers 503.
func (s *Server) leaderStatus(w http.ResponseWriter, r *http.Request) (node.Status, bool) {
	st := s.raft.Status()
	if st.Role != spec.Leader {
		s.notLeader(w, r, st.Leader)
		return st, false
	}
	return st, true
}

func (s *Server) addMember(w http.ResponseWriter, r *http.Request) {
	m, err := parseAddMember(http.MaxBytesReader(w, r.Body, 4096))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !s.changing.TryLock() {
		writeError(w, http.StatusConflict, "another membership change is in progress on this server; retry when it is done")
		return
	}
	defer s.changing.Unlock()
	st, ok := s.leaderStatus(w, r)
	if !ok || !s.changeGuard(w, st) || !s.checkNewMember(w, st, m) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.ChangeTimeout)
	defer cancel()
	old, hadOld := s.store.Addresses(m.ID)
	if !s.setAddresses(ctx, w, r, m.ID, Addresses{Raft: m.Raft, HTTP: m.HTTP}) {
		return
	}
	if err := s.raft.ChangeMembership(ctx, raft.ConfChange{Kind: spec.AddLearner, Target: m.ID}); err != nil {
		// Nothing changed but the address table: put it back as it was.
		revert, cancelRevert := context.WithTimeout(context.Background(), s.Timeout)
		defer cancelRevert()
		if !hadOld {
			old = Addresses{}
		}
		s.Do(revert, Command{Op: OpAddress, Key: strconv.Itoa(int(m.ID)), Value: encodeOrEmpty(old)})
		s.changeFailed(w, r, err, fmt.Sprintf("adding server %d as a learner", m.ID))
		return
	}
	if err := s.raft.ChangeMembership(ctx, raft.ConfChange{Kind: spec.AddServer, Target: m.ID}); err != nil {
		s.changeFailed(w, r, err, fmt.Sprintf("server %d was added as a learner, but promoting it to a voter (once it has caught up with the leader)", m.ID))
		return
	}
	writeJSON(w, http.StatusOK, s.members())
}

func encodeOrEmpty(a Addresses) string {
	if a == (Addresses{}) {
		return ""
	}
	return EncodeAddresses(a)
}

// checkNewMember answers 409 when m is already a member or uses the
// address of another member.
func (s *Server) checkNewMember(w http.ResponseWriter, st node.Status, m AddMemberJSON) bool {
	c := st.Config
	if c.Members().Has(m.ID) {
		role := "a voter"
		if c.Learners.Has(m.ID) {
			role = "a learner"
		}
		writeError(w, http.StatusConflict, fmt.Sprintf("server %d is already a member (%s) of %v", m.ID, role, c))
		return false
	}
	for _, id := range c.Members().IDs() {
		raftAddr, httpAddr := s.addresses(id)
		if raftAddr == m.Raft || httpAddr == m.HTTP || raftAddr == m.HTTP || httpAddr == m.Raft {
			writeError(w, http.StatusConflict, fmt.Sprintf("an address of server %d is already that of member %d (raft %s, http %s)", m.ID, id, raftAddr, httpAddr))
			return false
		}
	}
	return true
}

// setAddresses replicates id's addresses and waits until they are applied
// here (the store's watcher has then handed the Raft address to the node).
func (s *Server) setAddresses(ctx context.Context, w http.ResponseWriter, r *http.Request, id spec.ServerID, a Addresses) bool {
	_, err := s.Do(ctx, Command{Op: OpAddress, Key: strconv.Itoa(int(id)), Value: EncodeAddresses(a)})
	if err != nil {
		s.changeFailed(w, r, err, fmt.Sprintf("replicating the addresses of server %d", id))
		return false
	}
	return true
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request, id spec.ServerID) {
	if !s.changing.TryLock() {
		writeError(w, http.StatusConflict, "another membership change is in progress on this server; retry when it is done")
		return
	}
	defer s.changing.Unlock()
	st, ok := s.leaderStatus(w, r)
	if !ok || !s.changeGuard(w, st) {
		return
	}
	c := st.Config
	switch {
	case !c.Members().Has(id):
		writeError(w, http.StatusNotFound, fmt.Sprintf("server %d is not a member of %v", id, c))
		return
	case c.Voters == 1<<(id-1):
		writeError(w, http.StatusConflict, fmt.Sprintf("server %d is the last voter of %v; a cluster cannot remove its last voter", id, c))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.ChangeTimeout)
	defer cancel()
	if err := s.raft.ChangeMembership(ctx, raft.ConfChange{Kind: spec.RemoveServer, Target: id}); err != nil {
		s.changeFailed(w, r, err, fmt.Sprintf("removing server %d", id))
		return
	}
	writeJSON(w, http.StatusOK, s.members())
}

// changeFailed answers a failed step of a membership change: a redirect
// if leadership moved, 409 for a refusal by the configuration, 503 when
// the outcome is unknown or it timed out, 500 otherwise.
func (s *Server) changeFailed(w http.ResponseWriter, r *http.Request, err error, doing string) {
	var nl *raft.NotLeaderError
	switch {
	case errors.As(err, &nl):
		s.notLeader(w, r, nl.Leader)
	case errors.Is(err, raft.ErrChangeInProgress), errors.Is(err, raft.ErrBadChange):
		writeError(w, http.StatusConflict, fmt.Sprintf("%s: %v", doing, err))
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded), errors.Is(err, node.ErrStopped),
		errors.Is(err, node.ErrChangeLost), errors.Is(err, node.ErrChangeUnknown):
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("%s: %v; GET /members shows the configuration", doing, err))
	default:
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("%s: %v", doing, err))
	}
}
