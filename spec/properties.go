package spec

import (
	"fmt"
	"slices"
	"strings"
)

// Invariant is a safety property of a single state: it must hold in every
// reachable state. Check returns nil when it holds and otherwise an error
// that explains the violation.
type Invariant struct {
	Name  string
	Paper string // where the property comes from
	Doc   string // what it says, in one line
	Check func(s *State) error
}

// TransitionProperty is a safety property of a single step: it must hold
// for every (before, action, after) the system can take.
type TransitionProperty struct {
	Name  string
	Paper string
	Doc   string
	Check func(before *State, a *Action, after *State) error
}

// The property registry: Invariants and TransitionProperties are the one
// list of properties, by name, source and description; every other place
// (the model's native checks, the explorer, the replays, the CLI, the
// docs) refers to them through it (LookupProperty, PropertyNames), and
// tests check that each of those covers exactly these names.

// Invariants lists the state invariants, in the order they are checked.
var Invariants = []Invariant{
	{"election-safety", "Figure 3, Election Safety", "at most one leader is elected in a term (over the whole run)", ElectionSafety},
	{"log-matching", "Figure 3, Log Matching", "two logs with an entry of the same index and term agree up to it", LogMatching},
	{"leader-completeness", "Figure 3, Leader Completeness", "a leader holds every entry committed in an earlier term", LeaderCompleteness},
	{"state-machine-safety", "Figure 3, State Machine Safety", "no two servers commit different entries at one index", StateMachineSafety},
	{"commit-quorum", "§5.3-5.4: an entry is committed once a majority stores it", "every committed entry is stored by a majority", CommitOnlyWithQuorum},
	{"snapshot-committed", "§7: each server snapshots only committed entries (Figure 12)", "a snapshot holds only committed entries, and its server's commitIndex covers it", SnapshotCommitted},
	{"quorums-intersect", "thesis §4.2-4.3 and paper §6: one server at a time, or C_old -> C_old,new -> C_new", "every quorum of each configuration of a log meets every quorum of the configuration before it", QuorumsIntersect},
}

// TransitionProperties lists the transition properties, in the order they
// are checked.
var TransitionProperties = []TransitionProperty{
	{"leader-append-only", "Figure 3, Leader Append-Only", "a leader never overwrites or deletes entries of its log", LeaderAppendOnly},
	{"committed-never-lost", "§5.4: committed entries are durable", "an entry once stored by a majority as committed stays on a majority", CommittedNeverLost},
	{"vote-once", "Figure 2, RequestVote rule 2 and votedFor on stable storage", "a server votes for at most one candidate in a term", VoteOnce},
	{"term-monotonic", "Figure 2, currentTerm increases monotonically", "currentTerm never decreases", TermMonotonic},
	{"commit-monotonic", "Figure 2, commitIndex increases monotonically (volatile)", "commitIndex never decreases, except to 0 by a restart", CommitMonotonic},
}

// PropertyKind is whether a property is an invariant or a transition
// property.
type PropertyKind string

// The two kinds, as traces and reports name them.
const (
	InvariantKind  PropertyKind = "invariant"
	TransitionKind PropertyKind = "transition"
)

// PropertyInfo describes one registered property.
type PropertyInfo struct {
	Name, Paper, Doc string
	Kind             PropertyKind
}

// Properties lists every property of the registry: the invariants, then
// the transition properties, each in its checking order.
func Properties() []PropertyInfo {
	var out []PropertyInfo
	for _, p := range Invariants {
		out = append(out, PropertyInfo{p.Name, p.Paper, p.Doc, InvariantKind})
	}
	for _, p := range TransitionProperties {
		out = append(out, PropertyInfo{p.Name, p.Paper, p.Doc, TransitionKind})
	}
	return out
}

// propertyAliases maps former names of properties to their registered
// names, so that traces and command lines that use them keep working.
var propertyAliases = map[string]string{
	// Generalised to joint consensus: a single-server change is one whose
	// configurations' majorities intersect.
	"single-server-changes": "quorums-intersect",
}

