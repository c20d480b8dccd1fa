package model

import (
	"encoding/binary"
	"fmt"

	"github.com/raftcheck/raftcheck/spec"
)

// entry is a log entry packed in a byte: term in the high nibble, value
// number (1..MaxLog) in the low nibble.
type entry uint8

func mkEntry(term, value uint8) entry { return entry(term<<4 | value) }
func (e entry) term() uint8           { return uint8(e) >> 4 }
func (e entry) value() uint8          { return uint8(e) & 0xf }

// Roles, as in spec.Role.
const (
	follower  = uint8(spec.Follower)
	candidate = uint8(spec.Candidate)
	leader    = uint8(spec.Leader)
)

// server is one server's persistent and volatile state. Leader state (next,
// match) is kept only while leading and votes only while a candidate;
// otherwise they are zero, so equal observable states are equal states.
type server struct {
	term   uint8 // currentTerm (persistent)
	voted  uint8 // votedFor, 0 = None (persistent)
	role   uint8
	n      uint8 // log length (persistent with log)
	snap   uint8 // snapshot index: log[:snap] is compacted (persistent; kept as the snapshot's data)
	commit uint8 // commitIndex (volatile)
	votes  uint8 // candidate: bit j-1 set when server j granted its vote; a count under count-duplicate-votes
	log    [MaxLog]entry
	next   [MaxServers]uint8 // leader: nextIndex[j-1]
	match  [MaxServers]uint8 // leader: matchIndex[j-1]
	// Pipelining (Features.MaxInflight), leader only: probe has bit j-1
	// set while peer j is probed (one request at a time); infl[j-1] holds
	// the last index of each unacknowledged request to j, oldest in the low
	// nibble, 0 for none.
	probe uint8
	infl  [MaxServers]uint8
}

func (s *server) lastTerm() uint8 {
	if s.n == 0 {
		return 0
	}
	return s.log[s.n-1].term()
}

// termAt returns the term of the entry at 1-based index k, 0 for k = 0.
func (s *server) termAt(k uint8) uint8 {
	if k == 0 {
		return 0
	}
	return s.log[k-1].term()
}

// msg is a message packed in 16 bytes, compared bytewise, so the network
// multiset has one canonical sorted order. The fields per type mirror
// spec.Message:
//
//	RequestVote:           a = lastLogIndex, b = lastLogTerm
//	RequestVoteResponse:   a = granted (0/1)
//	AppendEntries:         a = prevLogIndex, b = prevLogTerm, c = leaderCommit, n entries
//	AppendEntriesResponse: a = success (0/1), b = matchIndex (or hint)
type msg [16]uint8

const (
	mTyp = iota
	mFrom
	mTo
	mTerm
	mA
	mB
	mC
	mN
	mEnts
)

func (m *msg) typ() spec.MsgType { return spec.MsgType(m[mTyp]) }
func (m *msg) ents() []uint8     { return m[mEnts : mEnts+int(m[mN])] }

// less orders messages bytewise.
func (m *msg) less(o *msg) bool {
	a, b := binary.BigEndian.Uint64(m[:8]), binary.BigEndian.Uint64(o[:8])
	if a != b {
		return a < b
	}
	return binary.BigEndian.Uint64(m[8:]) < binary.BigEndian.Uint64(o[8:])
}

