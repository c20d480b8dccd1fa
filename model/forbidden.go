package model

import "github.com/raftcheck/raftcheck/spec"

// Forbidden lists, in the shared vocabulary, the server-local actions that
// the protocol's own guards forbid in s, as opposed to the bounds of the
// configuration: Timeout on a leader, Heartbeat and ClientRequest (of the
// next unused value, when one is left) on a follower or candidate, and,
// with snapshots on, Compact on a server with nothing committed beyond its
// snapshot (spec/README.md, Actions). An implementation must refuse each
// and change nothing; transition conformance checks that it does, which
// an implementation that takes proposals or sends heartbeats while not
// leading would fail although it takes every enabled action right.
func (m *Model) Forbidden(s *State) []spec.Action {
	var out []spec.Action
	for i := range m.n {
		sv, id := &s.srv[i], spec.ServerID(i+1)
		if sv.role == leader {
			out = append(out, spec.Action{Kind: spec.Timeout, Server: id})
		} else {
			out = append(out, spec.Action{Kind: spec.Heartbeat, Server: id})
			if v := m.nextValue(s); v != 0 {
				out = append(out, spec.Action{Kind: spec.ClientRequest, Server: id, Value: m.valueNames[v]})
			}
		}
		if m.cfg.MaxSnapshots > 0 && m.compactTo(sv) <= sv.snap {
			out = append(out, spec.Action{Kind: spec.Compact, Server: id})
		}
	}
	return out
}

// ServerState is one server's own state in a model state, comparable: two
// equal ServerStates are the same server (same id) holding the same
// persistent and volatile state, so any implementation conforming to the
// model answers its own actions (Timeout, Heartbeat, ClientRequest,
// Compact) alike in both. Conformance uses it to check each refusal once.
type ServerState struct {
	id  uint8
	srv server
}

// ServerState returns server id's own state in s.
func (s *State) ServerState(id spec.ServerID) ServerState {
	return ServerState{id: uint8(id), srv: s.srv[id-1]}
}
