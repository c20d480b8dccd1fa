package spec

import (
	"errors"
	"testing"
)

// The network is a multiset bounded by MaxCopies, with a partition that
// blocks delivery but not drops; refusals wrap ErrNotEnabled.
func TestNetwork(t *testing.T) {
	n := Network{MaxCopies: 2}
	rv := Message{Type: RequestVote, From: 1, To: 2, Term: 1}
	for range 3 {
		n.Send(rv)
	}
	if got := n.InFlight(); len(got) != 1 || got[0].Count != 2 {
		t.Fatalf("in flight %v, want one message with 2 copies", got)
	}
	if err := n.Partition([][]ServerID{{1}, {2, 3}}); err != nil {
		t.Fatal(err)
	}
	if err := n.Take(rv); !errors.Is(err, ErrNotEnabled) {
		t.Fatalf("delivery across the partition: %v", err)
	}
	if err := n.Drop(rv); err != nil {
		t.Fatal(err)
	}
	if err := n.Heal(); err != nil || n.Groups() != nil {
		t.Fatalf("heal: %v, groups %v", err, n.Groups())
	}
	if err := n.Take(rv); err != nil || n.InFlight() != nil {
		t.Fatalf("take: %v, left %v", err, n.InFlight())
	}
	for _, err := range []error{n.Drop(rv), n.Duplicate(rv), n.Heal()} {
		if !errors.Is(err, ErrNotEnabled) {
			t.Errorf("refusal %v does not wrap ErrNotEnabled", err)
		}
	}
}