// State is one state of the whole cluster: the servers, the network as a
// multiset of messages in flight, the partition, the fault counters and the
// history the properties need (see spec.History). It is a plain value: the
// model never mutates a State it is given, and copying one copies all of it.
type State struct {
	srv   [MaxServers]server
	msgs  [MaxInFlight]msg // sorted, distinct; the first nmsg are in flight
	cnt   [MaxInFlight]uint8
	nmsg  uint8
	total uint8 // copies in flight
	// group[i] is server i+1's side of the partition; all zero when whole.
	// Groups are numbered in order of their smallest member.
	group [MaxServers]uint8
	// used has bit k-1 set once value k has been proposed.
	used                              uint8
	restarts, partitions, drops, dups uint8
	snapshots                         uint8              // Compact actions so far
	reconfigs                         uint8              // membership changes so far (LeaveJoint completes one, so it is not counted)
	ncfg                              uint8              // configurations numbered so far
	cfgs                              [MaxReconfigs]conf // each configuration number's voters, outgoing voters and learners
	leaderOf                          [MaxTerm + 1]uint8 // history: first leader of each term
	hlen                              uint8              // history: length of the committed prefix
	hist                              [MaxLog]entry      // history: committed entries
	htermAt                           [MaxLog]uint8      // history: term each was committed in
	hcfg                              [MaxLog]uint8      // history: voters of the configuration each was committed under (membership changes only)
	hout                              [MaxLog]uint8      // history: its outgoing voters, when joint
}

// SameServers reports whether a and b agree on everything the properties
// read: the servers and the history.
func SameServers(a, b *State) bool {
	return a.srv == b.srv && a.leaderOf == b.leaderOf && a.hlen == b.hlen && a.hist == b.hist && a.htermAt == b.htermAt &&
		a.hcfg == b.hcfg && a.hout == b.hout && a.cfgs == b.cfgs
}

// partitioned reports whether the network is split.
func (s *State) partitioned() bool { return s.group != [MaxServers]uint8{} }

// find returns the position of m in the network, or -1.
func (s *State) find(m *msg) int {
	for k := 0; k < int(s.nmsg); k++ {
		if s.msgs[k] == *m {
			return k
		}
	}
	return -1
}

// send adds one copy of m. A copy beyond maxCopies is absorbed (lost).
func (s *State) send(m *msg, maxCopies int) {
	k := 0
	for k < int(s.nmsg) && s.msgs[k].less(m) {
		k++
	}
	if k < int(s.nmsg) && s.msgs[k] == *m {
		if int(s.cnt[k]) < maxCopies {
			s.cnt[k]++
			s.total++
		}
		return
	}
	copy(s.msgs[k+1:s.nmsg+1], s.msgs[k:s.nmsg])
	copy(s.cnt[k+1:s.nmsg+1], s.cnt[k:s.nmsg])
	s.msgs[k] = *m
	s.cnt[k] = 1
	s.nmsg++
	s.total++
}

// remove takes one copy of the message at position k out of the network.
func (s *State) remove(k int) {
	s.total--
	if s.cnt[k] > 1 {
		s.cnt[k]--
		return
	}
	copy(s.msgs[k:], s.msgs[k+1:s.nmsg])
	copy(s.cnt[k:], s.cnt[k+1:s.nmsg])
	s.nmsg--
	s.msgs[s.nmsg] = msg{}
	s.cnt[s.nmsg] = 0
}

// View fills dst with the spec view of s: what the properties check and
// what replay compares with the implementation. dst's slices are reused.
func (m *Model) View(s *State, dst *spec.State) {
	m.PropertyView(s, dst)
	dst.Network = dst.Network[:0]
	for k := 0; k < int(s.nmsg); k++ {
		dst.Network = append(dst.Network, spec.InFlight{Message: m.specMsg(s, &s.msgs[k]), Count: int(s.cnt[k])})
	}
	spec.SortInFlight(dst.Network)
	dst.Partition = m.groups(s)
}

// DurableView returns what each server holds on stable storage: its
// term, vote, log and snapshot index. (Under the seeded bug
// forget-vote-on-restart the vote is never persisted, so it is None
// there.)
func (m *Model) DurableView(s *State) []spec.Durable {
	out := make([]spec.Durable, m.n)
	for i := range out {
		sv := &s.srv[i]
		d := &out[i]
		d.Term, d.VotedFor, d.SnapshotIndex = spec.Term(sv.term), spec.ServerID(sv.voted), spec.Index(sv.snap)
		if m.bug == bugForgetVoteOnRestart {
			d.VotedFor = spec.None
		}
		for k := range sv.n {
			d.Log = append(d.Log, m.specEntry(s, sv.log[k]))
		}
	}
	return out
}

