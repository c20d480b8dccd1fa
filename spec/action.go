package spec

import (
	"fmt"
	"slices"
	"strings"
)

// ActionKind names one of the actions of the specification (spec/README.md
// gives each one's guard and effect).
type ActionKind uint8

// The actions. Timeout, Heartbeat, ClientRequest, Restart and Compact (a
// server snapshots its committed log, §7) belong to one
// server; Deliver, Drop and Duplicate to one message in flight; Partition
// and Heal to the network.
const (
	Timeout ActionKind = iota + 1
	Heartbeat
	ClientRequest
	Deliver
	Drop
	Duplicate
	Partition
	Heal
	Restart
	Compact
	// AddServer and RemoveServer are single-server membership changes
	// (thesis §4.2): leader Server appends a configuration entry that adds
	// or removes Target.
	AddServer
	RemoveServer
	// AddLearner is leader Server appending a configuration entry that adds
	// Target as a non-voting learner, which receives entries and catches up
	// before an AddServer (or a joint change) makes it a voter (thesis
	// §4.2.1).
	AddLearner
	// EnterJoint is leader Server appending the joint configuration
	// C_old,new (Entry.Outgoing = its voters, Entry.Config = Action.Config);
	// LeaveJoint appends C_new once C_old,new is committed (paper §6,
	// thesis §4.3; etcd's ConfChangeV2 enter/leave).
	EnterJoint
	LeaveJoint
	// Wipe is Server losing its disk and coming back blank under the same
	// id (the "removed server rejoins with an empty disk" scenario).
	Wipe
	// Tick advances Server's logical election and heartbeat timers by one
	// (the liveness issue's model of time).
	Tick
	// TransferLeader is leader Server handing its leadership to Target
	// (thesis §3.10): it stops taking proposals, brings Target up to date
	// and sends it TimeoutNow.
	TransferLeader
)

var actionNames = [...]string{"", "Timeout", "Heartbeat", "ClientRequest", "Deliver", "Drop", "Duplicate", "Partition", "Heal", "Restart", "Compact", "AddServer", "RemoveServer", "AddLearner", "EnterJoint", "LeaveJoint", "Wipe", "Tick", "TransferLeader"}

// ActionKinds lists every action kind in order.
var ActionKinds = []ActionKind{Timeout, Heartbeat, ClientRequest, Deliver, Drop, Duplicate, Partition, Heal, Restart, Compact, AddServer, RemoveServer, AddLearner, EnterJoint, LeaveJoint, Wipe, Tick, TransferLeader}

// ActionKindNames lists the names of every action kind in order.
func ActionKindNames() []string {
	out := make([]string, len(ActionKinds))
	for i, k := range ActionKinds {
		out[i] = k.String()
	}
	return out
}

// String returns the action's name.
func (k ActionKind) String() string {
	if k != 0 && int(k) < len(actionNames) {
		return actionNames[k]
	}
	return fmt.Sprintf("ActionKind(%d)", uint8(k))
}

