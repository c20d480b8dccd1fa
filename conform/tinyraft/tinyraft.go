// Package tinyraft is a deliberately small Raft, written only to show how
// a third-party implementation plugs into the conformance seam (package
// conform): a whole cluster in memory, one struct per server, the network
// of spec.Network, and a System driven one spec action at a time. It
// reports its servers' terms, votes, roles, logs and commit indices but
// not the leaders' nextIndex/matchIndex or the candidates' tallies, as
// many implementations keep those differently, so it is checked under
// conform.Core.
//
// With Options.VoteWithoutLogCheck it has a classic bug (a vote is granted
// without comparing logs, §5.4.1), which conformance finds as a
// divergence.
package tinyraft

import (
	"fmt"
	"strings"

	"github.com/raftcheck/raftcheck/conform"
	"github.com/raftcheck/raftcheck/spec"
)

// Options choose the cluster's behaviour.
type Options struct {
	// VoteWithoutLogCheck grants votes without the election restriction.
	VoteWithoutLogCheck bool
	// ProposeAnywhere lets a follower or candidate append a client's value
	// to its own log, as if it were the leader (a bug of the kind that
	// takes every enabled action right; every-transition conformance finds
	// it by offering the actions the protocol forbids).
	ProposeAnywhere bool
}

// Factory returns the conform.Factory of tinyraft clusters.
func Factory(opts Options) conform.Factory {
	return func(s conform.Setup) (conform.System, error) {
		if s.Servers < 1 || s.Servers > spec.MaxServers {
			return nil, fmt.Errorf("tinyraft: %d servers", s.Servers)
		}
		missing := s.Features.String()
		if s.Snapshots {
			missing = strings.TrimSpace(missing + " snapshots")
		}
		if s.Reconfigs || s.Joiners > 0 {
			missing = strings.TrimSpace(missing + " membership-changes")
		}
		if missing != "" {
			return nil, fmt.Errorf("tinyraft: does not implement %s", missing)
		}
		c := &cluster{opts: opts, net: spec.Network{MaxCopies: s.MaxCopies}}
		for i := range s.Servers {
			c.servers = append(c.servers, &server{id: spec.ServerID(i + 1)})
		}
		return c, nil
	}
}

// server is one server: persistent term, vote and log; the rest volatile.
type server struct {
	id          spec.ServerID
	term        spec.Term
	voted       spec.ServerID
	log         []spec.Entry
	role        spec.Role
	commit      spec.Index
	next, match []spec.Index
	votes       map[spec.ServerID]bool
}

func (sv *server) last() (spec.Index, spec.Term) {
	if len(sv.log) == 0 {
		return 0, 0
	}
	return spec.Index(len(sv.log)), sv.log[len(sv.log)-1].Term
}

func (sv *server) termAt(i spec.Index) spec.Term {
	if i == 0 || int(i) > len(sv.log) {
		return 0
	}
	return sv.log[i-1].Term
}

// cluster is the System.
type cluster struct {
	opts    Options
	servers []*server
	net     spec.Network
}

func (c *cluster) quorum() int { return len(c.servers)/2 + 1 }

// Apply takes one spec action.
func (c *cluster) Apply(a spec.Action) error {
	switch a.Kind {
	case spec.Timeout:
		return c.timeout(c.servers[a.Server-1])
	case spec.Heartbeat:
		return c.heartbeat(c.servers[a.Server-1])
	case spec.ClientRequest:
		sv := c.servers[a.Server-1]
		if sv.role != spec.Leader && !c.opts.ProposeAnywhere {
			return fmt.Errorf("%w: %v is not a leader", conform.ErrNotEnabled, sv.id)
		}
		sv.log = append(sv.log, spec.Entry{Term: sv.term, Value: a.Value})
		return nil
	case spec.Deliver:
		if err := c.net.Take(*a.Message); err != nil {
			return err
		}
		c.deliver(*a.Message)
		return nil
	case spec.Drop:
		return c.net.Drop(*a.Message)
	case spec.Duplicate:
		return c.net.Duplicate(*a.Message)
	case spec.Partition:
		return c.net.Partition(a.Groups)
	case spec.Heal:
		return c.net.Heal()
	case spec.Restart:
		sv := c.servers[a.Server-1]
		*sv = server{id: sv.id, term: sv.term, voted: sv.voted, log: sv.log}
		return nil
	}
	return fmt.Errorf("tinyraft: unknown action %v", a)
}