// LookupProperty returns the registered property of that name (or of a
// former name of it).
func LookupProperty(name string) (PropertyInfo, bool) {
	if to, ok := propertyAliases[name]; ok {
		name = to
	}
	for _, p := range Properties() {
		if p.Name == name {
			return p, true
		}
	}
	return PropertyInfo{}, false
}

// PropertyNames lists the names of all invariants and transition properties.
func PropertyNames() []string {
	var names []string
	for _, p := range Properties() {
		names = append(names, p.Name)
	}
	return names
}

// ElectionSafety: "at most one leader can be elected in a given term"
// (Figure 3). Over the whole run, not just the current state: every current
// leader must be the server recorded in History.LeaderOf for its term, so a
// second leader of a term is caught even after the first stepped down.
func ElectionSafety(s *State) error {
	for i := range s.Servers {
		v := &s.Servers[i]
		if v.Role != Leader {
			continue
		}
		first := s.History.LeaderIn(v.Term)
		if first == None {
			return fmt.Errorf("%v leads term %d but the history records no leader for it", v.ID, v.Term)
		}
		if first != v.ID {
			return fmt.Errorf("two leaders in term %d: %v and %v", v.Term, first, v.ID)
		}
	}
	return nil
}

// LogMatching: "if two logs contain an entry with the same index and term,
// then the logs are identical in all entries up through the given index"
// (Figure 3).
func LogMatching(s *State) error {
	for i := range s.Servers {
		for j := i + 1; j < len(s.Servers); j++ {
			a, b := s.Servers[i].Log, s.Servers[j].Log
			for k := min(len(a), len(b)) - 1; k >= 0; k-- {
				if a[k].Term != b[k].Term {
					continue
				}
				for p := k; p >= 0; p-- {
					if a[p] != b[p] {
						return fmt.Errorf("%v and %v agree on the term at index %d but differ at index %d (%v vs %v)",
							s.Servers[i].ID, s.Servers[j].ID, k+1, p+1, a[p], b[p])
					}
				}
				break
			}
		}
	}
	return nil
}

// LeaderCompleteness: "if a log entry is committed in a given term, then
// that entry will be present in the logs of the leaders for all
// higher-numbered terms" (Figure 3). Checked against the committed history:
// every current leader holds each committed entry whose commit term is
// below its own term.
func LeaderCompleteness(s *State) error {
	for i := range s.Servers {
		v := &s.Servers[i]
		if v.Role != Leader {
			continue
		}
		for k, c := range s.History.Committed {
			if c.CommitTerm >= v.Term {
				continue
			}
			if k >= len(v.Log) || v.Log[k] != c.Entry {
				return fmt.Errorf("leader %v of term %d lacks entry %v at index %d, committed in term %d",
					v.ID, v.Term, c.Entry, k+1, c.CommitTerm)
			}
		}
	}
	return nil
}

// StateMachineSafety: "if a server has applied a log entry at a given index
// to its state machine, no other server will ever apply a different log
// entry for the same index" (Figure 3). Applied means committed here: every
// server's committed prefix agrees with every other's and with the history
// of everything ever committed.
func StateMachineSafety(s *State) error {
	for i := range s.Servers {
		a := s.Servers[i].Committed()
		for k := range min(len(a), len(s.History.Committed)) {
			if a[k] != s.History.Committed[k].Entry {
				return fmt.Errorf("%v committed %v at index %d where %v was committed before",
					s.Servers[i].ID, a[k], k+1, s.History.Committed[k].Entry)
			}
		}
		for j := i + 1; j < len(s.Servers); j++ {
			b := s.Servers[j].Committed()
			for k := range min(len(a), len(b)) {
				if a[k] != b[k] {
					return fmt.Errorf("%v and %v committed different entries at index %d (%v vs %v)",
						s.Servers[i].ID, s.Servers[j].ID, k+1, a[k], b[k])
				}
			}
		}
	}
	return nil
}

