package raft

import (
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"testing"

	fuzz "github.com/google/gofuzz"
	"github.com/raftcheck/raftcheck/spec"
)

// seed describes a node in an arbitrary (not necessarily reachable) state;
// gofuzz fills it in and build makes the node.
type seed struct {
	N, ID, Term, Voted, Role uint8
	LogSteps                 []uint8 // term increments of the log, mod 2
	Proposals                uint8
	Acks                     []spec.Message
	Faults, Features         uint8 // bit sets
}

// op is one input to the node.
type op struct {
	Kind  uint8 // 0-4 Step, 5 Tick, 6 Campaign, 7 Heartbeat, 8 Propose, 9 ProposeConfChange
	Msg   spec.Message
	Value spec.Value
}

// newFuzzer returns a gofuzz fuzzer biased towards small ids, terms and
// indices, so that most messages are well formed and many are relevant,
// while a fraction are arbitrary.
func newFuzzer(f *fuzz.Fuzzer) *fuzz.Fuzzer {
	small := func(c fuzz.Continue, n int) uint64 { return uint64(c.Intn(n)) }
	return f.NilChance(0.1).NumElements(0, 6).Funcs(
		func(m *spec.Message, c fuzz.Continue) {
			if c.Intn(10) == 0 {
				c.FuzzNoCustom(m) // anything at all
				return
			}
			*m = spec.Message{Type: spec.MsgType(1 + small(c, 4)), From: spec.ServerID(small(c, 6)),
				To: spec.ServerID(small(c, 6)), Term: spec.Term(small(c, 8))}
			switch m.Type {
			case spec.RequestVote:
				m.LastLogIndex, m.LastLogTerm = spec.Index(small(c, 8)), spec.Term(small(c, 8))
			case spec.RequestVoteResponse:
				m.Granted = c.RandBool()
			case spec.AppendEntries:
				m.PrevLogIndex, m.LeaderCommit = spec.Index(small(c, 8)), spec.Index(small(c, 10))
				if m.PrevLogIndex > 0 {
					m.PrevLogTerm = spec.Term(small(c, 8))
				}
				t := m.PrevLogTerm
				for range small(c, 4) {
					t = min(t+spec.Term(small(c, 2)), m.Term)
					e := spec.Entry{Term: max(t, 1), Value: spec.Value(fmt.Sprint(small(c, 3)))}
					if small(c, 5) == 0 { // a configuration entry, sometimes outside the cluster
						e = spec.Entry{Term: e.Term, Config: spec.Members(1 + small(c, 7))}
						if small(c, 4) == 0 {
							e.Learners = spec.Members(1 << small(c, 5))
						}
					}
					m.Entries = append(m.Entries, e)
				}
			case spec.AppendEntriesResponse:
				m.Success, m.MatchIndex = c.RandBool(), spec.Index(small(c, 8))
			}
		},
		func(v *spec.Value, c fuzz.Continue) { *v = spec.Value(fmt.Sprint(small(c, 4))) },
	)
}

func (s *seed) build(t testing.TB) (*Node, error) {
	n := 1 + int(s.N%5)
	p := Persistent{HardState: HardState{Term: spec.Term(s.Term % 6), VotedFor: spec.ServerID(int(s.Voted) % (n + 1))}}
	lt := spec.Term(1)
	for k, inc := range s.LogSteps {
		if p.Term == 0 {
			break
		}
		lt = min(lt+spec.Term(inc%2), p.Term)
		p.Log = append(p.Log, spec.Entry{Term: lt, Value: spec.Value(fmt.Sprint("v", k))})
	}
	cfg := Config{ID: spec.ServerID(1 + int(s.ID)%n), Servers: n, Restore: p,
		ConflictHint:       s.Features&1 != 0,
		ReplicateOnPropose: s.Features&2 != 0,
		MaxInflight:        int(s.Features>>2) % 3,
		MaxBatch:           int(s.Features>>4) % 3,
	}
	r, err := NewWithFaults(cfg, s.faults())
	if err != nil {
		return nil, err
	}
	if s.Role%3 != 0 {
		_ = r.Campaign()
	}
	if s.Role%3 == 2 {
		for j := 1; j <= n; j++ {
			if spec.ServerID(j) != r.id {
				_ = r.Step(rvr(spec.ServerID(j), r.id, r.term, true))
			}
		}
	}
	for k := range s.Proposals % 4 {
		_ = r.Propose(spec.Value(fmt.Sprint("p", k)))
	}
	for _, m := range s.Acks {
		m.To = r.id
		_ = r.Step(m)
	}
	return r, nil
}

// faults are the seed's fault switches; none without -tags raftfaults, so
// that the fuzz tests run the correct core in the production build.
func (s *seed) faults() Faults {
	if !FaultsCompiled {
		return Faults{}
	}
	return Faults{
		Figure8Commit:          s.Faults&1 != 0,
		VoteWithoutLogCheck:    s.Faults&2 != 0,
		TruncateOnStaleAppend:  s.Faults&4 != 0,
		ForgetVoteOnRestart:    s.Faults&8 != 0,
		CommitFromLeaderCommit: s.Faults&16 != 0,
	}
}

