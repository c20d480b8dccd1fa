package tlaraft

import (
	"fmt"
	"strings"

	"github.com/raftcheck/raftcheck/checker"
)

// Format renders s as readable text, one line per server and one per
// message in flight, servers 1-based, e.g.
//
//	s1: Leader term 2 votedFor 1 log [2:v1] commit 0 responded {1,2} granted {1,2} next [2 2 2] match [0 1 0]
//	s2: ...
//	msg ×1 AppendEntriesResponse 2→1 term 2 success true match 1
func (m *Model) Format(s *State) string {
	var b strings.Builder
	for i := range m.n {
		v := &s.srv[i]
		fmt.Fprintf(&b, "s%d: %-9v term %d votedFor ", i+1, v.role, v.term)
		if v.votedFor == 0 {
			b.WriteString("Nil")
		} else {
			fmt.Fprintf(&b, "%d", v.votedFor)
		}
		b.WriteString(" log [")
		for k, e := range v.log[:v.logLen] {
			if k > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(e.String())
		}
		fmt.Fprintf(&b, "] commit %d responded %s granted %s next %v match %v\n",
			v.commit, m.formatSet(v.responded), m.formatSet(v.granted), v.next[:m.n], v.match[:m.n])
	}
	for _, e := range s.Messages() {
		fmt.Fprintf(&b, "msg ×%d %v\n", e.Count, e.Msg)
	}
	return b.String()
}

// formatSet renders a set of servers, e.g. "{1,3}".
func (m *Model) formatSet(mask uint8) string {
	var parts []string
	for j := range m.n {
		if mask&(1<<j) != 0 {
			parts = append(parts, fmt.Sprint(j+1))
		}
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// FormatPath renders a counterexample: the initial state, then each
// action and the state after it.
func (m *Model) FormatPath(p *checker.Path[State, Action]) string {
	var b strings.Builder
	b.WriteString("initial state\n")
	b.WriteString(m.Format(&p.Init))
	for k, st := range p.Steps {
		fmt.Fprintf(&b, "step %d: %v\n", k+1, st.Action)
		b.WriteString(m.Format(&st.State))
	}
	return b.String()
}