// CommitOnlyWithQuorum: an entry is committed only once a majority stores
// it (§5.3: "a log entry is committed once the leader that created the
// entry has replicated it on a majority of the servers"). Every index at or
// below any server's commitIndex is held, with the same term, by a majority.
//
// With membership changes (History.Members set) the quorum is of a
// configuration (§4.1; while joint a majority of each half, paper §6): of
// the one the entry was committed under (CommittedEntry.Quorum and
// Outgoing) when the history holds it, else of the server's configuration
// in effect.
func CommitOnlyWithQuorum(s *State) error {
	for i := range s.Servers {
		v := &s.Servers[i]
		if int(v.CommitIndex) > len(v.Log) {
			return fmt.Errorf("%v has commitIndex %d beyond its log of %d entries", v.ID, v.CommitIndex, len(v.Log))
		}
		for k := range int(v.CommitIndex) {
			c := s.commitConfig(v, k)
			if h := holders(s, k, v.Log[k].Term); !c.HasQuorum(h) {
				return fmt.Errorf("%v has committed %v at index %d but only %d of %s hold it",
					v.ID, v.Log[k], k+1, (h & c.Members()).Size(), s.serversOf(c))
			}
		}
	}
	return nil
}

// commitConfig is the configuration whose quorum must hold v's committed
// entry at 0-based position k: every server without membership changes.
func (s *State) commitConfig(v *View, k int) Configuration {
	h := &s.History
	if h.Members == 0 {
		return Configuration{Voters: AllServers(len(s.Servers))}
	}
	if k < len(h.Committed) && h.Committed[k].Entry == v.Log[k] && h.Committed[k].Quorum != 0 {
		return h.Committed[k].QuorumConfig()
	}
	return ConfigurationOf(v.Log, Configuration{Voters: h.Members})
}

// serversOf names the servers a quorum is counted over, for messages:
// "3 servers", or with membership changes "the 3 servers of {S1,S2,S3}"
// (of {S1,S2}&{S1,S3} while joint, a majority of each half).
func (s *State) serversOf(c Configuration) string {
	if s.History.Members == 0 {
		return fmt.Sprintf("%d servers", len(s.Servers))
	}
	return fmt.Sprintf("the %d servers of %v", c.Members().Size(), c)
}

// historyConfig is the configuration whose quorum holds the committed
// entry c of the history.
func (s *State) historyConfig(c *CommittedEntry) Configuration {
	if c.Quorum != 0 {
		return c.QuorumConfig()
	}
	return Configuration{Voters: AllServers(len(s.Servers))}
}

// holders is the set of servers whose log has an entry of term t at
// 0-based position k.
func holders(s *State, k int, t Term) Members {
	var h Members
	for j := range s.Servers {
		if l := s.Servers[j].Log; k < len(l) && l[k].Term == t {
			h |= 1 << j
		}
	}
	return h
}

// QuorumsIntersect: every quorum of each configuration entry of a log
// meets every quorum of the configuration before it (the previous
// configuration entry, or the initial configuration), so that two
// consecutive configurations cannot decide apart (thesis §4.2: one server
// at a time; paper §6 and thesis §4.3: C_old -> C_old,new -> C_new, where
// C_old,new's quorums contain one of each half). It holds trivially
// without membership changes. (Its former name, single-server-changes,
// still selects it.)
func QuorumsIntersect(s *State) error {
	if s.History.Members == 0 {
		return nil
	}
	all := AllServers(len(s.Servers))
	for i := range s.Servers {
		v := &s.Servers[i]
		prev := Configuration{Voters: s.History.Members}
		for k, e := range v.Log {
			if e.Config == 0 {
				continue
			}
			c := e.Configuration()
			if q, ok := disjointQuorums(prev, c, all); ok {
				return fmt.Errorf("%v has configuration %v at index %d after %v: %v decides in %v and %v in %v, which do not meet",
					v.ID, c, k+1, prev, q, prev, all&^q, c)
			}
			prev = c
		}
	}
	return nil
}

