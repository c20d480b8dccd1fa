package spec

import (
	"errors"
	"fmt"
	"slices"
)

// ErrNotEnabled is what a system under test wraps when it cannot take an
// action in its current state (the server is not a leader, the message is
// not in flight or crosses the partition, the core refused it): a
// replay reports it as a missing action. Network's methods wrap it.
var ErrNotEnabled = errors.New("action not enabled")

// Network is the specification's network, for systems under test that
// drive their servers in one process: a multiset of messages in flight, each with a
// count bounded by MaxCopies (a send beyond it is lost, as in the model),
// and an optional partition into groups. A system built on it only has to
// step its servers; Network takes care of Deliver, Drop, Duplicate,
// Partition and Heal. The zero value is an empty, whole network with no
// bound on copies.
type Network struct {
	MaxCopies int
	msgs      []InFlight
	groups    [][]ServerID
}

// Send puts one copy of m in flight, unless MaxCopies copies are.
func (n *Network) Send(m Message) {
	for k := range n.msgs {
		if n.msgs[k].Message.Equal(&m) {
			if n.MaxCopies <= 0 || n.msgs[k].Count < n.MaxCopies {
				n.msgs[k].Count++
			}
			return
		}
	}
	m.Entries = slices.Clone(m.Entries)
	n.msgs = append(n.msgs, InFlight{Message: m, Count: 1})
}

// Take removes one copy of m for delivery; it wraps ErrNotEnabled when m
// is not in flight or crosses the partition.
func (n *Network) Take(m Message) error {
	if !n.SameSide(m.From, m.To) {
		return fmt.Errorf("%w: %v and %v are on different sides of the partition %s", ErrNotEnabled, m.From, m.To, FormatGroups(n.groups))
	}
	return n.Drop(m)
}

// Drop removes one copy of m; it wraps ErrNotEnabled when m is not in
// flight.
func (n *Network) Drop(m Message) error {
	k := n.find(&m)
	if k < 0 {
		return fmt.Errorf("%w: %v is not in flight", ErrNotEnabled, m)
	}
	if n.msgs[k].Count--; n.msgs[k].Count == 0 {
		n.msgs = slices.Delete(n.msgs, k, k+1)
	}
	return nil
}

// Duplicate adds a copy of m; it wraps ErrNotEnabled when m is not in
// flight.
func (n *Network) Duplicate(m Message) error {
	k := n.find(&m)
	if k < 0 {
		return fmt.Errorf("%w: %v is not in flight", ErrNotEnabled, m)
	}
	n.msgs[k].Count++
	return nil
}

// Partition splits the whole network into groups.
func (n *Network) Partition(groups [][]ServerID) error {
	if n.groups != nil {
		return fmt.Errorf("%w: already partitioned %s", ErrNotEnabled, FormatGroups(n.groups))
	}
	n.groups = NormalizeGroups(groups)
	return nil
}

// Heal makes the network whole.
func (n *Network) Heal() error {
	if n.groups == nil {
		return fmt.Errorf("%w: the network is not partitioned", ErrNotEnabled)
	}
	n.groups = nil
	return nil
}

// Has reports whether a copy of m is in flight.
func (n *Network) Has(m Message) bool { return n.find(&m) >= 0 }

// SameSide reports whether a and b can exchange messages now.
func (n *Network) SameSide(a, b ServerID) bool {
	for _, g := range n.groups {
		if slices.Contains(g, a) {
			return slices.Contains(g, b)
		}
	}
	return true
}

// InFlight returns the messages in flight in canonical order (nil when
// none), and Groups the partition (nil when whole), as State holds
// them.
func (n *Network) InFlight() []InFlight {
	if len(n.msgs) == 0 {
		return nil
	}
	out := make([]InFlight, len(n.msgs))
	for i, f := range n.msgs {
		f.Message.Entries = slices.Clone(f.Message.Entries)
		out[i] = f
	}
	SortInFlight(out)
	return out
}

// Groups returns the partition, nil when the network is whole.
func (n *Network) Groups() [][]ServerID {
	if n.groups == nil {
		return nil
	}
	return NormalizeGroups(n.groups)
}

func (n *Network) find(m *Message) int {
	for k := range n.msgs {
		if n.msgs[k].Message.Equal(m) {
			return k
		}
	}
	return -1
}
