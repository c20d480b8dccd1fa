package validate

import (
	"fmt"
	"sort"

	"github.com/raftcheck/raftcheck/spec"
)

// Options configure a validation.
type Options struct {
	// Initial is the initial configuration; the zero value means every
	// server of the run a voter.
	Initial spec.Configuration
	// CheckEvery, if positive, also evaluates spec's state invariants
	// (spec.CheckAll) on the reconstructed cluster every CheckEvery
	// events; they are always evaluated at the end. The incremental checks
	// run at every event regardless.
	CheckEvery int
}

// Result counts what a validation checked.
type Result struct {
	// Servers is the number of servers (event logs).
	Servers int `json:"servers"`
	// Events is the number of events replayed, all servers together.
	Events int `json:"events"`
	// Sent is the number of sent messages checked against their sender.
	Sent int `json:"sent"`
	// Received is the number of receptions matched with their send.
	Received int `json:"received"`
	// Fields is the number of logged state fields compared.
	Fields int `json:"fields"`
}

type sentMsg struct {
	msg  spec.Message
	ev   *Event
	data []spec.Entry // an InstallSnapshot's data: the sender's prefix
}

type entryKey struct {
	i spec.Index
	t spec.Term
}

type entryVal struct {
	e    spec.Entry
	prev spec.Term
	ev   *Event
}

// validator holds one run's reference states and what the global
// properties need: the leader of each term, every entry ever created (for
// log matching), everything ever committed.
type validator struct {
	opts     Options
	servers  []*server
	logs     [][]Event
	sent     map[string]*sentMsg
	leaderOf map[spec.Term]spec.ServerID
	entries  map[entryKey]entryVal
	// committed is the longest prefix ever committed, commitTerm the term
	// in which each entry was first committed.
	committed  []spec.Entry
	commitTerm []spec.Term
	// quorum is the voters of the configuration each entry was first
	// committed under (for a joint one C_new, of which a majority holds
	// it too).
	quorum []spec.Members
	cur    *Event
	res    Result
}

// Validate checks a run given as one event log per server: logs[i] must
// be server i+1's. It returns what it checked, and an error — a *Failure
// for the first event no behaviour explains — when the run is not a
// behaviour of the specification.
func Validate(logs [][]Event, opts Options) (Result, error) {
	v, err := newValidator(logs, opts)
	if err != nil {
		return Result{}, err
	}
	if f := v.run(); f != nil {
		if f.Event == nil {
			f.Event = v.cur
		}
		return v.res, f
	}
	return v.res, nil
}

func newValidator(logs [][]Event, opts Options) (*validator, error) {
	n := len(logs)
	if n == 0 || n > spec.MaxServers {
		return nil, fmt.Errorf("validate: %d event logs: a run has 1 to %d servers, one log each", n, spec.MaxServers)
	}
	if opts.Initial.Voters == 0 {
		opts.Initial = spec.Configuration{Voters: spec.AllServers(n)}
	}
	v := &validator{opts: opts, logs: logs, sent: map[string]*sentMsg{},
		leaderOf: map[spec.Term]spec.ServerID{}, entries: map[entryKey]entryVal{}}
	v.res.Servers = n
	for i, l := range logs {
		id := spec.ServerID(i + 1)
		if len(l) > 0 && l[0].Server != id {
			return nil, fmt.Errorf("validate: event log %d is not S%d's (one log per server, in server order)", i+1, id)
		}
		s := &server{id: id, n: n, initial: opts.Initial}
		s.appended = v.appended
		v.servers = append(v.servers, s)
	}
	return v, nil
}

// run replays the events in an order consistent with causality: each
// server as far as it can go, a Receive waiting until its message has been
// sent. Per server the rules are deterministic, so every such order gives
// the same states.
func (v *validator) run() *Failure {
	cursor := make([]int, len(v.logs))
	for {
		progress, done := false, true
		for i, s := range v.servers {
			for cursor[i] < len(v.logs[i]) {
				ev := &v.logs[i][cursor[i]]
				if ev.Kind == Receive && v.sent[ev.Msg.ID] == nil {
					break
				}
				v.cur = ev
				if f := v.step(s, ev); f != nil {
					f.Event = ev
					return f
				}
				cursor[i]++
				v.res.Events++
				progress = true
				if k := v.opts.CheckEvery; k > 0 && v.res.Events%k == 0 {
					if f := v.invariants(); f != nil {
						return f
					}
				}
			}
			done = done && cursor[i] == len(v.logs[i])
		}
		if done {
			v.cur = nil
			return v.invariants()
		}
		if !progress {
			return v.stuck(cursor)
		}
	}
}

// stuck explains why no server can go on: a waiting Receive whose message
// no server ever sent (the root cause: every other wait may depend on
// it), else one whose message is sent only after it (a causal cycle).
func (v *validator) stuck(cursor []int) *Failure {
	where := map[string]*Event{}
	for i := range v.logs {
		for k := range v.logs[i] {
			for _, m := range v.logs[i][k].Sent {
				where[m.ID] = &v.logs[i][k]
			}
		}
	}
	var cycle *Failure
	for i := range v.logs {
		if cursor[i] == len(v.logs[i]) {
			continue
		}
		ev := &v.logs[i][cursor[i]]
		if w := where[ev.Msg.ID]; w != nil {
			if cycle == nil {
				cycle = fail("causality", "message %s is sent only at %s, which depends on this event (received before it was sent)", ev.Msg.ID, w.Where())
				cycle.Event = ev
			}
			continue
		}
		f := fail("message identity", "message %s was never sent by any server", ev.Msg.ID)
		f.Event = ev
		return f
	}
	return cycle
}