// disjointQuorums returns a quorum q of a whose complement within all is a
// quorum of b, if there is one. Quorums are closed under supersets, so two
// configurations have disjoint quorums exactly when some set and its
// complement are quorums of each.
func disjointQuorums(a, b Configuration, all Members) (Members, bool) {
	for q := Members(0); ; q++ {
		if q&^all == 0 && a.HasQuorum(q) && b.HasQuorum(all&^q) {
			return q, true
		}
		if q == all {
			return 0, false
		}
	}
}

// LeaderAppendOnly: "a leader never overwrites or deletes entries in its
// log; it only appends new entries" (Figure 3). A server that is leader of
// the same term before and after a step keeps its old log as a prefix.
func LeaderAppendOnly(before *State, _ *Action, after *State) error {
	for i := range before.Servers {
		b, a := &before.Servers[i], &after.Servers[i]
		if b.Role != Leader || a.Role != Leader || b.Term != a.Term {
			continue
		}
		if len(a.Log) < len(b.Log) || !slices.Equal(b.Log, a.Log[:len(b.Log)]) {
			return fmt.Errorf("leader %v of term %d changed its log from %s to %s",
				b.ID, b.Term, formatLog(b.Log, 0), formatLog(a.Log, 0))
		}
	}
	return nil
}

// CommittedNeverLost: an entry once committed is never lost. A committed
// entry is stored by a majority (commit-quorum), so every later leader,
// elected by a majority, can hold it (§5.4.2 and the Leader Completeness
// argument of §5.4.3); no step may take an entry committed before it
// (History.Committed) from a majority of holders to fewer. Unlike
// commit-quorum this does not rely on commitIndex, which a restart
// forgets, and a step that changes no server cannot violate it.
//
// With membership changes, the quorum is of the configuration the entry
// was committed under (CommittedEntry.Quorum and Outgoing).
func CommittedNeverLost(before *State, _ *Action, after *State) error {
	for k := range before.History.Committed {
		c := &before.History.Committed[k]
		m := before.historyConfig(c)
		if h := holders(after, k, c.Term); !m.HasQuorum(h) && m.HasQuorum(holders(before, k, c.Term)) {
			return fmt.Errorf("committed entry %v at index %d is now held by only %d of %s",
				c.Entry, k+1, (h & m.Members()).Size(), after.serversOf(m))
		}
	}
	return nil
}

// VoteOnce: a server votes for at most one candidate in a term (Figure 2,
// RequestVote: "If votedFor is null or candidateId ... grant vote"), and
// votedFor is on stable storage, so the vote survives a restart. Within an
// unchanged term, a vote once cast never changes, not even back to None.
func VoteOnce(before *State, _ *Action, after *State) error {
	for i := range before.Servers {
		b, a := &before.Servers[i], &after.Servers[i]
		if b.Term == a.Term && b.VotedFor != None && a.VotedFor != b.VotedFor {
			return fmt.Errorf("%v changed its vote in term %d from %v to %v", b.ID, b.Term, b.VotedFor, a.VotedFor)
		}
	}
	return nil
}

// TermMonotonic: currentTerm "increases monotonically" (Figure 2) and is on
// stable storage, so no step lowers it.
//
// A Wipe is the one exception: the wiped server lost its stable storage
// (the seeded bug rejoin-blank-disk), which is the fault of the scenario,
// not of the protocol.
func TermMonotonic(before *State, a *Action, after *State) error {
	for i := range before.Servers {
		if after.Servers[i].Term < before.Servers[i].Term && !a.wipes(before.Servers[i].ID) {
			return fmt.Errorf("%v's term went down from %d to %d", before.Servers[i].ID, before.Servers[i].Term, after.Servers[i].Term)
		}
	}
	return nil
}

