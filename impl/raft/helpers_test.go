package raft

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/raftcheck/raftcheck/spec"
)

// e builds an entry.
func e(t spec.Term, v string) spec.Entry { return spec.Entry{Term: t, Value: spec.Value(v)} }

// newNode builds node id of an n-server cluster with the persistent state
// p, after applying the config modifiers.
func newNode(t testing.TB, id spec.ServerID, n int, p Persistent, mods ...func(*Config)) *Node {
	t.Helper()
	return faultyNode(t, id, n, p, Faults{}, mods...)
}

// faultyNode is newNode with the seeded bugs f (NewWithFaults).
func faultyNode(t testing.TB, id spec.ServerID, n int, p Persistent, f Faults, mods ...func(*Config)) *Node {
	t.Helper()
	cfg := Config{ID: id, Servers: n, Restore: p}
	for _, m := range mods {
		m(&cfg)
	}
	r, err := NewWithFaults(cfg, f)
	if err != nil {
		t.Fatalf("NewWithFaults: %v", err)
	}
	return r
}

func persistent(term spec.Term, voted spec.ServerID, log ...spec.Entry) Persistent {
	return Persistent{HardState: HardState{Term: term, VotedFor: voted}, Log: log}
}

// flush handles the node's Ready as a caller must and returns it.
func flush(t testing.TB, r *Node) Ready {
	t.Helper()
	rd := r.Ready()
	if err := r.Advance(rd); err != nil {
		t.Fatalf("Advance: %v", err)
	}
	return rd
}

// sent flushes the node and returns the messages it released.
func sent(t testing.TB, r *Node) []spec.Message {
	t.Helper()
	return flush(t, r).Messages
}

func step(t testing.TB, r *Node, m spec.Message) {
	t.Helper()
	if err := r.Step(m); err != nil {
		t.Fatalf("Step(%v): %v", m, err)
	}
}

// candidateOf makes a candidate of term p.Term+1 out of server id and
// discards its RequestVotes.
func candidateOf(t testing.TB, id spec.ServerID, n int, p Persistent, mods ...func(*Config)) *Node {
	t.Helper()
	return campaign(t, newNode(t, id, n, p, mods...))
}

// campaign makes r a candidate of the next term and discards its
// RequestVotes.
func campaign(t testing.TB, r *Node) *Node {
	t.Helper()
	if err := r.Campaign(); err != nil {
		t.Fatal(err)
	}
	flush(t, r)
	return r
}

// leaderOf makes a leader of term p.Term+1 out of server id, elected by the
// lowest-numbered peers, and discards its output.
func leaderOf(t testing.TB, id spec.ServerID, n int, p Persistent, mods ...func(*Config)) *Node {
	t.Helper()
	return win(t, candidateOf(t, id, n, p, mods...))
}

// win makes candidate r the leader, with the votes of the lowest-numbered
// peers, and discards its output.
func win(t testing.TB, r *Node) *Node {
	t.Helper()
	for j := spec.ServerID(1); r.View().Role != spec.Leader; j++ {
		if j != r.id {
			step(t, r, rvr(j, r.id, r.View().Term, true))
		}
	}
	flush(t, r)
	return r
}

func rv(from, to spec.ServerID, term spec.Term, lastIndex spec.Index, lastTerm spec.Term) spec.Message {
	return spec.Message{Type: spec.RequestVote, From: from, To: to, Term: term, LastLogIndex: lastIndex, LastLogTerm: lastTerm}
}

func rvr(from, to spec.ServerID, term spec.Term, granted bool) spec.Message {
	return spec.Message{Type: spec.RequestVoteResponse, From: from, To: to, Term: term, Granted: granted}
}

func ae(from, to spec.ServerID, term spec.Term, prev spec.Index, prevTerm spec.Term, commit spec.Index, es ...spec.Entry) spec.Message {
	return spec.Message{Type: spec.AppendEntries, From: from, To: to, Term: term, PrevLogIndex: prev,
		PrevLogTerm: prevTerm, Entries: es, LeaderCommit: commit}
}

func aer(from, to spec.ServerID, term spec.Term, success bool, match spec.Index) spec.Message {
	return spec.Message{Type: spec.AppendEntriesResponse, From: from, To: to, Term: term, Success: success, MatchIndex: match}
}

// wantMsgs compares message lists as multisets.
func wantMsgs(t testing.TB, got []spec.Message, want ...spec.Message) {
	t.Helper()
	sortMsgs := func(ms []spec.Message) []spec.Message {
		ms = slices.Clone(ms)
		slices.SortFunc(ms, func(a, b spec.Message) int { return spec.CompareMessages(&a, &b) })
		return ms
	}
	g, w := sortMsgs(got), sortMsgs(want)
	if !slices.EqualFunc(g, w, func(a, b spec.Message) bool { return a.Equal(&b) }) {
		t.Fatalf("messages:\n got  %v\n want %v", g, w)
	}
}

// wantView compares a view with the expected one field by field.
func wantView(t testing.TB, got, want spec.View) {
	t.Helper()
	if d := got.Diff(&want); len(d) > 0 {
		t.Fatalf("view differs in %v:\n got  %v\n want %v", d, got, want)
	}
}

// wellFormed checks the structural invariants of a node that every
// sequence of inputs must preserve.
func wellFormed(r *Node) error {
	v := r.View()
	if v.ID != r.id {
		return fmt.Errorf("id %v, want %v", v.ID, r.id)
	}
	if int(v.VotedFor) > r.n {
		return fmt.Errorf("voted for %d", v.VotedFor)
	}
	if err := checkLog(v.Log, 0, v.Term); err != nil {
		return err
	}
	if v.CommitIndex > spec.Index(len(v.Log)) && !r.faults.truncateOnStaleAppend() {
		return fmt.Errorf("commit index %d beyond a log of %d", v.CommitIndex, len(v.Log))
	}
	switch v.Role {
	case spec.Leader:
		if len(v.NextIndex) != r.n || len(v.MatchIndex) != r.n || v.Votes != nil || v.VotedFor != r.id {
			return fmt.Errorf("leader state malformed: %v", v)
		}
		for j := range r.n {
			own := spec.ServerID(j+1) == r.id
			nx, mt := v.NextIndex[j], v.MatchIndex[j]
			if own && (nx != 0 || mt != 0) {
				return fmt.Errorf("own slot set: %v", v)
			}
			if !own && (mt > spec.Index(len(v.Log)) || nx <= mt || nx > spec.Index(len(v.Log))+1) {
				return fmt.Errorf("next/match of %v out of range: %v", spec.ServerID(j+1), v)
			}
		}
	case spec.Candidate:
		if v.NextIndex != nil || v.MatchIndex != nil || !slices.Contains(v.Votes, r.id) || v.VotedFor != r.id ||
			!slices.IsSorted(v.Votes) || len(v.Votes) >= spec.Quorum(r.n) {
			return fmt.Errorf("candidate state malformed: %v", v)
		}
	default:
		if v.NextIndex != nil || v.MatchIndex != nil || v.Votes != nil {
			return fmt.Errorf("follower with leader or candidate state: %v", v)
		}
	}
	return nil
}

func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
}