// exercise builds a node from s and feeds it ops, checking after every
// input that it did not panic, that a refused input changed nothing, that
// the node stays well formed, that term and commit index never go down,
// that a leader only appends, and that storage and applied entries follow
// the node through the Ready/Advance contract.
// It returns how many inputs were accepted while the node led.
func exercise(t testing.TB, s *seed, ops []op) (accepted, refused, leading int) {
	r, err := s.build(t)
	if err != nil {
		t.Fatalf("seed %+v: %v", s, err)
	}
	st := NewMemoryStorage()
	_ = st.Save(Update{HardState: &r.saved, LogFrom: 1, Entries: slices.Clone(r.cfg.Restore.Log)})
	var applied []spec.Entry
	handle := func() {
		rd := r.Ready()
		if err := st.Save(rd.Update); err != nil {
			t.Fatalf("save: %v", err)
		}
		if rd.CommitFrom != 0 && int(rd.CommitFrom) != len(applied)+1 {
			t.Fatalf("committed entries from %d after %d applied", rd.CommitFrom, len(applied))
		}
		applied = append(applied, rd.CommittedEntries...)
		if err := r.Advance(rd); err != nil {
			t.Fatal(err)
		}
		p, _ := st.Load()
		if p.HardState != r.hardState() || !slices.Equal(p.Log, r.log) {
			t.Fatalf("storage %+v differs from node %v", p, r.View())
		}
	}
	handle()
	for k, o := range ops {
		before := r.View()
		hadReady := r.HasReady()
		var err error
		switch o.Kind % 10 {
		case 5:
			r.Tick()
		case 6:
			err = r.Campaign()
		case 7:
			err = r.Heartbeat()
		case 8:
			err = r.Propose(o.Value)
		case 9:
			kinds := []spec.ActionKind{spec.AddServer, spec.RemoveServer, spec.AddLearner, spec.EnterJoint, spec.LeaveJoint}
			err = r.ProposeConfChange(ConfChange{Kind: kinds[o.Msg.Term%spec.Term(len(kinds))], Target: o.Msg.From, Voters: spec.Members(o.Msg.LastLogIndex)})
		default:
			// Mostly from a peer to this node; kinds 3 and 4 keep the fuzzed
			// endpoints.
			if o.Kind%10 < 3 && r.n > 1 {
				o.Msg.From = spec.ServerID(1 + int(o.Msg.From)%r.n)
				if o.Msg.From == r.id {
					o.Msg.From = spec.ServerID(1 + int(o.Msg.From)%r.n)
				}
			}
			if o.Kind%10 != 4 {
				o.Msg.To = r.id
			}
			err = r.Step(o.Msg)
		}
		after := r.View()
		if err == nil {
			accepted++
		} else {
			refused++
		}
		if after.Role == spec.Leader {
			leading++
		}
		if err != nil {
			if d := after.Diff(&before); len(d) > 0 || r.HasReady() != hadReady {
				t.Fatalf("op %d refused (%v) but changed %v", k, err, d)
			}
			if !errors.Is(err, ErrInvalidMessage) && !errors.Is(err, ErrCommittedConflict) && !errors.Is(err, ErrNotLeader) &&
				!errors.Is(err, ErrLeader) && !errors.Is(err, ErrInvalidProposal) && !errors.Is(err, ErrNotVoter) &&
				!errors.Is(err, ErrNoTermCommit) && !errors.Is(err, ErrChangeInProgress) && !errors.Is(err, ErrBadChange) {
				t.Fatalf("op %d: unclassified error %v", k, err)
			}
		}
		if err := wellFormed(r); err != nil {
			t.Fatalf("op %d (%+v) left the node malformed: %v", k, o, err)
		}
		// CommitFromLeaderCommit takes commitIndex before the consistency
		// check, so a later conflict can lower it: that is the fault.
		if after.Term < before.Term || (after.CommitIndex < before.CommitIndex && !r.faults.commitFromLeaderCommit()) {
			t.Fatalf("op %d lowered term or commit: %v -> %v", k, before, after)
		}
		if before.Role == spec.Leader && after.Role == spec.Leader && after.Term == before.Term &&
			(len(after.Log) < len(before.Log) || !slices.Equal(after.Log[:len(before.Log)], before.Log)) {
			t.Fatalf("op %d: leader rewrote its log: %v -> %v", k, before, after)
		}
		if k%3 == 0 {
			handle()
		}
	}
	handle()
	if !r.faults.truncateOnStaleAppend() && !slices.Equal(applied, r.log[:min(len(applied), len(r.log))]) {
		t.Fatalf("applied %v is not a prefix of the log %v", applied, r.log)
	}
	return accepted, refused, leading
}

func TestGofuzzMessages(t *testing.T) {
	f := newFuzzer(fuzz.New().RandSource(rand.NewSource(1)))
	var accepted, refused, leading int
	for range 2000 {
		var s seed
		var ops []op
		f.Fuzz(&s)
		f.NumElements(0, 40).Fuzz(&ops)
		f.NumElements(0, 6)
		a, r, l := exercise(t, &s, ops)
		accepted, refused, leading = accepted+a, refused+r, leading+l
	}
	// The generator must reach the interesting cases, or the test is vacuous.
	t.Logf("accepted %d, refused %d, while leading %d", accepted, refused, leading)
	if accepted < 15000 || refused < 5000 || leading < 2000 {
		t.Fatalf("generator too narrow: accepted %d, refused %d, while leading %d", accepted, refused, leading)
	}
}

// FuzzStep steps arbitrary decoded inputs into a node in an arbitrary
// state: go test -fuzz FuzzStep ./impl/raft.
func FuzzStep(f *testing.F) {
	f.Add([]byte("raft"))
	f.Add([]byte{2, 1, 3, 0, 2, 9, 9, 9, 1, 0, 0, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4})
	f.Fuzz(func(t *testing.T, data []byte) {
		fz := newFuzzer(fuzz.NewFromGoFuzz(data))
		var s seed
		var ops []op
		fz.Fuzz(&s)
		fz.NumElements(0, 30).Fuzz(&ops)
		exercise(t, &s, ops)
	})
}
