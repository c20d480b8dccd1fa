package model

import (
	"bytes"
	"math/rand/v2"
	"testing"

	fuzz "github.com/google/gofuzz"
	"github.com/raftcheck/raftcheck/spec"
)

var fuzzConfig = Config{Servers: 5, MaxTerm: 6, MaxValues: 4, MaxMsgs: MaxInFlight, MaxCopies: 3,
	MaxRestarts: 3, MaxPartitions: 3, MaxDrops: 3, MaxDups: 3, MaxSnapshots: 3}

// byteSource hands out bytes of fuzz input, then zeros.
type byteSource struct{ b []byte }

func (r *byteSource) next(mod int) uint8 {
	if mod <= 0 {
		return 0
	}
	if len(r.b) == 0 {
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return uint8(int(v) % mod)
}

// arbitraryState builds a well-formed but otherwise arbitrary state from
// fuzz bytes: servers in any role and term with any logs, leaders with any
// bookkeeping, any history. It need not be reachable.
func arbitraryState(m *Model, r *byteSource) State {
	var s State
	n := m.cfg.Servers
	for i := range n {
		sv := &s.srv[i]
		sv.term = r.next(m.cfg.MaxTerm + 1)
		sv.voted = r.next(n + 1)
		sv.role = r.next(3)
		if sv.term == 0 {
			sv.role, sv.voted = follower, 0
		}
		sv.n = r.next(m.cfg.MaxValues + 1)
		t := uint8(1)
		for k := range sv.n {
			t = min(max(t, r.next(int(sv.term)+1)), sv.term)
			if t == 0 {
				sv.term, t = 1, 1
			}
			sv.log[k] = mkEntry(t, 1+r.next(m.cfg.MaxValues))
		}
		sv.commit = r.next(int(sv.n) + 1)
		switch sv.role {
		case leader:
			for j := range n {
				if j == i {
					continue
				}
				sv.match[j] = r.next(int(sv.n) + 1)
				sv.next[j] = sv.match[j] + 1 + r.next(int(sv.n-sv.match[j])+1)
			}
		case candidate:
			sv.votes = r.next(1 << n)
		}
	}
	for range r.next(8) {
		p := arbitraryMsg(m, r)
		s.send(&p, m.cfg.MaxCopies)
	}
	if r.next(2) == 1 {
		mask := m.partitions[r.next(len(m.partitions))]
		for i := range n {
			s.group[i] = (mask >> i) & 1
		}
	}
	for t := 1; t <= m.cfg.MaxTerm; t++ {
		s.leaderOf[t] = r.next(n + 1)
	}
	s.hlen = r.next(m.cfg.MaxValues + 1)
	for k := range s.hlen {
		s.hist[k], s.htermAt[k] = mkEntry(1+r.next(m.cfg.MaxTerm), 1+r.next(m.cfg.MaxValues)), r.next(m.cfg.MaxTerm+1)
	}
	return s
}

// arbitraryMsg builds a well-formed message from fuzz bytes.
func arbitraryMsg(m *Model, r *byteSource) msg {
	var p msg
	n := m.cfg.Servers
	p[mTyp] = 1 + r.next(4)
	p[mFrom] = 1 + r.next(n)
	p[mTo] = 1 + (p[mFrom]+r.next(n-1))%uint8(n)
	p[mTerm] = 1 + r.next(m.cfg.MaxTerm)
	switch p.typ() {
	case spec.RequestVote:
		p[mA], p[mB] = r.next(MaxLog+1), r.next(m.cfg.MaxTerm+1)
	case spec.RequestVoteResponse:
		p[mA] = r.next(2)
	case spec.AppendEntries:
		p[mA] = r.next(m.cfg.MaxValues + 1)
		if p[mA] > 0 {
			p[mB] = 1 + r.next(int(p[mTerm]))
		}
		p[mC] = r.next(MaxLog + 1)
		p[mN] = r.next(m.cfg.MaxValues - int(p[mA]) + 1)
		t := max(p[mB], 1)
		for k := range int(p[mN]) {
			t = min(max(t, 1+r.next(int(p[mTerm]))), p[mTerm])
			p[mEnts+k] = uint8(mkEntry(t, 1+r.next(m.cfg.MaxValues)))
		}
	case spec.AppendEntriesResponse:
		p[mA], p[mB] = r.next(2), r.next(MaxLog+1)
	}
	return p
}

// deliverArbitrary delivers p in s (adding it to the network first) and
// checks that the model neither panics nor produces an ill-formed state.
func deliverArbitrary(t *testing.T, m *Model, s State, p msg) {
	t.Helper()
	if s.total >= MaxInFlight {
		return
	}
	s.send(&p, MaxInFlight)
	if err := m.CheckWellFormed(&s); err != nil {
		t.Fatalf("generator made an ill-formed state: %v", err)
	}
	s.group = [MaxServers]uint8{} // deliverable
	var out State
	if !m.Next(&s, Action{Kind: spec.Deliver, Msg: uint8(s.find(&p))}, &out) {
		t.Fatal("delivery of an in-flight message refused")
	}
	if err := m.CheckWellFormed(&out); err != nil {
		t.Fatalf("delivering %v gave an ill-formed state: %v", m.specMsg(&s, &p), err)
	}
	var back State
	if err := m.Decode(m.Encode(nil, &out), &back); err != nil || back != out {
		t.Fatalf("successor does not round-trip: %v", err)
	}
}

// FuzzDeliver: arbitrary messages delivered to arbitrary states never panic
// and keep the state well formed, for the correct model and every bug.
func FuzzDeliver(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Add(bytes.Repeat([]byte{0xff}, 200))
	f.Add(bytes.Repeat([]byte{2, 0, 1, 3}, 60))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &byteSource{b: data}
		cfg := fuzzConfig
		if b := int(r.next(len(Bugs) + 1)); b > 0 {
			cfg.Bug = Bugs[b-1].Name
		}
		m := MustNew(cfg)
		s := arbitraryState(m, r)
		deliverArbitrary(t, m, s, arbitraryMsg(m, r))
	})
}

