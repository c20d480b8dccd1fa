package explorer

import (
	"fmt"

	"github.com/raftcheck/raftcheck/spec"
)

// Caption narrates a step in the words of the classic Raft animation's
// storyline (its storyboard: an election, a client request replicated at
// the next heartbeat and committed by a majority, a partition and its
// heal) when the step is one of those moments; "" otherwise. before and
// after are the states around action a.
func Caption(before *spec.State, a *spec.Action, after *spec.State) string {
	if c := electionCaption(before, a, after); c != "" {
		return c
	}
	if c := commitCaption(before, after); c != "" {
		return c
	}
	switch a.Kind {
	case spec.ClientRequest:
		return fmt.Sprintf("A client sends %q to the leader %v: it appends the entry to its log, not yet committed", a.Value, a.Server)
	case spec.Heartbeat:
		return heartbeatCaption(before, a, after)
	case spec.Partition:
		return fmt.Sprintf("A network partition splits the cluster into %s: messages between the groups are lost", spec.FormatGroups(a.Groups))
	case spec.Heal:
		return "The partition heals: every server can reach every other again"
	case spec.Restart:
		return fmt.Sprintf("%v crashes and restarts: it keeps its term, vote and log, and forgets the rest", a.Server)
	case spec.Drop:
		return "The network loses a message"
	case spec.Deliver:
		return deliverCaption(before, a, after)
	}
	return ""
}

// electionCaption covers the election: a timeout that starts one, and
// the step a candidate wins.
func electionCaption(before *spec.State, a *spec.Action, after *spec.State) string {
	for i := range after.Servers {
		was, is := &before.Servers[i], &after.Servers[i]
		if is.Role == spec.Leader && was.Role != spec.Leader {
			return fmt.Sprintf("%v has votes from a majority: it becomes the leader of term %d", is.ID, is.Term)
		}
	}
	if a.Kind == spec.Timeout {
		if v := server(after, a.Server); v != nil && v.Role == spec.Candidate {
			return fmt.Sprintf("%v's election timeout fires: it becomes a candidate for term %d, votes for itself and asks the others for their votes", v.ID, v.Term)
		}
	}
	return ""
}

// commitCaption is the step a leader's commit index advances.
func commitCaption(before, after *spec.State) string {
	for i := range after.Servers {
		was, is := &before.Servers[i], &after.Servers[i]
		if is.Role == spec.Leader && is.CommitIndex > was.CommitIndex {
			return fmt.Sprintf("A majority of servers have written the entry at index %d, so it becomes committed on the leader %v", is.CommitIndex, is.ID)
		}
	}
	return ""
}

func heartbeatCaption(before *spec.State, a *spec.Action, after *spec.State) string {
	entries, commit := false, false
	for _, f := range after.Network {
		m := &f.Message
		if m.From == a.Server && m.Type == spec.AppendEntries && count(before.Network, m) < f.Count {
			entries = entries || len(m.Entries) > 0
			commit = commit || m.LeaderCommit > 0
		}
	}
	switch {
	case entries:
		return "At the next heartbeat, the log entry is replicated to the followers"
	case commit:
		return "At the next heartbeat, the leader notifies the followers of the committed entries"
	}
	return "At the next heartbeat, no new log information is sent"
}

func deliverCaption(before *spec.State, a *spec.Action, after *spec.State) string {
	m := a.Message
	to, was := server(after, m.To), server(before, m.To)
	if to == nil || was == nil {
		return ""
	}
	switch {
	case m.Type == spec.RequestVote && to.VotedFor == m.From && was.VotedFor != m.From:
		return fmt.Sprintf("%v has not voted in term %d: it votes for %v and resets its election timeout", to.ID, to.Term, m.From)
	case m.Type == spec.AppendEntries && len(m.Entries) > 0 && len(to.Log) > len(was.Log):
		return fmt.Sprintf("%v appends the leader's entries to its log and acknowledges them", to.ID)
	case m.Type == spec.AppendEntries && to.CommitIndex > was.CommitIndex:
		return fmt.Sprintf("%v learns from the leader that entries up to index %d are committed", to.ID, to.CommitIndex)
	}
	return ""
}

func count(network []spec.InFlight, m *spec.Message) int {
	for _, f := range network {
		if f.Message.Equal(m) {
			return f.Count
		}
	}
	return 0
}

// server returns server id's view in st, nil if there is none.
func server(st *spec.State, id spec.ServerID) *spec.View {
	if id < 1 || int(id) > len(st.Servers) {
		return nil
	}
	return &st.Servers[id-1]
}
