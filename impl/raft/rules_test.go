package raft

import (
	"errors"
	"testing"

	"github.com/raftcheck/raftcheck/spec"
)

// Timeout(i): term+1, candidate, votes for itself, RequestVote to all.
func TestTimeoutStartsElection(t *testing.T) {
	r := newNode(t, 2, 3, persistent(3, 1, e(1, "a"), e(3, "b")))
	if err := r.Campaign(); err != nil {
		t.Fatal(err)
	}
	wantView(t, r.View(), spec.View{ID: 2, Term: 4, VotedFor: 2, Role: spec.Candidate,
		Log: []spec.Entry{e(1, "a"), e(3, "b")}, Votes: []spec.ServerID{2}})
	wantMsgs(t, sent(t, r), rv(2, 1, 4, 2, 3), rv(2, 3, 4, 2, 3))
}

func TestTimeoutOnCandidateStartsNewElection(t *testing.T) {
	r := candidateOf(t, 1, 5, Persistent{})
	step(t, r, rvr(2, 1, 1, true))
	if err := r.Campaign(); err != nil {
		t.Fatal(err)
	}
	wantView(t, r.View(), spec.View{ID: 1, Term: 2, VotedFor: 1, Role: spec.Candidate, Votes: []spec.ServerID{1}})
}

func TestTimeoutOnLeaderRefused(t *testing.T) {
	r := leaderOf(t, 1, 3, Persistent{})
	before := r.View()
	wantErr(t, r.Campaign(), ErrLeader)
	wantView(t, r.View(), before)
}

func TestSingleServerElectsItselfAndCommits(t *testing.T) {
	r := newNode(t, 1, 1, Persistent{})
	if err := r.Campaign(); err != nil {
		t.Fatal(err)
	}
	if err := r.Propose("x"); err != nil {
		t.Fatal(err)
	}
	rd := flush(t, r)
	if v := r.View(); v.Role != spec.Leader || v.CommitIndex != 1 || len(rd.CommittedEntries) != 1 {
		t.Fatalf("single server: %v, committed %v", v, rd.CommittedEntries)
	}
}

// Heartbeat(i): AppendEntries to every peer from its nextIndex.
func TestHeartbeatSendsEntriesFromNextIndex(t *testing.T) {
	r := leaderOf(t, 1, 3, persistent(1, 1, e(1, "a"), e(1, "b")))
	step(t, r, aer(2, 1, 2, false, 1)) // S2 holds only index 1 in agreement: nextIndex 2
	if err := r.Propose("c"); err != nil {
		t.Fatal(err)
	}
	if ms := sent(t, r); len(ms) != 0 {
		t.Fatalf("ClientRequest sent %v; replication waits for the heartbeat", ms)
	}
	if err := r.Heartbeat(); err != nil {
		t.Fatal(err)
	}
	wantMsgs(t, sent(t, r),
		ae(1, 2, 2, 1, 1, 0, e(1, "b"), e(2, "c")),
		ae(1, 3, 2, 2, 1, 0, e(2, "c")))
	// Up to date: an empty AppendEntries carrying the commit index.
	step(t, r, aer(2, 1, 2, true, 3))
	step(t, r, aer(3, 1, 2, true, 3))
	if err := r.Heartbeat(); err != nil {
		t.Fatal(err)
	}
	wantMsgs(t, sent(t, r), ae(1, 2, 2, 3, 2, 3), ae(1, 3, 2, 3, 2, 3))
}

func TestHeartbeatAndProposeOnFollowerNameTheLeader(t *testing.T) {
	r := newNode(t, 2, 3, Persistent{})
	step(t, r, ae(3, 2, 1, 0, 0, 0))
	var nl *NotLeaderError
	if err := r.Heartbeat(); !errors.As(err, &nl) || nl.Leader != 3 || !errors.Is(err, ErrNotLeader) {
		t.Fatalf("Heartbeat on a follower: %v", err)
	}
	if err := r.Propose("v"); !errors.As(err, &nl) || nl.Leader != 3 || nl.Term != 1 {
		t.Fatalf("Propose on a follower: %v", err)
	}
	wantErr(t, r.Propose(""), ErrInvalidProposal)
	if v := r.View(); len(v.Log) != 0 {
		t.Fatalf("a refused proposal changed the log: %v", v)
	}
}

// ClientRequest(i, v): append (currentTerm, v) to the leader's log only.
func TestProposeAppendsInCurrentTerm(t *testing.T) {
	r := leaderOf(t, 3, 3, persistent(4, 3, e(2, "a")))
	if err := r.Propose("b"); err != nil {
		t.Fatal(err)
	}
	wantView(t, r.View(), spec.View{ID: 3, Term: 5, VotedFor: 3, Role: spec.Leader,
		Log: []spec.Entry{e(2, "a"), e(5, "b")}, NextIndex: []spec.Index{2, 2, 0}, MatchIndex: []spec.Index{0, 0, 0}})
}