func (c *cluster) timeout(sv *server) error {
	if sv.role == spec.Leader {
		return fmt.Errorf("%w: a leader does not time out", conform.ErrNotEnabled)
	}
	sv.term++
	sv.role, sv.voted, sv.votes = spec.Candidate, sv.id, map[spec.ServerID]bool{sv.id: true}
	li, lt := sv.last()
	for _, p := range c.servers {
		if p != sv {
			c.net.Send(spec.Message{Type: spec.RequestVote, From: sv.id, To: p.id, Term: sv.term, LastLogIndex: li, LastLogTerm: lt})
		}
	}
	return nil
}

func (c *cluster) heartbeat(sv *server) error {
	if sv.role != spec.Leader {
		return fmt.Errorf("%w: only a leader sends heartbeats", conform.ErrNotEnabled)
	}
	for _, p := range c.servers {
		if p == sv {
			continue
		}
		next := min(max(sv.next[p.id-1], 1), spec.Index(len(sv.log))+1)
		c.net.Send(spec.Message{Type: spec.AppendEntries, From: sv.id, To: p.id, Term: sv.term,
			PrevLogIndex: next - 1, PrevLogTerm: sv.termAt(next - 1), Entries: sv.log[next-1:], LeaderCommit: sv.commit})
	}
	return nil
}

// deliver handles a message at its receiver (Figure 2).
func (c *cluster) deliver(m spec.Message) {
	sv := c.servers[m.To-1]
	if m.Term > sv.term {
		sv.term, sv.voted, sv.role, sv.votes, sv.next, sv.match = m.Term, spec.None, spec.Follower, nil, nil, nil
	}
	switch m.Type {
	case spec.RequestVote:
		c.requestVote(sv, m)
	case spec.RequestVoteResponse:
		c.voteResponse(sv, m)
	case spec.AppendEntries:
		c.appendEntries(sv, m)
	case spec.AppendEntriesResponse:
		c.appendResponse(sv, m)
	}
}

func (c *cluster) reply(m spec.Message, r spec.Message) {
	r.From, r.To = m.To, m.From
	c.net.Send(r)
}

func (c *cluster) requestVote(sv *server, m spec.Message) {
	li, lt := sv.last()
	upToDate := m.LastLogTerm > lt || m.LastLogTerm == lt && m.LastLogIndex >= li
	grant := m.Term == sv.term && (sv.voted == spec.None || sv.voted == m.From) && (upToDate || c.opts.VoteWithoutLogCheck)
	if grant {
		sv.voted = m.From
	}
	c.reply(m, spec.Message{Type: spec.RequestVoteResponse, Term: sv.term, Granted: grant})
}

func (c *cluster) voteResponse(sv *server, m spec.Message) {
	if sv.role != spec.Candidate || !m.Granted || m.Term < sv.term {
		return
	}
	sv.votes[m.From] = true
	if len(sv.votes) < c.quorum() {
		return
	}
	sv.role, sv.votes = spec.Leader, nil
	sv.next, sv.match = make([]spec.Index, len(c.servers)), make([]spec.Index, len(c.servers))
	for j := range sv.next {
		sv.next[j] = spec.Index(len(sv.log)) + 1
	}
}