// FuzzDecode: arbitrary bytes either decode to a well-formed state that
// encodes back to the same bytes, or are refused with an error.
func FuzzDecode(f *testing.F) {
	m := MustNew(fuzzConfig)
	rng := rand.New(rand.NewPCG(5, 6))
	for i, s := range walk(m, rng, 40) {
		if i%8 == 0 {
			f.Add(m.Encode(nil, &s))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s State
		if err := m.Decode(data, &s); err != nil {
			return
		}
		if got := m.Encode(nil, &s); !bytes.Equal(got, data) {
			t.Fatalf("decoded state encodes to other bytes")
		}
	})
}

// TestGofuzzMessages delivers gofuzz-generated spec messages, through the
// spec-level Step, to states from random walks: either the message is
// refused with an error (outside the model's bounds) or the result is well
// formed.
func TestGofuzzMessages(t *testing.T) {
	m := MustNew(fuzzConfig)
	rng := rand.New(rand.NewPCG(7, 8))
	states := walk(m, rng, 200)
	f := fuzz.NewWithSeed(42).NilChance(0.2).NumElements(0, 3).Funcs(
		func(id *spec.ServerID, c fuzz.Continue) { *id = spec.ServerID(c.Intn(7)) },
		func(t *spec.Term, c fuzz.Continue) { *t = spec.Term(c.Intn(8)) },
		func(i *spec.Index, c fuzz.Continue) { *i = spec.Index(c.Intn(6)) },
		func(v *spec.Value, c fuzz.Continue) { *v = spec.Value([]string{"v1", "v2", "v3", "x", ""}[c.Intn(5)]) },
		func(mt *spec.MsgType, c fuzz.Continue) { *mt = spec.MsgType(c.Intn(6)) },
	)
	accepted := 0
	for i := range 20000 {
		var msg spec.Message
		f.Fuzz(&msg)
		keepFieldsOfType(&msg)
		s := states[i%len(states)]
		p, err := m.packMsg(&s, &msg)
		if err != nil {
			continue
		}
		if err := m.checkMsg(&p); err != nil {
			continue // valid spec message, but not one a well-formed state holds
		}
		accepted++
		deliverArbitrary(t, m, s, p)
		// The spec-level path gives the same successor.
		s2 := s
		if s2.total < MaxInFlight || s2.find(&p) >= 0 {
			s2.send(&p, MaxInFlight)
			s2.group = [MaxServers]uint8{}
			if _, err := m.Step(s2, spec.Action{Kind: spec.Deliver, Message: &msg}); err != nil {
				t.Fatalf("Step refused an in-flight message %v: %v", msg, err)
			}
		}
	}
	if accepted < 1000 {
		t.Fatalf("only %d of 20000 generated messages were deliverable", accepted)
	}
	t.Logf("%d generated messages delivered", accepted)
}