// Deliver rule 1: a higher term makes any server a follower of that term
// with no vote, and the message is then handled.
func TestTermRule(t *testing.T) {
	for _, m := range []spec.Message{rv(2, 1, 7, 0, 0), rvr(2, 1, 7, true), ae(2, 1, 7, 5, 1, 0), aer(2, 1, 7, true, 0)} {
		for _, mk := range []func() *Node{
			func() *Node { return newNode(t, 1, 3, persistent(2, 3)) },
			func() *Node { return candidateOf(t, 1, 3, persistent(2, 3)) },
			func() *Node { return leaderOf(t, 1, 3, persistent(2, 3)) },
		} {
			r := mk()
			step(t, r, m)
			v := r.View()
			wantVoted := spec.None
			if m.Type == spec.RequestVote {
				wantVoted = 2 // then granted: the candidate's empty log is as up to date
			}
			wantView(t, v, spec.View{ID: 1, Term: 7, VotedFor: wantVoted, Role: spec.Follower})
		}
	}
}

// Deliver rule 2: RequestVote.
func TestRequestVote(t *testing.T) {
	log := []spec.Entry{e(1, "a"), e(2, "b")}
	for _, tc := range []struct {
		name    string
		term    spec.Term
		voted   spec.ServerID
		m       spec.Message
		granted bool
	}{
		{"stale term refused", 3, 0, rv(2, 1, 2, 5, 2), false},
		{"no vote yet, longer log", 2, 0, rv(2, 1, 2, 3, 2), true},
		{"no vote yet, same log", 2, 0, rv(2, 1, 2, 2, 2), true},
		{"higher term, later last term, shorter", 2, 0, rv(2, 1, 3, 1, 3), true},
		{"same last term, shorter log refused", 2, 0, rv(2, 1, 3, 1, 2), false},
		{"earlier last term, longer log refused", 2, 0, rv(2, 1, 3, 9, 1), false},
		{"already voted for sender", 2, 2, rv(2, 1, 2, 2, 2), true},
		{"already voted for another", 2, 3, rv(2, 1, 2, 9, 2), false},
		{"voted for another in an earlier term", 2, 3, rv(2, 1, 3, 2, 2), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newNode(t, 1, 3, persistent(tc.term, tc.voted, log...))
			step(t, r, tc.m)
			term := max(tc.term, tc.m.Term)
			wantMsgs(t, sent(t, r), rvr(1, 2, term, tc.granted))
			v := r.View()
			switch {
			case tc.granted && v.VotedFor != 2:
				t.Fatalf("granted but voted for %v", v.VotedFor)
			case !tc.granted && v.VotedFor == 2:
				t.Fatalf("refused but voted for S2")
			}
		})
	}
}

// A leader or candidate has voted for itself and refuses other candidates
// of its term.
func TestRequestVoteRefusedBySameTermCandidate(t *testing.T) {
	r := candidateOf(t, 1, 3, Persistent{})
	step(t, r, rv(2, 1, 1, 0, 0))
	wantMsgs(t, sent(t, r), rvr(1, 2, 1, false))
	if v := r.View(); v.Role != spec.Candidate || v.VotedFor != 1 {
		t.Fatalf("candidate changed: %v", v)
	}
}

// Deliver rule 3: RequestVoteResponse.
func TestRequestVoteResponse(t *testing.T) {
	r := candidateOf(t, 2, 5, persistent(2, 0, e(1, "a"), e(2, "b")))
	step(t, r, rvr(1, 2, 2, true))  // earlier term: dropped
	step(t, r, rvr(3, 2, 3, false)) // refused: nothing
	step(t, r, rvr(4, 2, 3, true))
	step(t, r, rvr(4, 2, 3, true)) // a duplicate counts once: votes are a set
	wantView(t, r.View(), spec.View{ID: 2, Term: 3, VotedFor: 2, Role: spec.Candidate,
		Log: []spec.Entry{e(1, "a"), e(2, "b")}, Votes: []spec.ServerID{2, 4}})
	step(t, r, rvr(5, 2, 3, true))
	wantView(t, r.View(), spec.View{ID: 2, Term: 3, VotedFor: 2, Role: spec.Leader,
		Log: []spec.Entry{e(1, "a"), e(2, "b")}, NextIndex: []spec.Index{3, 0, 3, 3, 3}, MatchIndex: make([]spec.Index, 5)})
	if ms := sent(t, r); len(ms) != 0 {
		t.Fatalf("becoming leader sent %v", ms)
	}
	before := r.View()
	step(t, r, rvr(1, 2, 3, true)) // a leader ignores further votes
	wantView(t, r.View(), before)

	f := newNode(t, 1, 3, persistent(3, 0))
	step(t, f, rvr(2, 1, 3, true)) // followers ignore votes
	wantView(t, f.View(), spec.View{ID: 1, Term: 3})
}

