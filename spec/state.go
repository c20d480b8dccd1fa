package spec

import (
	"fmt"
	"slices"
	"strings"
)

// View is the observable state of one server: every variable of Figure 2
// that the model and the implementation both have, so that the two can be
// compared field by field.
//
// NextIndex and MatchIndex are kept only while the server is a leader and
// Votes only while it is a candidate; otherwise they are nil. NextIndex and
// MatchIndex have one slot per server, indexed by id-1; a leader's own slot
// is 0. Votes lists, in increasing order, the servers whose vote the
// candidate holds in its current term, itself included.
type View struct {
	ID          ServerID   `json:"id"`
	Term        Term       `json:"term"`
	VotedFor    ServerID   `json:"voted_for"`
	Role        Role       `json:"role"`
	Log         []Entry    `json:"log"`
	CommitIndex Index      `json:"commit_index"`
	NextIndex   []Index    `json:"next_index,omitempty"`
	MatchIndex  []Index    `json:"match_index,omitempty"`
	Votes       []ServerID `json:"votes,omitempty"`
	// SnapshotIndex is the last index its snapshot covers (0: none): the
	// entries up to it are compacted, but Log still lists them, as the
	// snapshot's data (the state machine they built), so that every
	// property reads one log (§7: properties over snapshot + log).
	SnapshotIndex Index `json:"snapshot_index,omitempty"`
	// VoteCount is a model-only annotation: under the seeded bug
	// count-duplicate-votes a candidate keeps a number of granted replies
	// instead of the set Votes, and VoteCount shows that number (Votes is
	// then nil). It is 0 otherwise, and the comparison with an
	// implementation ignores it.
	VoteCount int `json:"vote_count,omitempty"`
}

// Committed returns the committed prefix of the server's log.
func (v *View) Committed() []Entry {
	c := min(int(v.CommitIndex), len(v.Log))
	return v.Log[:c]
}

// String renders the view as one line, e.g.
// "S1 leader t2 voted=S1 log=[1:sally| 2:bob] commit=1".
func (v View) String() string { return v.Format(nil) }

// Format renders the view as String does, with a "*" after every field
// that changed reports true for (by its JSON name, as Diff names them);
// changed may be nil.
func (v View) Format(changed func(field string) bool) string {
	mark := func(field string) string {
		if changed != nil && changed(field) {
			return "*"
		}
		return ""
	}
	role := v.Role.String() + mark("role")
	s := fmt.Sprintf("%v %-9s t%d%s voted=%v%s log=%s%s commit=%d%s", v.ID, role, v.Term, mark("term"), v.VotedFor, mark("voted_for"),
		formatLog(v.Log, v.CommitIndex), mark("log"), v.CommitIndex, mark("commit_index"))
	if v.SnapshotIndex > 0 || changed != nil && changed("snapshot_index") {
		s += fmt.Sprintf(" snap=%d%s", v.SnapshotIndex, mark("snapshot_index"))
	}
	if v.Role == Leader {
		s += fmt.Sprintf(" next=%v%s match=%v%s", v.NextIndex, mark("next_index"), v.MatchIndex, mark("match_index"))
	}
	if v.Role == Candidate && v.VoteCount > 0 {
		s += fmt.Sprintf(" votes=%d (counted)%s", v.VoteCount, mark("vote_count"))
	} else if v.Role == Candidate {
		s += fmt.Sprintf(" votes=%v%s", v.Votes, mark("votes"))
	}
	return s
}

// Equal reports whether two views agree in every field.
func (v *View) Equal(o *View) bool { return len(v.Diff(o)) == 0 }

// Diff lists the fields in which two views differ, by their JSON names.
func (v *View) Diff(o *View) []string {
	var d []string
	if v.ID != o.ID {
		d = append(d, "id")
	}
	if v.Term != o.Term {
		d = append(d, "term")
	}
	if v.VotedFor != o.VotedFor {
		d = append(d, "voted_for")
	}
	if v.Role != o.Role {
		d = append(d, "role")
	}
	if !slices.Equal(v.Log, o.Log) {
		d = append(d, "log")
	}
	if v.CommitIndex != o.CommitIndex {
		d = append(d, "commit_index")
	}
	if !slices.Equal(v.NextIndex, o.NextIndex) {
		d = append(d, "next_index")
	}
	if !slices.Equal(v.MatchIndex, o.MatchIndex) {
		d = append(d, "match_index")
	}
	if !slices.Equal(v.Votes, o.Votes) {
		d = append(d, "votes")
	}
	if v.VoteCount != o.VoteCount {
		d = append(d, "vote_count")
	}
	if v.SnapshotIndex != o.SnapshotIndex {
		d = append(d, "snapshot_index")
	}
	return d
}