// appended checks a new log entry against every entry of the run with the
// same index and term: same content, same predecessor term (by induction
// this is Log Matching, Figure 3).
func (v *validator) appended(i spec.Index, e spec.Entry, prev spec.Term) *Failure {
	k := entryKey{i, e.Term}
	old, ok := v.entries[k]
	if !ok {
		v.entries[k] = entryVal{e: e, prev: prev, ev: v.cur}
		return nil
	}
	switch {
	case old.e != e:
		return mismatch("log-matching", fmt.Sprintf("log[%d]", i), old.e, e,
			"two entries of term %d at index %d: the other appended at %s", e.Term, i, old.ev.Where())
	case old.prev != prev:
		return mismatch("log-matching", fmt.Sprintf("log[%d].term", i-1), old.prev, prev,
			"entry %v at index %d follows another term than at %s", e, i, old.ev.Where())
	}
	return nil
}

// elected checks a new leader: Election Safety and Leader Completeness.
func (v *validator) elected(s *server) *Failure {
	if other, ok := v.leaderOf[s.term]; ok && other != s.id {
		return fail("election-safety", "%v becomes leader of term %d, which %v already leads", s.id, s.term, other)
	}
	v.leaderOf[s.term] = s.id
	for k, t := range v.commitTerm {
		if t < s.term && (k >= len(s.log) || s.log[k] != v.committed[k]) {
			return fail("leader-completeness", "leader %v of term %d lacks entry %v at index %d, committed in term %d", s.id, s.term, v.committed[k], k+1, t)
		}
	}
	return nil
}

// commitAdvanced checks a server's newly committed entries (above lo): they
// agree with everything committed before (State Machine Safety), the top
// one, if committed for the first time in the run, is stored by a quorum
// of the committer's configuration (commit-quorum), and the leaders of
// later terms hold every new one (Leader Completeness).
func (v *validator) commitAdvanced(s *server, lo spec.Index) *Failure {
	if s.commit > s.lastIndex() {
		return fail("commit-quorum", "%v's commit index %d is beyond its log of %d entries", s.id, s.commit, s.lastIndex())
	}
	first := len(v.committed)
	for k := lo; k < s.commit; k++ {
		e := s.log[k]
		if int(k) < len(v.committed) {
			if e != v.committed[k] {
				return mismatch("state-machine-safety", fmt.Sprintf("log[%d]", k+1), v.committed[k], e, "%v commits another entry than was committed before", s.id)
			}
			continue
		}
		v.committed = append(v.committed, e)
		v.commitTerm = append(v.commitTerm, s.term)
		v.quorum = append(v.quorum, s.config().Voters)
	}
	if len(v.committed) == first {
		return nil // committed before, under the configuration of then
	}
	t := s.termAt(s.commit)
	var holders spec.Members
	for _, o := range v.servers {
		if o.termAt(s.commit) == t {
			holders |= members(o.id)
		}
	}
	if cfg := s.config(); !cfg.HasQuorum(holders) {
		return fail("commit-quorum", "%v has committed index %d, but only %v of %v store it", s.id, s.commit, holders, cfg)
	}
	for _, o := range v.servers {
		if o.role != spec.Leader {
			continue
		}
		for k := first; k < len(v.committed); k++ {
			if v.commitTerm[k] < o.term && (k >= len(o.log) || o.log[k] != v.committed[k]) {
				return fail("leader-completeness", "leader %v of term %d lacks entry %v at index %d, committed in term %d", o.id, o.term, v.committed[k], k+1, v.commitTerm[k])
			}
		}
	}
	return nil
}

// State returns the reconstructed cluster in spec's vocabulary, with the
// history the properties need.
func (v *validator) state() spec.State {
	var st spec.State
	for _, s := range v.servers {
		st.Servers = append(st.Servers, spec.View{ID: s.id, Term: s.term, VotedFor: s.vote, Role: s.role,
			Log: s.log, CommitIndex: s.commit, SnapshotIndex: s.snap})
	}
	var terms []spec.Term
	for t := range v.leaderOf {
		terms = append(terms, t)
	}
	sort.Slice(terms, func(a, b int) bool { return terms[a] < terms[b] })
	if len(terms) > 0 && terms[len(terms)-1] <= maxHistoryTerm {
		st.History.LeaderOf = make([]spec.ServerID, terms[len(terms)-1]+1)
		for _, t := range terms {
			st.History.LeaderOf[t] = v.leaderOf[t]
		}
	}
	st.History.Members = v.opts.Initial.Voters
	for k, e := range v.committed {
		st.History.Committed = append(st.History.Committed, spec.CommittedEntry{Entry: e, CommitTerm: v.commitTerm[k], Quorum: v.quorum[k]})
	}
	return st
}

// invariantNames are spec's state invariants that apply to a
// reconstructed run (spec/properties.go).
var invariantNames = []string{"election-safety", "log-matching", "leader-completeness",
	"state-machine-safety", "commit-quorum", "snapshot-committed"}

// maxHistoryTerm bounds the terms spec's history (a slice indexed by
// term) is built for; beyond it election safety is left to the
// incremental check.
const maxHistoryTerm = 1 << 16

// invariants evaluates spec's state invariants on the reconstruction.
func (v *validator) invariants() *Failure {
	st := v.state()
	names := invariantNames
	for _, s := range v.servers {
		if s.term > maxHistoryTerm {
			names = invariantNames[1:]
		}
	}
	if err := spec.CheckAll(&st, names); err != nil {
		return fail("spec invariant", "%v", err)
	}
	return nil
}
