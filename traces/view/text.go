// Package view shows replayed traces: as a step list in text (what each
// step changed, with a legend and the history a violation rests on) and as
// a self-contained animated HTML page in the manner of the classic Raft
// animation (WriteHTML, with the viewer's assets under viewer/).
package view

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/raftcheck/raftcheck/spec"
	"github.com/raftcheck/raftcheck/traces/replay"
)

// Frame is a replay's frame: the state after one step, what the views
// show.
type Frame = replay.Frame

// Legend explains the notation of WriteText's step lists; the CLI prints it
// above every step list.
const Legend = `notation: Sn role tTERM voted=Sn log=[term:value …] (committed prefix before "|") commit=commitIndex;
  a leader adds next=[nextIndex] match=[matchIndex], one slot per server (its own is 0); a candidate votes=[servers whose vote it holds];
  RequestVote last=lastLogIndex/lastLogTerm; AppendEntries prev=prevLogIndex/prevLogTerm [entries] commit=leaderCommit;
  AppendEntriesResponse ok match=N or reject hint=N; a step shows only what it changed: "*" marks a changed field,
  "+"/"-" a message copy sent or delivered/lost; servers not shown are unchanged (--full shows whole states)`

// TextOptions configures WriteText.
type TextOptions struct {
	// Full prints the whole state after every step instead of what the
	// step changed.
	Full bool
	// Loop, for a lasso, is the step after which its cycle starts
	// (traces.Trace.Loop): the list marks the cycle and its end.
	Loop *int
}

// WriteText writes frames as a step list: the initial state in full, then
// per step its action, caption and what it changed (every server and
// message with Full), the trace's failed expectations, the property that
// breaks, and, where the implementation was compared, how it differs.
func WriteText(w io.Writer, frames []Frame, opts TextOptions) {
	for i := range frames {
		f := &frames[i]
		if f.Step == 0 {
			fmt.Fprintf(w, "initial state:\n")
		} else {
			fmt.Fprintf(w, "step %d: %v\n", f.Step, f.Action)
		}
		if f.Caption != "" {
			fmt.Fprintf(w, "  # %s\n", f.Caption)
		}
		if f.ModelOnly && (i == 0 || !frames[i-1].ModelOnly) {
			fmt.Fprintf(w, "  (the implementation diverged before this step: from here on only the model is replayed)\n")
		}
		if i == 0 || opts.Full {
			fmt.Fprint(w, f.Model.String())
		} else {
			fmt.Fprint(w, StepChanges(&frames[i-1].Model, &f.Model))
		}
		for _, x := range f.Failed {
			fmt.Fprintf(w, "  !! %s\n", x)
		}
		if f.Violation != "" {
			fmt.Fprintf(w, "  !! %s breaks: %s\n", f.Violation, f.Message)
		}
		for _, x := range f.Diff {
			fmt.Fprintf(w, "  ≠ %s\n", x)
		}
		if opts.Loop != nil && f.Step == *opts.Loop && i < len(frames)-1 {
			fmt.Fprintf(w, "--- the cycle starts here: steps %d-%d repeat forever ---\n", f.Step+1, frames[len(frames)-1].Step)
		}
	}
	if opts.Loop != nil && len(frames) > 0 {
		fmt.Fprintln(w, LoopLine(*opts.Loop, frames[len(frames)-1].Step))
	}
}

// LoopLine says how a lasso whose cycle starts after step k and ends at
// step n goes on forever.
func LoopLine(k, n int) string {
	if k == n {
		return fmt.Sprintf("=== after step %d the behaviour stutters forever: no fair action is enabled; this repeats forever ===", n)
	}
	return fmt.Sprintf("=== back to the state after step %d: steps %d-%d repeat forever ===", k, k+1, n)
}

// StepChanges renders what changed from before to after: each changed
// server's line with its changed fields marked "*", the partition if it
// changed, and the message copies removed ("-") and added ("+").
func StepChanges(before, after *spec.State) string {
	var b strings.Builder
	for i := range after.Servers {
		if i >= len(before.Servers) {
			break
		}
		d := before.Servers[i].Diff(&after.Servers[i])
		if len(d) == 0 {
			continue
		}
		line := after.Servers[i].Format(func(field string) bool { return slices.Contains(d, field) })
		fmt.Fprintf(&b, "  %s\n", line)
	}
	if was, is := spec.FormatGroups(before.Partition), spec.FormatGroups(after.Partition); was != is {
		if is == "" {
			fmt.Fprintf(&b, "  partition healed*\n")
		} else {
			fmt.Fprintf(&b, "  partition: %s*\n", is)
		}
	}
	for _, c := range networkChanges(before.Network, after.Network) {
		fmt.Fprintf(&b, "  %s\n", c)
	}
	if b.Len() == 0 {
		b.WriteString("  (nothing changed)\n")
	}
	return b.String()
}

