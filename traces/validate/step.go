package validate

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/raftcheck/raftcheck/spec"
)

func itoa(i spec.Index) string { return strconv.FormatUint(uint64(i), 10) }

// step replays one event on its server's reference state and checks
// everything the event claims: its guard, the rule's effect against the
// logged state, the messages it sent.
func (v *validator) step(s *server, ev *Event) *Failure {
	before := struct {
		role   spec.Role
		term   spec.Term
		commit spec.Index
	}{s.role, s.term, s.commit}
	resp, f := v.input(s, ev)
	if f != nil {
		return f
	}
	if s.role == spec.Leader {
		if f := v.leaderCommit(s, ev); f != nil {
			return f
		}
		s.stepDownIfRemoved()
	}
	if f := v.checkSent(s, ev, resp); f != nil {
		return f
	}
	if f := v.checkState(s, ev); f != nil {
		return f
	}
	if s.role == spec.Leader && (before.role != spec.Leader || before.term != s.term) {
		if f := v.elected(s); f != nil {
			return f
		}
	}
	if s.commit < before.commit && ev.Kind != Restart {
		return mismatch("commit-monotonic", "state.commit", ">= "+itoa(before.commit), s.commit, "commitIndex never decreases")
	}
	if s.commit > before.commit || (ev.Kind == Restart && s.commit > 0) {
		lo := before.commit
		if ev.Kind == Restart {
			lo = 0
		}
		return v.commitAdvanced(s, lo)
	}
	return nil
}

// input applies the event's input by its rule.
func (v *validator) input(s *server, ev *Event) (*response, *Failure) {
	switch ev.Kind {
	case Timeout:
		return nil, s.timeout()
	case Heartbeat:
		if s.role != spec.Leader {
			return nil, fail("Heartbeat guard", "%v is a %v, not a leader", s.id, s.role)
		}
	case ClientRequest:
		return nil, s.clientRequest(ev.Values)
	case Receive:
		rec := v.sent[ev.Msg.ID]
		if f := v.matchSend(ev, rec); f != nil {
			return nil, f
		}
		v.res.Received++
		return s.receive(&ev.Msg.Message, rec.data)
	case Restart:
		s.restart()
	case Compact:
		return nil, s.compact(ev.Index)
	case Reconfigure:
		return nil, s.reconfigure(*ev.Config)
	}
	return nil, nil
}

// matchSend checks that a received message is the one its id names, as
// sent.
func (v *validator) matchSend(ev *Event, rec *sentMsg) *Failure {
	if spec.CompareMessages(&ev.Msg.Message, &rec.msg) == 0 {
		return nil
	}
	d := rec.msg.FieldDiff(&ev.Msg.Message)
	if len(d) == 0 {
		return nil
	}
	return mismatch("message identity", "msg."+d[0].Field, d[0].A, d[0].B,
		"message %s as sent at %s differs from the one received", ev.Msg.ID, rec.ev.Where())
}

// leaderCommit checks, or for an unlogged commit index computes, a
// leader's commit index: it may only advance to an index of its current
// term that a quorum of its configuration stores per matchIndex.
func (v *validator) leaderCommit(s *server, ev *Event) *Failure {
	hi := s.maxCommit()
	if ev.State == nil || ev.State.Commit == nil {
		s.commit = hi
		return nil
	}
	c := *ev.State.Commit
	switch {
	case c < s.commit:
		return nil // reported by the state check
	case c > s.lastIndex():
		return mismatch("leader commit rule", "state.commit", "<= "+itoa(s.lastIndex()), c, "beyond the leader's log")
	case c > hi && s.termAt(c) != s.term:
		return mismatch("leader commit rule", "state.commit", "<= "+itoa(hi), c,
			"log[%d] has term %d, not the current term %d: only entries of the current term are committed by counting replicas (§5.4.2)", c, s.termAt(c), s.term)
	case c > hi:
		return mismatch("leader commit rule", "state.commit", "<= "+itoa(hi), c,
			"index %d is stored by %v only (matchIndex %v), no quorum of %v", c, s.acks(c), s.match[1:s.n+1], s.config())
	}
	s.commit = c
	return nil
}