// Deliver rule 4: AppendEntries receiver.
func TestAppendEntriesStaleTermRefused(t *testing.T) {
	r := newNode(t, 1, 3, persistent(5, 0, e(1, "a")))
	step(t, r, ae(2, 1, 4, 1, 1, 1, e(4, "x")))
	wantMsgs(t, sent(t, r), aer(1, 2, 5, false, 0))
	wantView(t, r.View(), spec.View{ID: 1, Term: 5, Log: []spec.Entry{e(1, "a")}})
}

func TestAppendEntriesMakesCandidateFollower(t *testing.T) {
	r := candidateOf(t, 1, 3, Persistent{})
	step(t, r, ae(2, 1, 1, 0, 0, 0))
	wantView(t, r.View(), spec.View{ID: 1, Term: 1, VotedFor: 1})
	wantMsgs(t, sent(t, r), aer(1, 2, 1, true, 0))
	if r.Leader() != 2 {
		t.Fatalf("leader %v, want S2", r.Leader())
	}
}

func TestAppendEntriesIgnoredBySameTermLeader(t *testing.T) {
	r := leaderOf(t, 1, 3, Persistent{})
	before := r.View()
	step(t, r, ae(2, 1, 1, 0, 0, 0, e(1, "x")))
	wantView(t, r.View(), before)
	if ms := sent(t, r); len(ms) != 0 {
		t.Fatalf("replied %v", ms)
	}
}

func TestAppendEntriesConsistencyCheckHint(t *testing.T) {
	log := []spec.Entry{e(1, "a"), e(1, "b"), e(2, "c")}
	for _, tc := range []struct {
		name           string
		prev           spec.Index
		prevTerm, term spec.Term
		hint           spec.Index
	}{
		{"missing entry", 6, 3, 3, 3},
		{"just past the end", 4, 2, 3, 3},
		{"term differs", 3, 3, 3, 2},
		{"term differs at 1", 1, 2, 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newNode(t, 1, 3, persistent(2, 0, log...))
			step(t, r, ae(2, 1, tc.term, tc.prev, tc.prevTerm, 9, e(tc.term, "z")))
			wantMsgs(t, sent(t, r), aer(1, 2, tc.term, false, tc.hint))
			wantView(t, r.View(), spec.View{ID: 1, Term: tc.term, Log: log})
		})
	}
}

func TestAppendEntriesMerge(t *testing.T) {
	log := []spec.Entry{e(1, "a"), e(1, "b"), e(2, "c")}
	for _, tc := range []struct {
		name   string
		m      spec.Message
		want   []spec.Entry
		commit spec.Index
	}{
		{"append at end", ae(2, 1, 3, 3, 2, 0, e(3, "d")), append(log[:3:3], e(3, "d")), 0},
		{"all present: kept, no truncation", ae(2, 1, 3, 0, 0, 1, e(1, "a")), log, 1},
		{"empty heartbeat keeps the rest", ae(2, 1, 3, 1, 1, 1), log, 1},
		{"conflict truncates and appends", ae(2, 1, 3, 1, 1, 0, e(1, "b"), e(3, "x")), []spec.Entry{e(1, "a"), e(1, "b"), e(3, "x")}, 0},
		{"commit bounded by last new entry", ae(2, 1, 3, 1, 1, 9, e(1, "b")), log, 2},
		{"commit bounded by leaderCommit", ae(2, 1, 3, 3, 2, 1, e(3, "d")), append(log[:3:3], e(3, "d")), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newNode(t, 1, 3, persistent(2, 0, log...))
			step(t, r, tc.m)
			wantMsgs(t, sent(t, r), aer(1, 2, 3, true, tc.m.PrevLogIndex+spec.Index(len(tc.m.Entries))))
			wantView(t, r.View(), spec.View{ID: 1, Term: 3, Log: tc.want, CommitIndex: tc.commit})
		})
	}
}

// Figure 2 rule 5 as spec/README.md writes it: max with the old value, so a
// stale request never lowers commitIndex.
func TestAppendEntriesNeverLowersCommit(t *testing.T) {
	r := newNode(t, 1, 3, Persistent{})
	step(t, r, ae(2, 1, 1, 0, 0, 2, e(1, "a"), e(1, "b")))
	step(t, r, ae(2, 1, 1, 0, 0, 1, e(1, "a"))) // stale, reordered
	wantView(t, r.View(), spec.View{ID: 1, Term: 1, Log: []spec.Entry{e(1, "a"), e(1, "b")}, CommitIndex: 2})
	wantMsgs(t, sent(t, r), aer(1, 2, 1, true, 2), aer(1, 2, 1, true, 1))
}