// PropertyView fills only what the properties read: the servers and the
// history (not the network or the partition). It allocates nothing once
// dst's slices have grown.
func (m *Model) PropertyView(s *State, dst *spec.State) {
	n := m.n
	if cap(dst.Servers) < n {
		dst.Servers = make([]spec.View, n)
	}
	dst.Servers = dst.Servers[:n]
	for i := range n {
		m.fillView(s, i, &dst.Servers[i])
	}
	h := &dst.History
	h.LeaderOf = h.LeaderOf[:0]
	top := 0
	for t := range s.leaderOf {
		if s.leaderOf[t] != 0 {
			top = t + 1
		}
	}
	for t := range top {
		h.LeaderOf = append(h.LeaderOf, spec.ServerID(s.leaderOf[t]))
	}
	h.Committed = h.Committed[:0]
	for k := range s.hlen {
		h.Committed = append(h.Committed, spec.CommittedEntry{Entry: m.specEntry(s, s.hist[k]), CommitTerm: spec.Term(s.htermAt[k]),
			Quorum: spec.Members(s.hcfg[k]), Outgoing: spec.Members(s.hout[k])})
	}
	h.Members = 0
	if m.reconf {
		h.Members = spec.Members(m.initial)
	}
}

func (m *Model) fillView(s *State, i int, v *spec.View) {
	sv := &s.srv[i]
	v.ID = spec.ServerID(i + 1)
	v.Term = spec.Term(sv.term)
	v.VotedFor = spec.ServerID(sv.voted)
	v.Role = spec.Role(sv.role)
	v.CommitIndex = spec.Index(sv.commit)
	v.SnapshotIndex = spec.Index(sv.snap)
	v.Log = v.Log[:0]
	for k := range sv.n {
		v.Log = append(v.Log, m.specEntry(s, sv.log[k]))
	}
	v.NextIndex, v.MatchIndex, v.Votes, v.VoteCount = v.NextIndex[:0], v.MatchIndex[:0], v.Votes[:0], 0
	n := m.n
	switch sv.role {
	case leader:
		for j := range n {
			v.NextIndex = append(v.NextIndex, spec.Index(sv.next[j]))
			v.MatchIndex = append(v.MatchIndex, spec.Index(sv.match[j]))
		}
	case candidate:
		if m.bug == bugCountDuplicateVotes {
			// The bug keeps only a count, so the view cannot say who
			// voted; it shows the count the bug decides by.
			v.VoteCount = int(sv.votes)
			break
		}
		for j := range n {
			if sv.votes&(1<<j) != 0 {
				v.Votes = append(v.Votes, spec.ServerID(j+1))
			}
		}
	}
	if len(v.NextIndex) == 0 {
		v.NextIndex, v.MatchIndex = nil, nil
	}
	if len(v.Votes) == 0 {
		v.Votes = nil
	}
}

// specEntry unpacks an entry of s (whose table names its configuration,
// for a configuration entry).
func (m *Model) specEntry(s *State, e entry) spec.Entry {
	if e.isConfig() {
		c := s.cfgs[e.configNum()]
		return spec.Entry{Term: spec.Term(e.term()), Config: spec.Members(c.v), Outgoing: spec.Members(c.o), Learners: spec.Members(c.l)}
	}
	return spec.Entry{Term: spec.Term(e.term()), Value: m.valueNames[e.value()]}
}