// CommitMonotonic: commitIndex "increases monotonically" (Figure 2). It is
// volatile, so a Restart of the server resets it to 0; no other step may
// lower it.
func CommitMonotonic(before *State, a *Action, after *State) error {
	for i := range before.Servers {
		b, x := before.Servers[i].CommitIndex, after.Servers[i].CommitIndex
		if x >= b {
			continue
		}
		// A restart forgets commitIndex, down to what the server's
		// snapshot shows committed (0 without one).
		if a != nil && a.Kind == Restart && a.Server == before.Servers[i].ID && x == after.Servers[i].SnapshotIndex {
			continue
		}
		if a.wipes(before.Servers[i].ID) {
			continue // the wiped server starts blank (TermMonotonic)
		}
		return fmt.Errorf("%v's commitIndex went down from %d to %d", before.Servers[i].ID, b, x)
	}
	return nil
}

// wipes reports whether a is the Wipe of server id (a may be nil).
func (a *Action) wipes(id ServerID) bool { return a != nil && a.Kind == Wipe && a.Server == id }

// SnapshotCommitted: "each server takes snapshots independently, covering
// just the committed entries in its log" (§7). A snapshot's entries are a
// prefix of the committed history, and its server's commitIndex is at
// least its last index (the state machine built from it is committed).
func SnapshotCommitted(s *State) error {
	for i := range s.Servers {
		v := &s.Servers[i]
		if v.SnapshotIndex == 0 {
			continue
		}
		if v.CommitIndex < v.SnapshotIndex {
			return fmt.Errorf("%v's snapshot reaches index %d beyond its commitIndex %d", v.ID, v.SnapshotIndex, v.CommitIndex)
		}
		if int(v.SnapshotIndex) > len(s.History.Committed) || int(v.SnapshotIndex) > len(v.Log) {
			return fmt.Errorf("%v's snapshot reaches index %d beyond the committed history (%d entries)", v.ID, v.SnapshotIndex, len(s.History.Committed))
		}
		for k := range v.SnapshotIndex {
			if v.Log[k] != s.History.Committed[k].Entry {
				return fmt.Errorf("%v's snapshot holds %v at index %d, where %v was committed", v.ID, v.Log[k], k+1, s.History.Committed[k].Entry)
			}
		}
	}
	return nil
}

// CheckAll evaluates the named invariants on s (all of them when names is
// nil) and returns the first violation as "name: explanation".
func CheckAll(s *State, names []string) error {
	for _, p := range Invariants {
		if selected(names, p.Name) {
			if err := p.Check(s); err != nil {
				return fmt.Errorf("%s: %w", p.Name, err)
			}
		}
	}
	return nil
}

// CheckStep evaluates the named transition properties on one step (all of
// them when names is nil) and returns the first violation.
func CheckStep(before *State, a *Action, after *State, names []string) error {
	for _, p := range TransitionProperties {
		if selected(names, p.Name) {
			if err := p.Check(before, a, after); err != nil {
				return fmt.Errorf("%s: %w", p.Name, err)
			}
		}
	}
	return nil
}

func selected(names []string, name string) bool {
	return names == nil || slices.Contains(names, name)
}

// ParsePropertyList splits a comma-separated list of property names and
// checks each one; an empty list or "all" selects every property (nil).
func ParsePropertyList(list string) ([]string, error) {
	list = strings.TrimSpace(list)
	if list == "" || list == "all" {
		return nil, nil
	}
	known := PropertyNames()
	var names []string
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if to, ok := propertyAliases[n]; ok {
			n = to
		}
		if !slices.Contains(known, n) {
			return nil, fmt.Errorf("unknown property %q (known: %s)", n, strings.Join(known, ", "))
		}
		names = append(names, n)
	}
	return names, nil
}
