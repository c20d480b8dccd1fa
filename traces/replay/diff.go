package replay

import (
	"fmt"
	"slices"

	"github.com/raftcheck/raftcheck/spec"
	"github.com/raftcheck/raftcheck/traces"
)

// checkExpect returns the expectations of e that do not hold in s, each
// named by its JSON path, e.g. "expect.servers[0].commit_index: S1 has 1,
// expected 2".
func checkExpect(e *traces.Expect, s *spec.State) []string {
	if e == nil {
		return nil
	}
	var failed []string
	fail := func(field, format string, args ...any) {
		failed = append(failed, "expect."+field+": "+fmt.Sprintf(format, args...))
	}
	for k, se := range e.Servers {
		v := &s.Servers[se.ID-1]
		at := func(name string) string { return fmt.Sprintf("servers[%d].%s", k, name) }
		if se.Role != nil && v.Role.String() != *se.Role {
			fail(at("role"), "%v is %v, expected %s", se.ID, v.Role, *se.Role)
		}
		if se.Term != nil && v.Term != *se.Term {
			fail(at("term"), "%v has %d, expected %d", se.ID, v.Term, *se.Term)
		}
		if se.VotedFor != nil && v.VotedFor != *se.VotedFor {
			fail(at("voted_for"), "%v has %v, expected %v", se.ID, v.VotedFor, *se.VotedFor)
		}
		if se.Log != nil && !slices.Equal(v.Log, *se.Log) {
			fail(at("log"), "%v has %v, expected %v", se.ID, v.Log, *se.Log)
		}
		if se.CommitIndex != nil && v.CommitIndex != *se.CommitIndex {
			fail(at("commit_index"), "%v has %d, expected %d", se.ID, v.CommitIndex, *se.CommitIndex)
		}
	}
	committed := func(val spec.Value) bool {
		return slices.ContainsFunc(s.History.Committed, func(c spec.CommittedEntry) bool { return c.Entry.Value == val })
	}
	for _, val := range e.Committed {
		if !committed(val) {
			fail("committed", "%q is not in the committed history", val)
		}
	}
	for _, val := range e.NotCommitted {
		if committed(val) {
			fail("not_committed", "%q is in the committed history", val)
		}
	}
	if e.InFlight != nil {
		n := 0
		for _, m := range s.Network {
			n += m.Count
		}
		if n != *e.InFlight {
			fail("in_flight", "%d message copies in flight, expected %d", n, *e.InFlight)
		}
	}
	return failed
}

// RecordedDiff lists the differences between a state recorded in a trace
// and the state a replay computes: StateDiff's, then the history's
// ("history.leader_of[2]: S1 vs S3").
func RecordedDiff(want, got *spec.State) []string {
	d := StateDiff(want, got)
	for _, x := range want.History.Diff(&got.History) {
		d = append(d, "history."+x)
	}
	return d
}

// StateDiff lists the differences between two cluster states, field by
// field: each server's view, the messages in flight, the partition (not
// the history: RecordedDiff adds it).
func StateDiff(want, got *spec.State) []string {
	var d []string
	if len(want.Servers) != len(got.Servers) {
		return []string{fmt.Sprintf("%d servers vs %d", len(want.Servers), len(got.Servers))}
	}
	for i := range want.Servers {
		for _, f := range want.Servers[i].Diff(&got.Servers[i]) {
			d = append(d, fmt.Sprintf("%v %s", spec.ServerID(i+1), f))
		}
	}
	d = append(d, networkDiff(want.Network, got.Network)...)
	if spec.FormatGroups(want.Partition) != spec.FormatGroups(got.Partition) {
		d = append(d, fmt.Sprintf("partition %s vs %s", OrWhole(want.Partition), OrWhole(got.Partition)))
	}
	return d
}

// OrWhole renders a partition, "none" when the network is whole.
func OrWhole(g [][]spec.ServerID) string {
	if len(g) == 0 {
		return "none"
	}
	return spec.FormatGroups(g)
}

// networkDiff lists the messages whose counts differ: "missing" ones are
// in want only, "unexpected" ones in got only.
func networkDiff(want, got []spec.InFlight) []string {
	var d []string
	count := func(list []spec.InFlight, m *spec.Message) int {
		for _, f := range list {
			if f.Message.Equal(m) {
				return f.Count
			}
		}
		return 0
	}
	for _, f := range want {
		if c := count(got, &f.Message); c < f.Count {
			d = append(d, fmt.Sprintf("message missing: %v (x%d vs x%d)", f.Message, f.Count, c))
		}
	}
	for _, f := range got {
		if c := count(want, &f.Message); c < f.Count {
			d = append(d, fmt.Sprintf("message unexpected: %v (x%d vs x%d)", f.Message, c, f.Count))
		}
	}
	return d
}