// checkSent checks every message the step sent against the sender's state
// after the step; a reply must be the one the receive rule gives.
func (v *validator) checkSent(s *server, ev *Event, resp *response) *Failure {
	for k := range ev.Sent {
		m := &ev.Sent[k]
		field := fmt.Sprintf("sent[%d].", k)
		if f := v.allowedSend(s, &m.Message, field, resp); f != nil {
			return f
		}
		if prev, dup := v.sent[m.ID]; dup {
			// The same message sent again under its id (a retransmission,
			// or a content-derived id: ContentID) is one message that may
			// arrive several times; another message under a used id is not.
			if spec.CompareMessages(&prev.msg, &m.Message) != 0 {
				return fail("message identity", "%s: id %s already names another message, sent at %s", field+"id", m.ID, prev.ev.Where())
			}
			v.res.Sent++
			continue
		}
		rec := &sentMsg{msg: m.Message, ev: ev}
		if m.Type == spec.InstallSnapshot {
			rec.data = slices.Clone(s.log[:m.LastIncludedIndex])
		}
		v.sent[m.ID] = rec
		v.res.Sent++
	}
	return nil
}

// allowedSend checks one sent message.
func (v *validator) allowedSend(s *server, m *spec.Message, field string, resp *response) *Failure {
	rule := "send " + m.Type.String()
	if int(m.To) > s.n {
		return mismatch(rule, field+"to", "a server in 1.."+strconv.Itoa(s.n), m.To, "no such server")
	}
	if m.Term != s.term {
		return mismatch(rule, field+"term", s.term, m.Term, "a message carries its sender's current term")
	}
	switch m.Type {
	case spec.RequestVote:
		if s.role != spec.Candidate {
			return fail(rule, "%v is a %v: only a candidate asks for votes", s.id, s.role)
		}
		if m.LastLogIndex != s.lastIndex() {
			return mismatch(rule, field+"last_log_index", s.lastIndex(), m.LastLogIndex, "the candidate's last log index")
		}
		if m.LastLogTerm != spec.LastTerm(s.log) {
			return mismatch(rule, field+"last_log_term", spec.LastTerm(s.log), m.LastLogTerm, "the candidate's last log term")
		}
	case spec.AppendEntries:
		return s.allowedAppend(m, field, rule)
	case spec.InstallSnapshot:
		return s.allowedSnapshot(m, field, rule)
	default:
		return allowedReply(m, field, rule, resp)
	}
	return nil
}

// allowedAppend: an AppendEntries must match the leader's log.
func (s *server) allowedAppend(m *spec.Message, field, rule string) *Failure {
	if s.role != spec.Leader {
		return fail(rule, "%v is a %v: only a leader sends AppendEntries", s.id, s.role)
	}
	p := m.PrevLogIndex
	if p > s.lastIndex() {
		return mismatch(rule, field+"prev_log_index", "<= "+itoa(s.lastIndex()), p, "beyond the leader's log")
	}
	if t := s.termAt(p); m.PrevLogTerm != t {
		return mismatch(rule, field+"prev_log_term", t, m.PrevLogTerm, "the term of the leader's entry at prev_log_index %d", p)
	}
	if end := p + spec.Index(len(m.Entries)); end > s.lastIndex() {
		return mismatch(rule, field+"entries", "at most "+itoa(s.lastIndex()-p)+" entries", len(m.Entries), "beyond the leader's log")
	}
	for k, e := range m.Entries {
		if want := s.log[p+spec.Index(k)]; e != want {
			return mismatch(rule, fmt.Sprintf("%sentries[%d]", field, k), want, e, "the leader's entry at index %d", p+1+spec.Index(k))
		}
	}
	if m.LeaderCommit > s.commit {
		return mismatch(rule, field+"leader_commit", "<= "+itoa(s.commit), m.LeaderCommit, "above the leader's commit index")
	}
	return nil
}