// specMsg unpacks a message of s.
func (m *Model) specMsg(s *State, p *msg) spec.Message {
	out := spec.Message{Type: p.typ(), From: spec.ServerID(p[mFrom]), To: spec.ServerID(p[mTo]), Term: spec.Term(p[mTerm])}
	switch out.Type {
	case spec.RequestVote:
		out.LastLogIndex, out.LastLogTerm = spec.Index(p[mA]), spec.Term(p[mB])
	case spec.RequestVoteResponse:
		out.Granted = p[mA] == 1
	case spec.AppendEntries:
		out.PrevLogIndex, out.PrevLogTerm, out.LeaderCommit = spec.Index(p[mA]), spec.Term(p[mB]), spec.Index(p[mC])
		for _, e := range p.ents() {
			out.Entries = append(out.Entries, m.specEntry(s, entry(e)))
		}
	case spec.AppendEntriesResponse:
		out.Success, out.MatchIndex = p[mA] == 1, spec.Index(p[mB])
	case spec.InstallSnapshot:
		out.LastIncludedIndex, out.LastIncludedTerm = spec.Index(p[mA]), spec.Term(p[mB])
		for _, e := range p.ents() {
			out.Entries = append(out.Entries, m.specEntry(s, entry(e)))
		}
	}
	return out
}

// packMsg is the inverse of specMsg; it fails for a message the bounded
// model cannot represent.
func (m *Model) packMsg(s *State, in *spec.Message) (msg, error) {
	var p msg
	if err := in.Validate(); err != nil {
		return p, err
	}
	if int(in.From) > m.n || int(in.To) > m.n {
		return p, fmt.Errorf("from/to: %v->%v is outside a %d-server cluster", in.From, in.To, m.n)
	}
	small := func(name string, v uint64, hi int) (uint8, error) {
		if v > uint64(hi) {
			return 0, fmt.Errorf("%s: %d exceeds the model's limit %d", name, v, hi)
		}
		return uint8(v), nil
	}
	var err error
	p[mTyp], p[mFrom], p[mTo] = uint8(in.Type), uint8(in.From), uint8(in.To)
	if p[mTerm], err = small("term", uint64(in.Term), MaxTerm); err != nil {
		return p, err
	}
	switch in.Type {
	case spec.RequestVote:
		if p[mA], err = small("last_log_index", uint64(in.LastLogIndex), MaxLog); err != nil {
			return p, err
		}
		if p[mB], err = small("last_log_term", uint64(in.LastLogTerm), MaxTerm); err != nil {
			return p, err
		}
	case spec.RequestVoteResponse:
		p[mA] = b2u(in.Granted)
	case spec.AppendEntries:
		if p[mA], err = small("prev_log_index", uint64(in.PrevLogIndex), MaxLog); err != nil {
			return p, err
		}
		if p[mB], err = small("prev_log_term", uint64(in.PrevLogTerm), MaxTerm); err != nil {
			return p, err
		}
		if p[mC], err = small("leader_commit", uint64(in.LeaderCommit), MaxLog); err != nil {
			return p, err
		}
		if int(in.PrevLogIndex)+len(in.Entries) > MaxLog {
			return p, fmt.Errorf("entries: log would exceed the model's limit of %d entries", MaxLog)
		}
		p[mN] = uint8(len(in.Entries))
		for k, e := range in.Entries {
			pe, err := m.packEntry(s, e)
			if err != nil {
				return p, fmt.Errorf("entries[%d].%w", k, err)
			}
			p[mEnts+k] = uint8(pe)
		}
	case spec.AppendEntriesResponse:
		p[mA] = b2u(in.Success)
		if p[mB], err = small("match_index", uint64(in.MatchIndex), MaxLog); err != nil {
			return p, err
		}
	case spec.InstallSnapshot:
		if m.cfg.MaxSnapshots == 0 {
			return p, fmt.Errorf("type: InstallSnapshot in a configuration without snapshots (max_snapshots 0)")
		}
		return m.packSnapshot(s, in, p)
	}
	return p, nil
}

// packSnapshot packs an InstallSnapshot: its last included index and term
// and its data, the entries up to that index.
func (m *Model) packSnapshot(s *State, in *spec.Message, p msg) (msg, error) {
	if int(in.LastIncludedIndex) > MaxLog || int(in.LastIncludedTerm) > MaxTerm {
		return p, fmt.Errorf("last_included_index/last_included_term: %d/%d exceed the model's limits", in.LastIncludedIndex, in.LastIncludedTerm)
	}
	p[mA], p[mB], p[mN] = uint8(in.LastIncludedIndex), uint8(in.LastIncludedTerm), uint8(len(in.Entries))
	for k, e := range in.Entries {
		pe, err := m.packEntry(s, e)
		if err != nil {
			return p, fmt.Errorf("entries[%d].%w", k, err)
		}
		p[mEnts+k] = uint8(pe)
	}
	return p, nil
}