// keepFieldsOfType zeroes the fields that do not belong to m's type.
func keepFieldsOfType(m *spec.Message) {
	k := spec.Message{Type: m.Type, From: m.From, To: m.To, Term: m.Term}
	switch m.Type {
	case spec.RequestVote:
		k.LastLogIndex, k.LastLogTerm = m.LastLogIndex, m.LastLogTerm
	case spec.RequestVoteResponse:
		k.Granted = m.Granted
	case spec.AppendEntries:
		k.PrevLogIndex, k.PrevLogTerm, k.Entries, k.LeaderCommit = m.PrevLogIndex, m.PrevLogTerm, m.Entries, m.LeaderCommit
	case spec.AppendEntriesResponse:
		k.Success, k.MatchIndex = m.Success, m.MatchIndex
	case spec.InstallSnapshot:
		k.LastIncludedIndex, k.LastIncludedTerm, k.Entries = m.LastIncludedIndex, m.LastIncludedTerm, m.Entries
	}
	*m = k
}

// membershipFuzzConfigs are the configurations FuzzMembershipWalk picks
// from: each kind of change, learners, and the membership bugs.
var membershipFuzzConfigs = func() []Config {
	base := Config{Servers: 3, Joiners: 2, MaxReconfigs: 3, MaxTerm: 3, MaxValues: 2, MaxMsgs: 6, MaxCopies: 2,
		MaxRestarts: 1, MaxDrops: 1, MaxDups: 1, MaxPartitions: 1, MaxSnapshots: 1}
	var out []Config
	for _, mode := range []string{ReconfigSingle, ReconfigJoint} {
		for _, learners := range []bool{false, true} {
			for _, bug := range []string{"", "rejoin-blank-disk", "leave-joint-early", "joint-new-majority-only", "count-nonmember-votes", "config-on-commit"} {
				c := base
				c.Reconfig, c.Learners, c.Bug = mode, learners, bug
				out = append(out, c)
			}
		}
	}
	return out
}()

// FuzzMembershipWalk: a walk whose configuration and actions the fuzz
// bytes choose, with membership changes on. After every step the state is
// well formed and round-trips, Step on the spec action agrees with Next,
// and every native property agrees with its spec definition.
func FuzzMembershipWalk(f *testing.F) {
	f.Add([]byte{0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	f.Add(bytes.Repeat([]byte{7, 3, 0, 1}, 60))
	f.Add(bytes.Repeat([]byte{13, 1, 2, 0, 5}, 60))
	f.Add(bytes.Repeat([]byte{0xff, 0x80, 0x11}, 80))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &byteSource{b: data}
		m := MustNew(membershipFuzzConfigs[r.next(len(membershipFuzzConfigs))])
		a := &agreement{t: t, m: m, violated: map[string]int{}}
		s := m.Init()
		var acts []Action
		for len(r.b) > 0 {
			if acts = m.Actions(&s, acts[:0]); len(acts) == 0 {
				return
			}
			act := acts[r.next(len(acts))]
			var next State
			if !m.Next(&s, act, &next) {
				t.Fatalf("%v enumerated but not enabled", act)
			}
			if got, err := m.Step(s, m.SpecAction(&s, act)); err != nil || got != next {
				t.Fatalf("%v: Step disagrees with Next: %v", m.SpecAction(&s, act), err)
			}
			if err := m.CheckWellFormed(&next); err != nil {
				t.Fatalf("%v: ill-formed successor: %v", act, err)
			}
			var back State
			if err := m.Decode(m.Encode(nil, &next), &back); err != nil || back != next {
				t.Fatalf("%v: successor does not round-trip: %v", act, err)
			}
			a.step(&s, act, &next, m.cfg.String())
			a.state(&next, m.cfg.String())
			s = next
		}
	})
}
