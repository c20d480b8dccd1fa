// Package model is the pure-functional Raft model that raftcheck explores:
// a cluster State, the actions enabled in it under a Config of bounds, and
// a step function that computes the successor of a state without touching
// it. Every action is a named guard plus effect, written out in
// spec/README.md with the rule of the Raft paper it comes from.
//
// The state is packed into a fixed-size value (about half a kilobyte) so
// that a step is a copy and a few byte writes, and has a compact canonical
// encoding for fingerprinting, with symmetry reduction over server
// identities.
package model

import (
	"fmt"
	"strings"

	"github.com/raftcheck/raftcheck/spec"
)

// Model is a configured Raft model. It is immutable and safe for
// concurrent use.
type Model struct {
	cfg        Config
	bug        bugID
	n          int   // servers: the initial members, then the joiners
	reconf     bool  // membership changes are on (MaxReconfigs > 0)
	joint      bool  // they are joint consensus (Reconfig "joint")
	maxCfgs    int   // configurations a run may number
	initial    uint8 // the initial configuration: servers 1..Servers
	all        uint8 // every server
	valueNames [MaxLog + 1]spec.Value
	partitions []uint8 // enumerated partitions: masks of the side without S1
}

// New validates cfg and returns the model.
func New(cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := cfg.Servers + cfg.Joiners
	m := &Model{cfg: cfg, n: n, reconf: cfg.MaxReconfigs > 0, joint: cfg.Reconfig == ReconfigJoint,
		initial: uint8(1<<cfg.Servers - 1), all: uint8(1<<n - 1), maxCfgs: cfg.MaxReconfigs}
	if m.joint {
		m.maxCfgs *= 2 // C_old,new and C_new
	}
	if cfg.Bug != "" {
		b, _ := bugByName(cfg.Bug)
		m.bug = b.id
	}
	for k := 1; k <= MaxLog; k++ {
		m.valueNames[k] = cfg.ValueName(k)
	}
	// Every split into two groups: the side without S1 is any non-empty
	// proper subset of the others.
	for mask := 1; mask < 1<<n; mask++ {
		if mask&1 == 0 {
			m.partitions = append(m.partitions, uint8(mask))
		}
	}
	return m, nil
}

// MustNew is New for configurations known to be valid; it panics otherwise.
func MustNew(cfg Config) *Model {
	m, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return m
}

// Config returns the model's configuration.
func (m *Model) Config() Config { return m.cfg }

// Init returns the initial state (Figure 2): every server a follower in
// term 0 with no vote, an empty log and commitIndex 0; the network empty
// and whole.
func (m *Model) Init() State { return State{} }

// Action is an action of the model in compact form, valid for the state it
// was enumerated from (Msg is a position in that state's network). Kind is
// one of spec.ActionKinds.
type Action struct {
	Kind   spec.ActionKind
	Server uint8 // 1-based, for Timeout, Heartbeat, ClientRequest, Restart, Compact, Wipe and the changes
	Target uint8 // AddServer, RemoveServer, AddLearner: the server added or removed
	Config uint8 // EnterJoint: the new voters C_new (bit i-1 for Si)
	Value  uint8 // value number, for ClientRequest
	Msg    uint8 // network position, for Deliver, Drop, Duplicate
	Part   uint8 // Partition: the servers (bit i-1 for Si) on the side without S1
}

