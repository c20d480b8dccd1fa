package tlaraft

import (
	"bytes"
	"testing"
)

// permute renames the servers of s by p, field by field (independently of
// Canonical's renaming).
func permute(m *Model, s *State, p [MaxServers]uint8) State {
	var t State
	for i := range m.n {
		v := s.srv[i]
		w := &t.srv[p[i]]
		*w = v
		if v.votedFor != 0 {
			w.votedFor = p[v.votedFor-1] + 1
		}
		w.responded, w.granted = 0, 0
		for j := range m.n {
			if v.responded&(1<<j) != 0 {
				w.responded |= 1 << p[j]
			}
			if v.granted&(1<<j) != 0 {
				w.granted |= 1 << p[j]
			}
			w.next[p[j]], w.match[p[j]] = v.next[j], v.match[j]
		}
	}
	for _, e := range s.Messages() {
		msg := e.Msg
		msg.Src, msg.Dst = p[msg.Src], p[msg.Dst]
		for range e.Count {
			t.send(msg)
		}
	}
	return t
}

// candidates returns every action instance that could be enabled in s:
// each kind with every server, value and message of the bag.
func candidates(m *Model, s *State) []Action {
	var out []Action
	for k := KindTimeout; k <= KindAppendEntries; k++ {
		for i := range m.n {
			for j := range m.n {
				for v := 1; v <= m.cfg.Values; v++ {
					out = append(out, Action{Kind: k, I: uint8(i), J: uint8(j), V: uint8(v)})
				}
			}
		}
	}
	for _, e := range s.Messages() {
		for k := KindUpdateTerm; k <= KindDropMessage; k++ {
			a := Action{Kind: k, key: e.Msg.key()}
			if k.isReceive() {
				a.I, a.J = e.Msg.Dst, e.Msg.Src
			}
			out = append(out, a)
		}
	}
	return out
}

// canonical returns the parameters Actions uses for a, so that a
// candidate can be matched against the listed actions.
func canonical(a Action) Action {
	switch a.Kind {
	case KindTimeout, KindRestart, KindBecomeLeader, KindAdvanceCommitIndex:
		a.J, a.V = 0, 0
	case KindRequestVote, KindAppendEntries:
		a.V = 0
	case KindClientRequest:
		a.J = 0
	}
	return a
}

// receiveDisjuncts counts the disjuncts of raft.tla's Receive(m) enabled
// in s, each evaluated on its own.
func receiveDisjuncts(m *Model, s *State, msg Msg) int {
	var out State
	i, j := int(msg.Dst), int(msg.Src)
	n := 0
	for _, on := range []bool{
		m.UpdateTerm(s, i, j, msg, &out),
		msg.Type == RequestVoteRequest && m.HandleRequestVoteRequest(s, i, j, msg, &out),
		msg.Type == RequestVoteResponse && m.DropStaleResponse(s, i, j, msg, &out),
		msg.Type == RequestVoteResponse && m.HandleRequestVoteResponse(s, i, j, msg, &out),
		msg.Type == AppendEntriesRequest && m.HandleAppendEntriesRequest(s, i, j, msg, &out),
		msg.Type == AppendEntriesResponse && m.DropStaleResponse(s, i, j, msg, &out),
		msg.Type == AppendEntriesResponse && m.HandleAppendEntriesResponse(s, i, j, msg, &out),
	} {
		if on {
			n++
		}
	}
	return n
}