// ParseActionKind is the inverse of ActionKind.String.
func ParseActionKind(s string) (ActionKind, error) {
	for _, k := range ActionKinds {
		if k.String() == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("unknown action %q (want one of %s)", s, strings.Join(ActionKindNames(), ", "))
}

// Action is one step of a run in the shared vocabulary: the model's Step,
// the implementation's driver and the trace format all take it.
//
// Server is set for Timeout, Heartbeat, ClientRequest, Restart and Compact; Value
// for ClientRequest; Message for Deliver, Drop and Duplicate; Groups for
// Partition (every server in exactly one group, at least two groups);
// Server and Target for AddServer, RemoveServer and AddLearner; Server and
// Config (the incoming voters C_new) for EnterJoint; Server for LeaveJoint,
// Wipe and Tick.
type Action struct {
	Kind    ActionKind   `json:"kind"`
	Server  ServerID     `json:"server,omitempty"`
	Target  ServerID     `json:"target,omitempty"`
	Config  Members      `json:"config,omitempty"`
	Value   Value        `json:"value,omitempty"`
	Message *Message     `json:"message,omitempty"`
	Groups  [][]ServerID `json:"groups,omitempty"`
}

// String renders the action, e.g. "Deliver(RequestVote S1->S2 t1 last=0/0)".
func (a Action) String() string {
	switch a.Kind {
	case Timeout, Heartbeat, Restart, Compact, LeaveJoint, Wipe, Tick:
		return fmt.Sprintf("%v(%v)", a.Kind, a.Server)
	case EnterJoint:
		return fmt.Sprintf("%v(%v, %v)", a.Kind, a.Server, a.Config)
	case ClientRequest:
		return fmt.Sprintf("%v(%v, %q)", a.Kind, a.Server, a.Value)
	case Deliver, Drop, Duplicate:
		if a.Message == nil {
			return a.Kind.String() + "(?)"
		}
		return fmt.Sprintf("%v(%v)", a.Kind, *a.Message)
	case Partition:
		return fmt.Sprintf("%v(%s)", a.Kind, FormatGroups(a.Groups))
	case AddServer, RemoveServer, AddLearner, TransferLeader:
		return fmt.Sprintf("%v(%v, %v)", a.Kind, a.Server, a.Target)
	}
	return a.Kind.String()
}

// Validate checks that the action is well formed for a cluster of n
// servers: the fields its kind needs are present and in range, and no
// field of another kind is set.
func (a *Action) Validate(n int) error {
	okServer := func() error {
		if a.Server == None || int(a.Server) > n {
			return fmt.Errorf("server: %d is not a server of a %d-server cluster", a.Server, n)
		}
		return nil
	}
	if a.Target != None && a.Kind != AddServer && a.Kind != RemoveServer && a.Kind != AddLearner && a.Kind != TransferLeader {
		return fmt.Errorf("target: only AddServer, RemoveServer, AddLearner and TransferLeader take a target")
	}
	if a.Config != 0 && a.Kind != EnterJoint {
		return fmt.Errorf("config: only EnterJoint takes a configuration")
	}
	switch a.Kind {
	case EnterJoint:
		if a.Value != "" || a.Message != nil || a.Groups != nil {
			return fmt.Errorf("%v takes only a server and a configuration", a.Kind)
		}
		if a.Config == 0 || a.Config&^AllServers(n) != 0 {
			return fmt.Errorf("config: %v is not a non-empty set of servers of a %d-server cluster", a.Config, n)
		}
		return okServer()
	case AddServer, RemoveServer, AddLearner, TransferLeader:
		if a.Value != "" || a.Message != nil || a.Groups != nil {
			return fmt.Errorf("%v takes only a server and a target", a.Kind)
		}
		if a.Target == None || int(a.Target) > n {
			return fmt.Errorf("target: %d is not a server of a %d-server cluster", a.Target, n)
		}
		return okServer()
	case Timeout, Heartbeat, Restart, Compact, LeaveJoint, Wipe, Tick:
		if a.Value != "" || a.Message != nil || a.Groups != nil {
			return fmt.Errorf("%v takes only a server", a.Kind)
		}
		return okServer()
	case ClientRequest:
		if a.Value == "" {
			return fmt.Errorf("value: ClientRequest needs a value")
		}
		if a.Message != nil || a.Groups != nil {
			return fmt.Errorf("ClientRequest takes only a server and a value")
		}
		return okServer()
	case Deliver, Drop, Duplicate:
		if a.Message == nil {
			return fmt.Errorf("message: %v needs a message", a.Kind)
		}
		if a.Server != None || a.Value != "" || a.Groups != nil {
			return fmt.Errorf("%v takes only a message", a.Kind)
		}
		if err := a.Message.Validate(); err != nil {
			return fmt.Errorf("message.%w", err)
		}
		if int(a.Message.From) > n || int(a.Message.To) > n {
			return fmt.Errorf("message: %v->%v is outside a %d-server cluster", a.Message.From, a.Message.To, n)
		}
		return nil
	case Partition:
		if a.Server != None || a.Value != "" || a.Message != nil {
			return fmt.Errorf("a partition takes only groups")
		}
		return ValidateGroups(a.Groups, n)
	case Heal:
		if a.Server != None || a.Value != "" || a.Message != nil || a.Groups != nil {
			return fmt.Errorf("a heal takes no arguments")
		}
		return nil
	}
	return fmt.Errorf("kind: unknown action kind %d", a.Kind)
}

// ValidateGroups checks that groups split servers 1..n into at least two
// non-empty groups, each server in exactly one.
func ValidateGroups(groups [][]ServerID, n int) error {
	if len(groups) < 2 {
		return fmt.Errorf("groups: a partition needs at least two groups, got %d", len(groups))
	}
	seen := make([]bool, n+1)
	for gi, g := range groups {
		if len(g) == 0 {
			return fmt.Errorf("groups[%d]: empty group", gi)
		}
		for _, id := range g {
			if id == None || int(id) > n {
				return fmt.Errorf("groups[%d]: %d is not a server of a %d-server cluster", gi, id, n)
			}
			if seen[id] {
				return fmt.Errorf("groups[%d]: %v is in two groups", gi, id)
			}
			seen[id] = true
		}
	}
	for id := 1; id <= n; id++ {
		if !seen[id] {
			return fmt.Errorf("groups: %v is in no group", ServerID(id))
		}
	}
	return nil
}

// NormalizeGroups returns groups with each group sorted and the groups
// ordered by their smallest member, the form State.Partition uses.
func NormalizeGroups(groups [][]ServerID) [][]ServerID {
	out := make([][]ServerID, len(groups))
	for i, g := range groups {
		out[i] = slices.Clone(g)
		slices.Sort(out[i])
	}
	slices.SortFunc(out, func(a, b []ServerID) int { return int(a[0]) - int(b[0]) })
	return out
}