// Actions appends to dst every action enabled in s, in a fixed order: per
// server Timeout, Heartbeat, ClientRequest, the membership changes,
// Restart, Compact, Wipe; per message Deliver,
// Drop, Duplicate; then Partition and Heal.
func (m *Model) Actions(s *State, dst []Action) []Action {
	n := m.n
	for i := range n {
		id := uint8(i + 1)
		sv := &s.srv[i]
		if m.canTimeout(s, sv, id) {
			dst = append(dst, Action{Kind: spec.Timeout, Server: id})
		}
		if sv.role == leader {
			if int(s.total)+m.peers(s, sv, id) <= m.cfg.MaxMsgs {
				dst = append(dst, Action{Kind: spec.Heartbeat, Server: id})
			}
			// Values are interchangeable, so only the lowest unused one is
			// offered; Step accepts any unused value.
			if v := m.nextValue(s); v != 0 && sv.n < MaxLog && m.roomToPropose(s, sv, id) {
				dst = append(dst, Action{Kind: spec.ClientRequest, Server: id, Value: v})
			}
			dst = m.reconfigActions(s, sv, id, dst)
		}
		if int(s.restarts) < m.cfg.MaxRestarts {
			dst = append(dst, Action{Kind: spec.Restart, Server: id})
		}
		if int(s.snapshots) < m.cfg.MaxSnapshots && m.compactTo(sv) > sv.snap {
			dst = append(dst, Action{Kind: spec.Compact, Server: id})
		}
		if m.canWipe(s, sv, id) {
			dst = append(dst, Action{Kind: spec.Wipe, Server: id})
		}
	}
	for k := 0; k < int(s.nmsg); k++ {
		p := &s.msgs[k]
		if s.group[p[mFrom]-1] == s.group[p[mTo]-1] {
			dst = append(dst, Action{Kind: spec.Deliver, Msg: uint8(k)})
		}
		if int(s.drops) < m.cfg.MaxDrops {
			dst = append(dst, Action{Kind: spec.Drop, Msg: uint8(k)})
		}
		if int(s.dups) < m.cfg.MaxDups && int(s.total) < m.cfg.MaxMsgs && int(s.cnt[k]) < m.cfg.MaxCopies {
			dst = append(dst, Action{Kind: spec.Duplicate, Msg: uint8(k)})
		}
	}
	if s.partitioned() {
		dst = append(dst, Action{Kind: spec.Heal})
	} else if int(s.partitions) < m.cfg.MaxPartitions {
		for _, p := range m.partitions {
			dst = append(dst, Action{Kind: spec.Partition, Part: p})
		}
	}
	return dst
}

// roomToPropose reports whether a ClientRequest fits the message bound:
// with replicate-on-propose it sends an AppendEntries to every peer.
func (m *Model) roomToPropose(s *State, sv *server, id uint8) bool {
	return !m.cfg.ReplicateOnPropose || int(s.total)+m.peers(s, sv, id) <= m.cfg.MaxMsgs
}

// canTimeout: a follower or candidate below the term bound with room for
// its RequestVotes; with membership changes only a voter of its own
// configuration stands (learners and non-members do not) (spec/README.md, Membership changes).
func (m *Model) canTimeout(s *State, sv *server, id uint8) bool {
	return sv.role != leader && int(sv.term) < m.cfg.MaxTerm && int(s.total)+m.votePeers(s, sv, id) <= m.cfg.MaxMsgs &&
		(!m.reconf || m.configOf(s, sv).voter(id))
}

// nextValue returns the lowest unused value number, or 0.
func (m *Model) nextValue(s *State) uint8 {
	for k := 1; k <= m.cfg.MaxValues; k++ {
		if s.used&(1<<(k-1)) == 0 {
			return uint8(k)
		}
	}
	return 0
}