// Deliver rule 5: AppendEntriesResponse.
func TestAppendEntriesResponseSuccess(t *testing.T) {
	r := leaderOf(t, 1, 5, persistent(1, 0, e(1, "a")))
	for _, v := range []spec.Value{"b", "c"} {
		if err := r.Propose(v); err != nil {
			t.Fatal(err)
		}
	}
	step(t, r, aer(2, 1, 2, true, 3))
	step(t, r, aer(2, 1, 2, true, 1)) // reordered: matchIndex never lowered
	step(t, r, aer(3, 1, 2, true, 9)) // beyond the leader's log: ignored
	step(t, r, aer(4, 1, 1, true, 3)) // earlier term: ignored
	v := r.View()
	wantView(t, v, spec.View{ID: 1, Term: 2, VotedFor: 1, Role: spec.Leader, Log: v.Log,
		NextIndex: []spec.Index{0, 4, 2, 2, 2}, MatchIndex: []spec.Index{0, 3, 0, 0, 0}})
	step(t, r, aer(5, 1, 2, true, 2))
	if v := r.View(); v.CommitIndex != 2 {
		t.Fatalf("index 2 (term 2) is on S1, S2, S5: commit %d, want 2", v.CommitIndex)
	}
	if rd := flush(t, r); rd.CommitFrom != 1 || len(rd.CommittedEntries) != 2 {
		t.Fatalf("committed entries from %d: %v", rd.CommitFrom, rd.CommittedEntries)
	}
}

// §5.4.2 / Figure 8: an entry of an earlier term is not committed by
// counting replicas, only together with one of the current term.
func TestCommitOnlyCurrentTermByCounting(t *testing.T) {
	r := leaderOf(t, 1, 3, persistent(2, 0, e(1, "a"), e(2, "b")))
	step(t, r, aer(2, 1, 3, true, 2))
	if c := r.View().CommitIndex; c != 0 {
		t.Fatalf("committed %d entries of earlier terms by counting", c)
	}
	if err := r.Propose("c"); err != nil {
		t.Fatal(err)
	}
	step(t, r, aer(2, 1, 3, true, 3))
	if c := r.View().CommitIndex; c != 3 {
		t.Fatalf("commit %d, want 3", c)
	}
}

func TestAppendEntriesResponseFailureHint(t *testing.T) {
	log := []spec.Entry{e(1, "a"), e(1, "b"), e(1, "c"), e(1, "d")}
	r := leaderOf(t, 1, 3, persistent(1, 0, log...))
	step(t, r, aer(2, 1, 2, false, 2))
	step(t, r, aer(3, 1, 2, true, 2))
	step(t, r, aer(3, 1, 2, false, 0)) // stale failure: not below matchIndex+1
	wantView(t, r.View(), spec.View{ID: 1, Term: 2, VotedFor: 1, Role: spec.Leader, Log: log,
		NextIndex: []spec.Index{0, 3, 3}, MatchIndex: []spec.Index{0, 0, 2}})
	step(t, r, aer(2, 1, 2, false, 3)) // hint above nextIndex-1: nextIndex kept
	step(t, r, aer(2, 1, 2, false, ^spec.Index(0)))
	if v := r.View(); v.NextIndex[1] != 3 {
		t.Fatalf("nextIndex of S2 %d, want 3", v.NextIndex[1])
	}
	f := newNode(t, 1, 3, persistent(2, 0))
	step(t, f, aer(2, 1, 2, false, 0)) // followers ignore responses
	wantView(t, f.View(), spec.View{ID: 1, Term: 2})
}

// Restart: persistent state survives, volatile state is reset.
func TestRestartRecoversPersistentStateOnly(t *testing.T) {
	st := NewMemoryStorage()
	r := leaderOf(t, 1, 3, Persistent{})
	save := func() {
		rd := r.Ready()
		if err := st.Save(rd.Update); err != nil {
			t.Fatal(err)
		}
		if err := r.Advance(rd); err != nil {
			t.Fatal(err)
		}
	}
	// leaderOf discarded its first Ready: persist everything from scratch.
	st.state = Persistent{HardState: HardState{Term: 1, VotedFor: 1}}
	if err := r.Propose("a"); err != nil {
		t.Fatal(err)
	}
	step(t, r, aer(2, 1, 1, true, 1))
	save()
	if v := r.View(); v.CommitIndex != 1 {
		t.Fatalf("not committed: %v", v)
	}
	p, err := st.Load()
	if err != nil {
		t.Fatal(err)
	}
	r2 := newNode(t, 1, 3, p)
	wantView(t, r2.View(), spec.View{ID: 1, Term: 1, VotedFor: 1, Log: []spec.Entry{e(1, "a")}})
	if r2.HasReady() {
		t.Fatalf("a restarted node has output: %+v", r2.Ready())
	}
}
