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
	for i := range m.cfg.Servers {
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