// Next writes into out the successor of s under a, an action enumerated by
// Actions(s). It returns false, leaving out unspecified, if a is not
// enabled in s. s itself is never modified.
func (m *Model) Next(s *State, a Action, out *State) bool {
	*out = *s
	switch a.Kind {
	case spec.Timeout:
		return m.timeout(out, a.Server)
	case spec.Heartbeat:
		return m.heartbeat(out, a.Server)
	case spec.ClientRequest:
		return m.clientRequest(out, a.Server, a.Value)
	case spec.Deliver:
		return m.deliver(out, int(a.Msg))
	case spec.Drop:
		return m.drop(out, int(a.Msg))
	case spec.Duplicate:
		return m.duplicate(out, int(a.Msg))
	case spec.Partition:
		if int(s.partitions) >= m.cfg.MaxPartitions || s.partitioned() || a.Part == 0 || a.Part&1 != 0 || int(a.Part) >= 1<<m.n {
			return false
		}
		for i := range m.n {
			out.group[i] = (a.Part >> i) & 1
		}
		out.partitions++
		return true
	case spec.Heal:
		if !s.partitioned() {
			return false
		}
		out.group = [MaxServers]uint8{}
		return true
	case spec.Restart:
		return m.restart(out, a.Server)
	case spec.Compact:
		return m.compact(out, a.Server)
	case spec.AddServer, spec.RemoveServer:
		return m.reconfigure(out, a.Kind, a.Server, a.Target)
	case spec.AddLearner:
		return m.addLearner(out, a.Server, a.Target)
	case spec.EnterJoint:
		return m.enterJoint(out, a.Server, a.Config)
	case spec.LeaveJoint:
		return m.leaveJoint(out, a.Server)
	case spec.Wipe:
		return m.wipe(out, a.Server)
	}
	return false
}

// Step applies a spec action to s and returns the successor, or an error
// naming why the action is not enabled (or not well formed) in s. s is not
// modified. Unlike Actions, Step accepts any unused client value and any
// partition into groups.
func (m *Model) Step(s State, a spec.Action) (State, error) {
	if err := a.Validate(m.n); err != nil {
		return s, fmt.Errorf("%v: %w", a.Kind, err)
	}
	var out State
	ca := Action{Kind: a.Kind, Server: uint8(a.Server), Target: uint8(a.Target), Config: uint8(a.Config)}
	switch a.Kind {
	case spec.ClientRequest:
		ca.Value = m.valueNumber(a.Value)
		if ca.Value == 0 {
			return s, fmt.Errorf("ClientRequest: value %q is not one of the model's %d values", a.Value, m.cfg.MaxValues)
		}
	case spec.Deliver, spec.Drop, spec.Duplicate:
		p, err := m.packMsg(&s, a.Message)
		if err != nil {
			return s, fmt.Errorf("%v: message.%w", a.Kind, err)
		}
		k := s.find(&p)
		if k < 0 {
			return s, fmt.Errorf("%v: message %v is not in flight%s", a.Kind, *a.Message, m.closestInFlight(&s, a.Message))
		}
		ca.Msg = uint8(k)
	case spec.Partition:
		if int(s.partitions) >= m.cfg.MaxPartitions {
			return s, fmt.Errorf("partition bound %d reached", m.cfg.MaxPartitions)
		}
		if s.partitioned() {
			return s, fmt.Errorf("partition: the network is already partitioned")
		}
		out = s
		for g, grp := range spec.NormalizeGroups(a.Groups) {
			for _, id := range grp {
				out.group[id-1] = uint8(g)
			}
		}
		out.partitions++
		return out, nil
	}
	if !m.Next(&s, ca, &out) {
		return s, fmt.Errorf("%v is not enabled: %s", a, m.whyDisabled(&s, ca))
	}
	return out, nil
}

// closestInFlight names, for an error message, the message in flight of s
// closest to msg and the fields that differ.
func (m *Model) closestInFlight(s *State, msg *spec.Message) string {
	var v spec.State
	m.View(s, &v)
	c, diff, ok := msg.Closest(v.Network)
	if !ok {
		return " (the network is empty)"
	}
	parts := make([]string, len(diff))
	for i, d := range diff {
		parts[i] = fmt.Sprintf("%s is %v, not %v", d.Field, d.B, d.A)
	}
	return fmt.Sprintf("; the closest in flight is %v, whose %s", c, strings.Join(parts, ", "))
}

