package conform

import (
	"fmt"
	"slices"
	"strings"

	"github.com/raftcheck/raftcheck/spec"
)

// Abstraction says what of the model's state and the system's must agree.
// Both states are projected, server by server and message by message,
// and the projections compared: views field by field, the messages in
// flight as multisets of projected messages.
type Abstraction struct {
	// Name is how the CLI's --abstraction flag names it.
	Name string
	// View projects a server's view onto what must agree; nil keeps
	// every field. (View.VoteCount, the model's annotation of a seeded
	// bug, is never compared.)
	View func(spec.View) spec.View
	// Message projects a message onto what must agree; nil keeps every
	// field. When the model delivers (drops, duplicates) a message, the
	// system is given its own message in flight with the same projection.
	Message func(spec.Message) spec.Message
}

// Exact compares everything: every field of every view and every message,
// exactly. It is what raftcheck's own implementation is held to.
var Exact = Abstraction{Name: "exact"}

// Core compares what Raft's safety rests on — each server's term, vote,
// role, log and commit index — and the messages in flight without the
// hint of a refused AppendEntries (implementations choose their own
// repair hints); leaders' nextIndex/matchIndex and candidates' tallies are
// not compared.
var Core = Abstraction{Name: "core", View: CoreView, Message: CoreMessage}

// Abstractions lists the abstractions the CLI offers by name.
var Abstractions = []Abstraction{Exact, Core}

// LookupAbstraction returns the abstraction of that name.
func LookupAbstraction(name string) (Abstraction, error) {
	names := make([]string, len(Abstractions))
	for i, a := range Abstractions {
		if a.Name == name {
			return a, nil
		}
		names[i] = a.Name
	}
	return Abstraction{}, fmt.Errorf("unknown abstraction %q (known: %s)", name, strings.Join(names, ", "))
}

// CoreView keeps a view's id, term, vote, role, log and commit index.
func CoreView(v spec.View) spec.View {
	return spec.View{ID: v.ID, Term: v.Term, VotedFor: v.VotedFor, Role: v.Role, Log: v.Log, CommitIndex: v.CommitIndex}
}

// CoreMessage drops the hint of a refused AppendEntries.
func CoreMessage(m spec.Message) spec.Message {
	if m.Type == spec.AppendEntriesResponse && !m.Success {
		m.MatchIndex = 0
	}
	return m
}

func (a *Abstraction) view(v spec.View) spec.View {
	v.VoteCount = 0
	if a.View != nil {
		v = a.View(v)
	}
	return v
}

func (a *Abstraction) message(m spec.Message) spec.Message {
	if a.Message != nil {
		return a.Message(m)
	}
	return m
}

// network projects a network listing, merging the counts of messages that
// project alike.
func (a *Abstraction) network(in []spec.InFlight) []spec.InFlight {
	var out []spec.InFlight
	for _, f := range in {
		m := a.message(f.Message)
		merged := false
		for i := range out {
			if out[i].Message.Equal(&m) {
				out[i].Count += f.Count
				merged = true
				break
			}
		}
		if !merged {
			out = append(out, spec.InFlight{Message: m, Count: f.Count})
		}
	}
	spec.SortInFlight(out)
	return out
}

// systemAction is act (the model's) as the system must be given it: a
// message becomes the system's message in flight in sys with the same
// projection (systemMessage). Without a message projection it is act.
func (a *Abstraction) systemAction(act spec.Action, sys []spec.InFlight) spec.Action {
	if act.Message == nil || a.Message == nil {
		return act
	}
	m := a.systemMessage(act.Message, sys)
	act.Message = &m
	return act
}

// systemMessage returns the message in flight in sys whose projection is
// that of m (the model's), or m itself when none is.
func (a *Abstraction) systemMessage(m *spec.Message, sys []spec.InFlight) spec.Message {
	want := a.message(*m)
	for _, f := range sys {
		if p := a.message(f.Message); p.Equal(&want) {
			return f.Message
		}
	}
	return *m
}

// compare returns how the system's state differs from the model's under a,
// or nil when they agree.
func (a *Abstraction) compare(ms, ss *spec.State) *Divergence {
	d := &Divergence{}
	for i := range ms.Servers {
		mv := a.view(ms.Servers[i])
		var sv spec.View
		if i < len(ss.Servers) {
			sv = a.view(ss.Servers[i])
		}
		for _, field := range mv.Diff(&sv) {
			d.Fields = append(d.Fields, FieldDiff{Server: mv.ID, Field: field, Model: viewField(&mv, field), System: viewField(&sv, field)})
		}
	}
	if len(ss.Servers) != len(ms.Servers) {
		d.Fields = append(d.Fields, FieldDiff{Field: "servers", Model: fmt.Sprint(len(ms.Servers)), System: fmt.Sprint(len(ss.Servers))})
	}
	// The fast paths skip the projections when the listings are equal as
	// they are, which is the common case and decides it.
	if a.Message != nil || !sameNetwork(ms.Network, ss.Network) {
		d.Messages = messageDiffs(a.network(ms.Network), a.network(ss.Network))
	}
	if !slices.EqualFunc(ms.Partition, ss.Partition, slices.Equal) {
		if m, s := spec.FormatGroups(ms.Partition), spec.FormatGroups(ss.Partition); m != s {
			d.Partition = &[2]string{orWhole(m), orWhole(s)}
		}
	}
	if len(d.Fields) == 0 && len(d.Messages) == 0 && d.Partition == nil {
		return nil
	}
	d.Kind = d.classify()
	return d
}

// sameNetwork reports whether two listings of messages in flight are equal
// entry by entry.
func sameNetwork(a, b []spec.InFlight) bool {
	return slices.EqualFunc(a, b, func(x, y spec.InFlight) bool { return x.Count == y.Count && x.Message.Equal(&y.Message) })
}

func orWhole(groups string) string {
	if groups == "" {
		return "none"
	}
	return groups
}

// messageDiffs lists the messages whose counts differ between the two
// (projected) networks: missing ones first, then unexpected ones.
func messageDiffs(model, sys []spec.InFlight) []MessageDiff {
	count := func(list []spec.InFlight, m *spec.Message) int {
		for _, f := range list {
			if f.Message.Equal(m) {
				return f.Count
			}
		}
		return 0
	}
	var d []MessageDiff
	for _, f := range model {
		if c := count(sys, &f.Message); c < f.Count {
			d = append(d, MessageDiff{Message: f.Message, Model: f.Count, System: c})
		}
	}
	for _, f := range sys {
		if c := count(model, &f.Message); c < f.Count {
			d = append(d, MessageDiff{Message: f.Message, Model: c, System: f.Count})
		}
	}
	return d
}

// viewField renders one field of a view by its JSON name.
func viewField(v *spec.View, field string) string {
	switch field {
	case "term":
		return fmt.Sprint(v.Term)
	case "voted_for":
		return v.VotedFor.String()
	case "role":
		return v.Role.String()
	case "log":
		return fmt.Sprint(v.Log)
	case "commit_index":
		return fmt.Sprint(v.CommitIndex)
	case "next_index":
		return fmt.Sprint(v.NextIndex)
	case "match_index":
		return fmt.Sprint(v.MatchIndex)
	case "votes":
		return fmt.Sprint(v.Votes)
	}
	return fmt.Sprint(v.ID)
}