func (c *cluster) appendEntries(sv *server, m spec.Message) {
	if m.Term < sv.term {
		c.reply(m, spec.Message{Type: spec.AppendEntriesResponse, Term: sv.term})
		return
	}
	if sv.role == spec.Leader {
		return
	}
	sv.role, sv.votes = spec.Follower, nil
	n := spec.Index(len(sv.log))
	if m.PrevLogIndex > 0 && (m.PrevLogIndex > n || sv.termAt(m.PrevLogIndex) != m.PrevLogTerm) {
		c.reply(m, spec.Message{Type: spec.AppendEntriesResponse, Term: sv.term, MatchIndex: min(m.PrevLogIndex-1, n)})
		return
	}
	for k, e := range m.Entries {
		i := int(m.PrevLogIndex) + k // 0-based position
		if i < len(sv.log) && sv.log[i].Term == e.Term {
			continue
		}
		sv.log = append(sv.log[:i:i], e)
	}
	sv.commit = min(sv.commit, spec.Index(len(sv.log)))
	lastNew := m.PrevLogIndex + spec.Index(len(m.Entries))
	sv.commit = max(sv.commit, min(m.LeaderCommit, lastNew))
	c.reply(m, spec.Message{Type: spec.AppendEntriesResponse, Term: sv.term, Success: true, MatchIndex: lastNew})
}

func (c *cluster) appendResponse(sv *server, m spec.Message) {
	if m.Term < sv.term || sv.role != spec.Leader || int(m.MatchIndex) > len(sv.log) {
		return
	}
	j := m.From - 1
	if !m.Success {
		sv.next[j] = max(sv.match[j]+1, min(sv.next[j], m.MatchIndex+1))
		return
	}
	sv.match[j] = max(sv.match[j], m.MatchIndex)
	sv.next[j] = sv.match[j] + 1
	for n := spec.Index(len(sv.log)); n > sv.commit && sv.log[n-1].Term == sv.term; n-- {
		count := 1
		for k, mi := range sv.match {
			if spec.ServerID(k+1) != sv.id && mi >= n {
				count++
			}
		}
		if count >= c.quorum() {
			sv.commit = n
			return
		}
	}
}

// State reports the servers without leader and candidate bookkeeping.
func (c *cluster) State() spec.State {
	s := spec.State{Network: c.net.InFlight(), Partition: c.net.Groups()}
	for _, sv := range c.servers {
		s.Servers = append(s.Servers, spec.View{ID: sv.id, Term: sv.term, VotedFor: sv.voted, Role: sv.role,
			Log: append([]spec.Entry(nil), sv.log...), CommitIndex: sv.commit})
	}
	return s
}

// Restore puts the cluster into the given state (conform.Restorer): each
// server from its view (a leader's nextIndex and matchIndex and a
// candidate's votes included) and its stable storage, the network and the
// partition.
func (c *cluster) Restore(st *spec.State, durable []spec.Durable) error {
	if len(st.Servers) != len(c.servers) {
		return fmt.Errorf("tinyraft: restore: %d servers for a %d-server cluster", len(st.Servers), len(c.servers))
	}
	for i, v := range st.Servers {
		sv := &server{id: v.ID, term: v.Term, voted: v.VotedFor, role: v.Role, commit: v.CommitIndex,
			log: append([]spec.Entry(nil), v.Log...)}
		if i < len(durable) {
			sv.term, sv.voted, sv.log = durable[i].Term, durable[i].VotedFor, append([]spec.Entry(nil), durable[i].Log...)
		}
		switch v.Role {
		case spec.Leader:
			sv.next, sv.match = append([]spec.Index(nil), v.NextIndex...), append([]spec.Index(nil), v.MatchIndex...)
		case spec.Candidate:
			sv.votes = map[spec.ServerID]bool{}
			for _, id := range v.Votes {
				sv.votes[id] = true
			}
		}
		c.servers[i] = sv
	}
	c.net = spec.Network{MaxCopies: c.net.MaxCopies}
	for _, f := range st.Network {
		for range f.Count {
			c.net.Send(f.Message)
		}
	}
	if len(st.Partition) > 0 {
		return c.net.Partition(st.Partition)
	}
	return nil
}

// Close does nothing: everything is in memory.
func (c *cluster) Close() error { return nil }