// networkChanges lists the message copies removed from before ("-") and
// added in after ("+"), removals first.
func networkChanges(before, after []spec.InFlight) []string {
	count := func(list []spec.InFlight, m *spec.Message) int {
		for _, f := range list {
			if f.Message.Equal(m) {
				return f.Count
			}
		}
		return 0
	}
	var removed, added []string
	copies := func(n int) string {
		if n > 1 {
			return fmt.Sprintf("x%d ", n)
		}
		return ""
	}
	for _, f := range before {
		if n := f.Count - count(after, &f.Message); n > 0 {
			removed = append(removed, fmt.Sprintf("- %s%v", copies(n), f.Message))
		}
	}
	for _, f := range after {
		if n := f.Count - count(before, &f.Message); n > 0 {
			added = append(added, fmt.Sprintf("+ %s%v", copies(n), f.Message))
		}
	}
	return append(removed, added...)
}

// ViolationSummary returns the lines that end a step list of a violating
// trace: the violation with its step, and the history it rests on — for
// the committed-entry properties the step at which each committed entry
// was first committed and by whom, for Election Safety the step at which
// each term's leader was elected, for vote-once the step of the earlier
// vote. It returns nil when no frame breaks a property.
func ViolationSummary(frames []Frame) []string {
	k := slices.IndexFunc(frames, func(f Frame) bool { return f.Violation != "" })
	if k < 0 {
		return nil
	}
	f := &frames[k]
	out := []string{fmt.Sprintf("VIOLATION of %s at step %d: %s", f.Violation, f.Step, f.Message)}
	switch f.Violation {
	case "election-safety":
		out = append(out, leaderCitations(frames[:k+1])...)
	case "leader-completeness", "state-machine-safety", "committed-never-lost", "commit-quorum", "log-matching":
		out = append(out, commitCitations(frames[:k+1])...)
	case "vote-once":
		out = append(out, voteCitations(frames[:k+1])...)
	}
	return out
}

// commitCitations says, for every entry of the committed history of the
// last frame, at which step it was first committed and by which server.
func commitCitations(frames []Frame) []string {
	var out []string
	last := frames[len(frames)-1].Model.History.Committed
	for k, c := range last {
		i := slices.IndexFunc(frames, func(f Frame) bool { return len(f.Model.History.Committed) > k })
		by := "a server"
		for _, v := range frames[i].Model.Servers {
			if int(v.CommitIndex) > k && v.Term == c.CommitTerm && k < len(v.Log) && v.Log[k] == c.Entry {
				by = v.ID.String()
				break
			}
		}
		out = append(out, fmt.Sprintf("  history: entry %v at index %d was committed at step %d (%s's commitIndex, term %d)",
			c.Entry, k+1, frames[i].Step, by, c.CommitTerm))
	}
	if len(last) == 0 {
		out = append(out, "  history: nothing has been committed")
	}
	return out
}

// leaderCitations says at which step each term's first leader was elected.
func leaderCitations(frames []Frame) []string {
	var out []string
	for t, id := range frames[len(frames)-1].Model.History.LeaderOf {
		if id == spec.None {
			continue
		}
		i := slices.IndexFunc(frames, func(f Frame) bool { return f.Model.History.LeaderIn(spec.Term(t)) != spec.None })
		out = append(out, fmt.Sprintf("  history: %v became the leader of term %d at step %d", id, t, frames[i].Step))
	}
	return out
}

// voteCitations says, for each server whose vote changed within a term at
// the last step, at which step it cast the vote it went back on.
func voteCitations(frames []Frame) []string {
	if len(frames) < 2 {
		return nil
	}
	var out []string
	prev, last := &frames[len(frames)-2].Model, &frames[len(frames)-1].Model
	for i, v := range last.Servers {
		was := prev.Servers[i]
		if v.Term != was.Term || was.VotedFor == spec.None || v.VotedFor == was.VotedFor {
			continue
		}
		k := slices.IndexFunc(frames, func(f Frame) bool {
			s := f.Model.Servers[i]
			return s.Term == was.Term && s.VotedFor == was.VotedFor
		})
		out = append(out, fmt.Sprintf("  history: %v voted for %v in term %d at step %d", v.ID, was.VotedFor, was.Term, frames[k].Step))
	}
	return out
}