// checkState checks the structural promises of the model on one state.
func checkState(t *testing.T, m *Model, s *State) {
	t.Helper()
	enc := m.Encode(nil, s)
	acts := m.Actions(s, nil)
	seen := map[Action]bool{}
	for _, a := range acts {
		if seen[a] {
			t.Fatalf("%v listed twice in\n%s", a, m.Format(s))
		}
		seen[a] = true
	}
	// Actions lists exactly the enabled instances.
	for _, a := range candidates(m, s) {
		var out State
		on := m.Next(s, a, &out)
		if on != seen[canonical(a)] {
			t.Fatalf("%v: Next says %v, Actions %v, in\n%s", a, on, seen[canonical(a)], m.Format(s))
		}
		if !bytes.Equal(m.Encode(nil, s), enc) {
			t.Fatalf("%v modified its state", a)
		}
	}
	// Each message enables at most one disjunct of Receive, so TLC makes
	// at most one successor per message, as Actions does.
	for _, e := range s.Messages() {
		n := receiveDisjuncts(m, s, e.Msg)
		_, ok := m.receiveHandler(s, &e.Msg)
		if n > 1 || (n == 1) != ok {
			t.Fatalf("Receive(%v): %d disjuncts enabled, handler found %v, in\n%s", e.Msg, n, ok, m.Format(s))
		}
	}
	// Decode inverts Encode and Canonical.
	var d State
	if err := m.Decode(enc, &d); err != nil || !bytes.Equal(m.Encode(nil, &d), enc) {
		t.Fatalf("Decode(Encode) = %v, %s", err, m.Format(&d))
	}
	canon := m.Canonical(nil, s)
	if err := m.Decode(canon, &d); err != nil || !bytes.Equal(m.Encode(nil, &d), canon) {
		t.Fatalf("Decode(Canonical) = %v", err)
	}
	// Canonical is the same for every renaming of the servers, and is the
	// encoding of one of them.
	renamed := false
	for _, p := range m.perms {
		u := permute(m, s, p)
		if !bytes.Equal(m.Canonical(nil, &u), canon) {
			t.Fatalf("Canonical differs under %v for\n%s", p[:m.n], m.Format(s))
		}
		renamed = renamed || bytes.Equal(m.Encode(nil, &u), canon)
	}
	if !renamed {
		t.Fatalf("Canonical is no renaming of\n%s", m.Format(s))
	}
}

// bfs explores cfg breadth-first with a map of encodings, up to limit
// states, checking every state, and returns the distinct and generated
// counts as TLC defines them.
func bfs(t *testing.T, cfg Config, limit int) (distinct, generated int) {
	m := MustNew(cfg)
	init := m.Init()
	seen := map[string]bool{string(m.Encode(nil, &init)): true}
	level := []State{init}
	generated = 1
	var acts []Action
	for len(level) > 0 && len(seen) < limit {
		var next []State
		for x := range level {
			s := &level[x]
			checkState(t, m, s)
			acts = m.Actions(s, acts[:0])
			for _, a := range acts {
				var out State
				m.Next(s, a, &out)
				generated++
				if !m.Within(&out) {
					continue
				}
				if k := string(m.Encode(nil, &out)); !seen[k] {
					seen[k] = true
					next = append(next, out)
				}
			}
		}
		level = next
	}
	return len(seen), generated
}

// A small configuration with every action, explored completely: every
// state keeps the structural promises, and a plain map-based search
// agrees with the checker's counts.
func TestStructureSmall(t *testing.T) {
	cfg := Config{Servers: 2, Values: 2, MaxTerm: 2, MaxLogLen: 1, MaxCopies: 2, MaxInFlight: 2, Restart: true, Duplicate: true, Drop: true}
	distinct, generated := bfs(t, cfg, 1<<30)
	res := explore(t, cfg, 2, false)
	if int64(distinct) != res.Distinct || int64(generated) != res.Generated {
		t.Errorf("map search: %d distinct, %d generated; checker: %d, %d", distinct, generated, res.Distinct, res.Generated)
	}
}

// Three servers with every action, as far as 10,000 states.
func TestStructureThreeServers(t *testing.T) {
	bfs(t, Config{Servers: 3, Values: 2, MaxTerm: 3, MaxLogLen: 2, MaxCopies: 2, MaxInFlight: 2, Restart: true, Duplicate: true, Drop: true}, 10000)
}