func (m *Model) packEntry(s *State, e spec.Entry) (entry, error) {
	if e.Term > MaxTerm {
		return 0, fmt.Errorf("term: %d exceeds the model's limit %d", e.Term, MaxTerm)
	}
	if e.Config != 0 {
		for k := range s.ncfg {
			if s.cfgs[k].spec() == e.Configuration() {
				return mkConfigEntry(uint8(e.Term), k), nil
			}
		}
		return 0, fmt.Errorf("config: %v was never proposed in this run", e.Configuration())
	}
	v := m.valueNumber(e.Value)
	if v == 0 {
		return 0, fmt.Errorf("value: %q is not one of the model's values", e.Value)
	}
	return mkEntry(uint8(e.Term), v), nil
}

// valueNumber returns the number of a value name, or 0.
func (m *Model) valueNumber(v spec.Value) uint8 {
	for k := 1; k <= m.cfg.MaxValues; k++ {
		if m.valueNames[k] == v {
			return uint8(k)
		}
	}
	return 0
}

// groups returns the partition as spec groups, or nil.
func (m *Model) groups(s *State) [][]spec.ServerID {
	if !s.partitioned() {
		return nil
	}
	var out [][]spec.ServerID
	for i := range m.n {
		g := int(s.group[i])
		for len(out) <= g {
			out = append(out, nil)
		}
		out[g] = append(out[g], spec.ServerID(i+1))
	}
	return out
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// CheckWellFormed reports the first structural defect of s: a field out of
// range for the configuration, an unsorted network, a count that does not
// add up. Every state the model produces from a well-formed state is well
// formed; Decode refuses encodings of ill-formed states.
func (m *Model) CheckWellFormed(s *State) error {
	n := m.n
	for i := range MaxServers {
		sv := &s.srv[i]
		if i >= n {
			if *sv != (server{}) || s.group[i] != 0 {
				return fmt.Errorf("server %d: beyond the %d-server cluster but not empty", i+1, n)
			}
			continue
		}
		if err := m.checkServer(sv, uint8(i+1)); err != nil {
			return fmt.Errorf("server %d: %w", i+1, err)
		}
	}
	var total int
	for k := range MaxInFlight {
		if k >= int(s.nmsg) {
			if s.msgs[k] != (msg{}) || s.cnt[k] != 0 {
				return fmt.Errorf("network: slot %d beyond %d messages is not empty", k, s.nmsg)
			}
			continue
		}
		if s.cnt[k] == 0 {
			return fmt.Errorf("network: message %d has no copies", k)
		}
		if k > 0 && !s.msgs[k-1].less(&s.msgs[k]) {
			return fmt.Errorf("network: messages %d and %d out of order or equal", k-1, k)
		}
		if err := m.checkMsg(&s.msgs[k]); err != nil {
			return fmt.Errorf("network: message %d: %w", k, err)
		}
		total += int(s.cnt[k])
	}
	if total > MaxInFlight || total != int(s.total) {
		return fmt.Errorf("network: %d copies counted as %d", total, s.total)
	}
	if s.partitioned() {
		var next uint8
		for i := range n {
			switch g := s.group[i]; {
			case g == next:
				next++
			case g > next:
				return fmt.Errorf("partition: groups not numbered in order of their smallest member")
			}
		}
		if next < 2 {
			return fmt.Errorf("partition: fewer than two groups")
		}
	}
	if s.used >= 1<<m.cfg.MaxValues && m.cfg.MaxValues < 8 {
		return fmt.Errorf("values: unknown value marked used")
	}
	for t, id := range s.leaderOf {
		if int(id) > n || ((t == 0 || t > m.cfg.MaxTerm) && id != 0) {
			return fmt.Errorf("history: leader of term %d is %d", t, id)
		}
	}
	if s.hlen > MaxLog {
		return fmt.Errorf("history: %d committed entries", s.hlen)
	}
	if err := m.checkConfigs(s); err != nil {
		return err
	}
	for k := range MaxLog {
		if k >= int(s.hlen) {
			if s.hist[k] != 0 || s.htermAt[k] != 0 {
				return fmt.Errorf("history: slot %d beyond the committed prefix is not empty", k)
			}
		} else if err := m.checkEntry(s.hist[k]); err != nil {
			return fmt.Errorf("history: entry %d: %w", k+1, err)
		}
	}
	return nil
}

// checkConfigs checks the membership bookkeeping: within the budget,
// numbered masks of existing servers, nothing beyond them, and none of it
// without membership changes.
func (m *Model) checkConfigs(s *State) error {
	perChange := 1
	if m.joint {
		perChange = 2
	}
	if int(s.reconfigs) > m.cfg.MaxReconfigs || int(s.ncfg) > perChange*int(s.reconfigs) {
		return fmt.Errorf("configurations: %d changes, %d numbered, bound %d", s.reconfigs, s.ncfg, m.cfg.MaxReconfigs)
	}
	for k := range MaxReconfigs {
		if c := s.cfgs[k]; !m.wellFormedConf(c, k < int(s.ncfg)) {
			return fmt.Errorf("configurations: number %d is %+v", k, c)
		}
	}
	for k := range MaxLog {
		c, o := s.hcfg[k], s.hout[k]
		if (k >= int(s.hlen) || !m.reconf) && c|o != 0 || (c|o)&^m.all != 0 || (c == 0 && o != 0) {
			return fmt.Errorf("history: entry %d committed under voters %#x, outgoing %#x", k+1, c, o)
		}
	}
	return nil
}

// wellFormedConf reports whether c is a numbered configuration (used) or
// an empty slot: voters present, servers that exist, learners apart from
// the voters, outgoing voters only in joint mode, learners only with them.
func (m *Model) wellFormedConf(c conf, used bool) bool {
	if !used {
		return c == conf{}
	}
	return c.v != 0 && c.members()&^m.all == 0 && c.l&c.voters() == 0 && (m.joint || c.o == 0) && (m.cfg.Learners || c.l == 0)
}

func (m *Model) checkEntry(e entry) error {
	if e.isConfig() && int(e.configNum()) < m.maxCfgs && e.term() != 0 {
		return nil
	}
	if e.term() == 0 || int(e.value()) == 0 || int(e.value()) > m.cfg.MaxValues {
		return fmt.Errorf("entry %#x: term 0 or value out of range", uint8(e))
	}
	return nil
}

func (m *Model) checkServer(sv *server, id uint8) error {
	n := m.n
	switch {
	case int(sv.term) > m.cfg.MaxTerm:
		return fmt.Errorf("term %d above the bound", sv.term)
	case sv.role > leader:
		return fmt.Errorf("role %d", sv.role)
	case int(sv.voted) > n:
		return fmt.Errorf("votedFor %d", sv.voted)
	case sv.n > MaxLog || sv.commit > sv.n || sv.snap > sv.n:
		return fmt.Errorf("log length %d, commitIndex %d, snapshot index %d", sv.n, sv.commit, sv.snap)
	case sv.term == 0 && (sv.role != follower || sv.voted != 0):
		return fmt.Errorf("a vote or a candidacy in term 0")
	}
	for k := range MaxLog {
		if k >= int(sv.n) {
			if sv.log[k] != 0 {
				return fmt.Errorf("log slot %d beyond the log is not empty", k+1)
			}
			continue
		}
		if err := m.checkEntry(sv.log[k]); err != nil {
			return fmt.Errorf("log[%d]: %w", k+1, err)
		}
		if sv.log[k].term() > sv.term {
			return fmt.Errorf("log[%d] has term %d above currentTerm %d", k+1, sv.log[k].term(), sv.term)
		}
	}
	for j := range MaxServers {
		peer := j < n && uint8(j+1) != id && sv.role == leader
		if !peer && (sv.next[j] != 0 || sv.match[j] != 0) {
			return fmt.Errorf("nextIndex/matchIndex set for %d outside a leader's peers", j+1)
		}
		if peer && (sv.next[j] < 1 || sv.next[j] > sv.n+1 || sv.match[j] > sv.n) {
			return fmt.Errorf("nextIndex %d / matchIndex %d for %d out of range", sv.next[j], sv.match[j], j+1)
		}
	}
	if sv.role != leader && (sv.probe != 0 || sv.infl != [MaxServers]uint8{}) {
		return fmt.Errorf("pipelining state outside leadership")
	}
	if sv.role != candidate && sv.votes != 0 {
		return fmt.Errorf("votes held outside candidacy")
	}
	if sv.role == candidate && m.bug != bugCountDuplicateVotes && sv.votes >= 1<<n {
		return fmt.Errorf("votes from unknown servers")
	}
	return nil
}

func (m *Model) checkMsg(p *msg) error {
	n := m.n
	if p[mFrom] == 0 || int(p[mFrom]) > n || p[mTo] == 0 || int(p[mTo]) > n || p[mFrom] == p[mTo] {
		return fmt.Errorf("endpoints %d->%d", p[mFrom], p[mTo])
	}
	if p[mTerm] == 0 || int(p[mTerm]) > m.cfg.MaxTerm {
		return fmt.Errorf("term %d outside 1..%d", p[mTerm], m.cfg.MaxTerm)
	}
	zeroFrom := func(k int) error {
		for _, b := range p[k:] {
			if b != 0 {
				return fmt.Errorf("unused field set")
			}
		}
		return nil
	}
	switch p.typ() {
	case spec.RequestVote:
		if p[mA] > MaxLog || int(p[mB]) > m.cfg.MaxTerm {
			return fmt.Errorf("RequestVote last index/term out of range")
		}
		return zeroFrom(mC)
	case spec.RequestVoteResponse:
		if p[mA] > 1 {
			return fmt.Errorf("granted %d", p[mA])
		}
		return zeroFrom(mB)
	case spec.AppendEntries:
		if int(p[mA])+int(p[mN]) > MaxLog || int(p[mB]) > m.cfg.MaxTerm || p[mC] > MaxLog || (p[mA] == 0) != (p[mB] == 0) {
			return fmt.Errorf("AppendEntries prev/commit/entries out of range")
		}
		for k, e := range p.ents() {
			if err := m.checkEntry(entry(e)); err != nil || entry(e).term() > p[mTerm] || (k == 0 && entry(e).term() < p[mB]) {
				return fmt.Errorf("AppendEntries entry %d invalid", k)
			}
		}
		return zeroFrom(mEnts + int(p[mN]))
	case spec.AppendEntriesResponse:
		if p[mA] > 1 || p[mB] > MaxLog {
			return fmt.Errorf("AppendEntriesResponse success/match out of range")
		}
		return zeroFrom(mC)
	case spec.InstallSnapshot:
		if m.cfg.MaxSnapshots == 0 {
			return fmt.Errorf("InstallSnapshot in a configuration without snapshots")
		}
		if p[mA] == 0 || p[mA] != p[mN] || p[mB] == 0 || p[mB] > p[mTerm] || p[mC] != 0 {
			return fmt.Errorf("InstallSnapshot index/term/data out of range")
		}
		for _, e := range p.ents() {
			if err := m.checkEntry(entry(e)); err != nil || entry(e).term() > p[mB] {
				return fmt.Errorf("InstallSnapshot data invalid")
			}
		}
		if entry(p.ents()[p[mN]-1]).term() != p[mB] {
			return fmt.Errorf("InstallSnapshot last term differs from its data")
		}
		return zeroFrom(mEnts + int(p[mN]))
	}
	return fmt.Errorf("type %d", p[mTyp])
}