// whyDisabled explains, for an error message, why a is not enabled in s.
func (m *Model) whyDisabled(s *State, a Action) string {
	var sv *server
	if a.Server >= 1 && int(a.Server) <= m.n {
		sv = &s.srv[a.Server-1]
	}
	switch a.Kind {
	case spec.Timeout:
		switch {
		case sv.role == leader:
			return "a leader does not time out"
		case int(sv.term) >= m.cfg.MaxTerm:
			return fmt.Sprintf("term bound %d reached", m.cfg.MaxTerm)
		}
		if m.reconf && !m.configOf(s, sv).voter(a.Server) {
			return "a server outside its configuration's voters does not stand"
		}
		return fmt.Sprintf("no room for %d messages (bound %d)", m.votePeers(s, sv, a.Server), m.cfg.MaxMsgs)
	case spec.Heartbeat:
		if sv.role != leader {
			return "only a leader sends heartbeats"
		}
		return fmt.Sprintf("no room for %d messages (bound %d)", m.peers(s, sv, a.Server), m.cfg.MaxMsgs)
	case spec.ClientRequest:
		if sv.role != leader {
			return "only a leader accepts client requests"
		}
		if !m.roomToPropose(s, sv, a.Server) {
			return fmt.Sprintf("replicate-on-propose: no room for %d messages (bound %d)", m.peers(s, sv, a.Server), m.cfg.MaxMsgs)
		}
		return "the value was already proposed"
	case spec.Deliver:
		return "sender and receiver are on different sides of the partition"
	case spec.Drop:
		return fmt.Sprintf("drop bound %d reached", m.cfg.MaxDrops)
	case spec.Duplicate:
		return fmt.Sprintf("duplicate bound %d, message bound %d or copy bound %d reached", m.cfg.MaxDups, m.cfg.MaxMsgs, m.cfg.MaxCopies)
	case spec.Heal:
		return "the network is not partitioned"
	case spec.Restart:
		return fmt.Sprintf("restart bound %d reached", m.cfg.MaxRestarts)
	case spec.Compact:
		if int(s.snapshots) >= m.cfg.MaxSnapshots {
			return fmt.Sprintf("snapshot bound %d reached", m.cfg.MaxSnapshots)
		}
		return "nothing committed beyond the snapshot"
	case spec.AddServer, spec.RemoveServer, spec.AddLearner, spec.EnterJoint, spec.LeaveJoint:
		return m.whyNoReconfig(s, a)
	case spec.Wipe:
		return m.whyNoWipe(s, a.Server)
	}
	return "unknown action"
}

// SpecAction turns a compact action of state s into the shared vocabulary.
func (m *Model) SpecAction(s *State, a Action) spec.Action {
	out := spec.Action{Kind: a.Kind}
	switch a.Kind {
	case spec.Timeout, spec.Heartbeat, spec.Restart, spec.Compact, spec.LeaveJoint, spec.Wipe:
		out.Server = spec.ServerID(a.Server)
	case spec.EnterJoint:
		out.Server, out.Config = spec.ServerID(a.Server), spec.Members(a.Config)
	case spec.ClientRequest:
		out.Server, out.Value = spec.ServerID(a.Server), m.valueNames[a.Value]
	case spec.Deliver, spec.Drop, spec.Duplicate:
		if int(a.Msg) < int(s.nmsg) {
			msg := m.specMsg(s, &s.msgs[a.Msg])
			out.Message = &msg
		}
	case spec.AddServer, spec.RemoveServer, spec.AddLearner:
		out.Server, out.Target = spec.ServerID(a.Server), spec.ServerID(a.Target)
	case spec.Partition:
		var in, other []spec.ServerID
		for i := range m.n {
			if a.Part&(1<<i) != 0 {
				other = append(other, spec.ServerID(i+1))
			} else {
				in = append(in, spec.ServerID(i+1))
			}
		}
		out.Groups = [][]spec.ServerID{in, other}
	}
	return out
}

// Enabled lists the actions enabled in s in the shared vocabulary.
func (m *Model) Enabled(s *State) []spec.Action {
	var out []spec.Action
	for _, a := range m.Actions(s, nil) {
		out = append(out, m.SpecAction(s, a))
	}
	return out
}