// Diff lists how history o differs from h, one line per difference, by
// the JSON names of the fields ("leader_of[2]: S1 vs S3", "committed[1]:
// 1:v1 (commit_term 1) vs missing").
func (h *History) Diff(o *History) []string {
	var d []string
	for t := range max(len(h.LeaderOf), len(o.LeaderOf)) {
		if a, b := h.LeaderIn(Term(t)), o.LeaderIn(Term(t)); a != b {
			d = append(d, fmt.Sprintf("leader_of[%d]: %v vs %v", t, a, b))
		}
	}
	entry := func(c []CommittedEntry, k int) string {
		if k >= len(c) {
			return "missing"
		}
		return fmt.Sprintf("%v (commit_term %d)", c[k].Entry, c[k].CommitTerm)
	}
	for k := range max(len(h.Committed), len(o.Committed)) {
		if a, b := entry(h.Committed, k), entry(o.Committed, k); a != b {
			d = append(d, fmt.Sprintf("committed[%d]: %s vs %s", k, a, b))
		}
	}
	return d
}

// CommittedEntry is an entry of the committed history together with the
// term in which it was first known to be committed (the current term of
// the first server whose commitIndex covered it).
type CommittedEntry struct {
	Entry
	CommitTerm Term `json:"commit_term"`
	// Quorum is, when configurations are in use (History.Members set),
	// the configuration in effect at that server then: the one whose
	// majority stores the entry (§4.1).
	Quorum Members `json:"quorum,omitempty"`
	// Outgoing is, when that configuration was joint, its outgoing voters
	// C_old: a quorum then needs a majority of each (paper §6).
	Outgoing Members `json:"outgoing_quorum,omitempty"`
}

// QuorumConfig is the configuration whose quorum stores c (Voters
// Quorum, Outgoing Outgoing), zero when the history keeps none.
func (c *CommittedEntry) QuorumConfig() Configuration {
	return Configuration{Voters: c.Quorum, Outgoing: c.Outgoing}
}

// History is what the properties need to remember beyond the servers'
// current state. It is deliberately small, because every bit of it
// multiplies the model's state space:
//
//   - LeaderOf[t] is the first server that became leader in term t (None if
//     no server has yet). Only Election Safety reads it: the paper's
//     property is about the whole run, and a leader that has since stepped
//     down leaves no other trace.
//   - Committed is the longest log prefix ever committed by any server, with
//     the term in which each entry was committed. State Machine Safety,
//     Leader Completeness and committed-never-lost read it: commitIndex is
//     volatile (a restart resets it), so without it an entry that was
//     committed and later forgotten could be lost unnoticed.
//   - Members is the initial configuration when membership changes are
//     in use (thesis §4.1); zero when every server is a member for good.
type History struct {
	LeaderOf  []ServerID       `json:"leader_of,omitempty"`
	Committed []CommittedEntry `json:"committed,omitempty"`
	Members   Members          `json:"members,omitempty"`
}

// Clone returns a deep copy of h.
func (h *History) Clone() History {
	return History{LeaderOf: slices.Clone(h.LeaderOf), Committed: slices.Clone(h.Committed), Members: h.Members}
}

// LeaderIn returns the recorded leader of term t, or None.
func (h *History) LeaderIn(t Term) ServerID {
	if int(t) < len(h.LeaderOf) {
		return h.LeaderOf[t]
	}
	return None
}