// allowedSnapshot: an InstallSnapshot holds the leader's committed prefix.
func (s *server) allowedSnapshot(m *spec.Message, field, rule string) *Failure {
	if s.role != spec.Leader {
		return fail(rule, "%v is a %v: only a leader sends snapshots", s.id, s.role)
	}
	li := m.LastIncludedIndex
	if li > s.commit {
		return mismatch(rule, field+"last_included_index", "<= "+itoa(s.commit), li, "a snapshot holds committed entries only")
	}
	if t := s.termAt(li); m.LastIncludedTerm != t {
		return mismatch(rule, field+"last_included_term", t, m.LastIncludedTerm, "the term of the leader's entry at %d", li)
	}
	for k, e := range m.Entries {
		if e != s.log[k] {
			return mismatch(rule, fmt.Sprintf("%sentries[%d]", field, k), s.log[k], e, "the snapshot's data is the leader's log prefix")
		}
	}
	return nil
}

// allowedReply: a response is sent only in the step that handles its
// request, once, as the receive rule gives it.
func allowedReply(m *spec.Message, field, rule string, resp *response) *Failure {
	if resp == nil || resp.used || resp.msg.Type != m.Type || resp.msg.To != m.To {
		return fail(rule, "%s%v answers no request of this step", field, *m)
	}
	resp.used = true
	want := resp.msg
	hint := m.MatchIndex
	if m.Type == spec.AppendEntriesResponse && !want.Success && !m.Success {
		if hint < resp.hintLo || hint > resp.hintHi {
			return mismatch(rule, field+"match_index", fmt.Sprintf("a hint in [%d, %d]", resp.hintLo, resp.hintHi), hint, "the failure hint")
		}
		want.MatchIndex = hint
	}
	if spec.CompareMessages(&want, m) == 0 {
		return nil
	}
	if d := want.FieldDiff(m); len(d) > 0 {
		return mismatch(rule, field+d[0].Field, d[0].A, d[0].B, "the receive rule's reply")
	}
	return nil
}

// checkState compares every logged state field with the reference.
func (v *validator) checkState(s *server, ev *Event) *Failure {
	st := ev.State
	if st != nil {
		rule := string(ev.Kind) + " effect"
		for _, c := range []struct {
			name      string
			set       bool
			want, got any
		}{
			{"term", st.Term != nil, s.term, deref(st.Term)},
			{"vote", st.Vote != nil, s.vote, deref(st.Vote)},
			{"role", st.Role != nil, s.role, deref(st.Role)},
			{"log_len", st.LogLen != nil, s.lastIndex(), deref(st.LogLen)},
			{"last_term", st.LastTerm != nil, spec.LastTerm(s.log), deref(st.LastTerm)},
			{"commit", st.Commit != nil, s.commit, deref(st.Commit)},
			{"snapshot", st.Snapshot != nil, s.snap, deref(st.Snapshot)},
			{"config", st.Config != nil, s.config(), deref(st.Config)},
		} {
			if !c.set {
				continue
			}
			v.res.Fields++
			if c.want != c.got {
				return mismatch(rule, "state."+c.name, c.want, c.got, "the state the rules give after the step")
			}
		}
	}
	if n := len(ev.Entries); n > 0 {
		if n > len(s.log) {
			return mismatch(string(ev.Kind)+" effect", "entries", "at most "+strconv.Itoa(len(s.log))+" entries", n, "more entries than the log holds")
		}
		for k, e := range ev.Entries {
			if want := s.log[len(s.log)-n+k]; e != want {
				return mismatch(string(ev.Kind)+" effect", fmt.Sprintf("entries[%d]", k), want, e, "the log's entry at index %d", len(s.log)-n+k+1)
			}
		}
	}
	return nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