// Observe updates the history after one step, given the servers' views
// after it. It is the one rule for keeping history, used by the model and
// by the implementation harness alike:
//
//   - a leader of term t is recorded as LeaderOf[t] unless that term already
//     has a leader (a second one is what Election Safety then reports);
//   - a server whose committed prefix is consistent with Committed and
//     longer extends it, each new entry tagged with the server's current
//     term. An inconsistent prefix is not recorded (State Machine Safety
//     reports it).
func (h *History) Observe(servers []View) {
	for i := range servers {
		v := &servers[i]
		if v.Role == Leader {
			for int(v.Term) >= len(h.LeaderOf) {
				h.LeaderOf = append(h.LeaderOf, None)
			}
			if h.LeaderOf[v.Term] == None {
				h.LeaderOf[v.Term] = v.ID
			}
		}
		c := v.Committed()
		if len(c) <= len(h.Committed) || !consistentWithHistory(c, h.Committed) {
			continue
		}
		var q Configuration
		if h.Members != 0 {
			q = ConfigurationOf(v.Log, Configuration{Voters: h.Members})
		}
		for _, e := range c[len(h.Committed):] {
			h.Committed = append(h.Committed, CommittedEntry{Entry: e, CommitTerm: v.Term, Quorum: q.Voters, Outgoing: q.Outgoing})
		}
	}
}

// consistentWithHistory reports whether log agrees with the committed
// history on every index both have.
func consistentWithHistory(log []Entry, committed []CommittedEntry) bool {
	for k := range min(len(log), len(committed)) {
		if log[k] != committed[k].Entry {
			return false
		}
	}
	return true
}

// State is a whole cluster as the properties see it: the servers' views
// (Servers[i] has ID i+1), the history, and for display and comparison the
// network and the partition.
type State struct {
	Servers []View     `json:"servers"`
	Network []InFlight `json:"network,omitempty"`
	// Partition lists the groups of a network partition, each sorted, the
	// groups ordered by their smallest member; nil when the network is whole.
	Partition [][]ServerID `json:"partition,omitempty"`
	History   History      `json:"history"`
}

// Clone returns a deep copy of s.
func (s *State) Clone() State {
	c := State{History: s.History.Clone()}
	for _, v := range s.Servers {
		v.Log = slices.Clone(v.Log)
		v.NextIndex = slices.Clone(v.NextIndex)
		v.MatchIndex = slices.Clone(v.MatchIndex)
		v.Votes = slices.Clone(v.Votes)
		c.Servers = append(c.Servers, v)
	}
	for _, m := range s.Network {
		m.Message.Entries = slices.Clone(m.Message.Entries)
		c.Network = append(c.Network, m)
	}
	for _, g := range s.Partition {
		c.Partition = append(c.Partition, slices.Clone(g))
	}
	return c
}

// String renders the state over several lines: one per server, then the
// messages in flight and the partition.
func (s *State) String() string {
	var b strings.Builder
	for _, v := range s.Servers {
		b.WriteString("  ")
		b.WriteString(v.String())
		b.WriteByte('\n')
	}
	if len(s.Partition) > 0 {
		fmt.Fprintf(&b, "  partition: %s\n", FormatGroups(s.Partition))
	}
	if len(s.Network) == 0 {
		b.WriteString("  network: empty\n")
	}
	for _, m := range s.Network {
		if m.Count > 1 {
			fmt.Fprintf(&b, "  msg x%d %v\n", m.Count, m.Message)
		} else {
			fmt.Fprintf(&b, "  msg %v\n", m.Message)
		}
	}
	return b.String()
}

// FormatGroups renders partition groups as "{S1,S2} {S3,S4,S5}".
func FormatGroups(groups [][]ServerID) string {
	parts := make([]string, len(groups))
	for i, g := range groups {
		ids := make([]string, len(g))
		for k, id := range g {
			ids[k] = id.String()
		}
		parts[i] = "{" + strings.Join(ids, ",") + "}"
	}
	return strings.Join(parts, " ")
}

// Durable is what one server holds on stable storage: Figure 2's
// persistent state (currentTerm, votedFor, log) and its snapshot's last
// index (§7). Conformance compares it after every step, so that state
// acted on but not yet persisted — a vote granted, an entry acknowledged —
// is caught where it happens, not only at a restart.
type Durable struct {
	Term          Term     `json:"term"`
	VotedFor      ServerID `json:"voted_for"`
	Log           []Entry  `json:"log"`
	SnapshotIndex Index    `json:"snapshot_index,omitempty"`
}

// Diff lists the fields in which two durable states differ, by their JSON
// names.
func (d *Durable) Diff(o *Durable) []string {
	var out []string
	if d.Term != o.Term {
		out = append(out, "term")
	}
	if d.VotedFor != o.VotedFor {
		out = append(out, "voted_for")
	}
	if !slices.Equal(d.Log, o.Log) {
		out = append(out, "log")
	}
	if d.SnapshotIndex != o.SnapshotIndex {
		out = append(out, "snapshot_index")
	}
	return out
}
