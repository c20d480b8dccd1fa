package tlaraft

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// The encoding, for each server in order: currentTerm; state<<4 |
// votedFor (0 for Nil, j+1 for j); Len(log) and one byte per entry
// (term<<3 | value-1); commitIndex; votesResponded; votesGranted; then
// nextIndex[i][j]<<4 | matchIndex[i][j] for each j. Then the bag: the size
// of its domain and, in key order, each message's key<<3 | count as four
// big-endian bytes.

// encodeServer appends the encoding of server v renamed by p (p[j] is the
// new name of server j; inv its inverse).
func (m *Model) encodeServer(dst []byte, v *server, p, inv *[MaxServers]uint8) []byte {
	voted, responded, granted := v.votedFor, v.responded, v.granted
	if p != &identity { // Encode's fast path
		if voted != 0 {
			voted = p[voted-1] + 1
		}
		responded, granted = renameSet(responded, p, m.n), renameSet(granted, p, m.n)
	}
	dst = append(dst, v.term, uint8(v.role)<<4|voted, v.logLen)
	for _, e := range v.log[:v.logLen] {
		dst = append(dst, e.Term<<3|(e.Value-1))
	}
	dst = append(dst, v.commit, responded, granted)
	for q := range m.n {
		o := inv[q]
		dst = append(dst, v.next[o]<<4|v.match[o])
	}
	return dst
}

// renameSet renames the servers of a set.
func renameSet(mask uint8, p *[MaxServers]uint8, n int) uint8 {
	var out uint8
	for j := range n {
		if mask&(1<<j) != 0 {
			out |= 1 << p[j]
		}
	}
	return out
}

func appendBag(dst []byte, bag []uint32) []byte {
	dst = append(dst, uint8(len(bag)))
	for _, e := range bag {
		dst = binary.BigEndian.AppendUint32(dst, e)
	}
	return dst
}

var identity = [MaxServers]uint8{0, 1, 2, 3, 4}

// Encode appends the encoding of s to dst: equal states, equal bytes.
func (m *Model) Encode(dst []byte, s *State) []byte {
	for i := range m.n {
		dst = m.encodeServer(dst, &s.srv[i], &identity, &identity)
	}
	return appendBag(dst, s.bag[:s.n])
}

// Canonical appends a canonical encoding of s under renamings of the
// servers, equal for states equal up to a permutation of Server (TLC's
// SYMMETRY Permutations(Server)), so that distinct canonical encodings
// count orbits exactly. It is the least encoding over the renamings that
// list the servers in the order of a rename-invariant signature (all
// renamings when every signature ties): the set of such renamed states is
// the same for every member of an orbit, so its least element is too.
func (m *Model) Canonical(dst []byte, s *State) []byte {
	if m.n == 1 {
		return m.Encode(dst, s)
	}
	var sig [MaxServers]signature
	for i := range m.n {
		sig[i] = s.srv[i].signature(i)
	}
	start, serverLen := len(dst), -1
	var buf [MaxServers*(6+MaxLogLenLimit+1+MaxServers) + 1 + 4*BagCapacity]byte
	var bag [BagCapacity]uint32
	for _, inv := range m.perms { // inv[q] is the server renamed q
		sorted := true
		for q := 1; q < m.n && sorted; q++ {
			sorted = !sig[inv[q]].less(sig[inv[q-1]])
		}
		if !sorted {
			continue
		}
		var p [MaxServers]uint8
		for q := range m.n {
			p[inv[q]] = uint8(q)
		}
		t := buf[:0]
		for q := range m.n {
			t = m.encodeServer(t, &s.srv[inv[q]], &p, &inv)
		}
		c := -1
		if serverLen >= 0 {
			if c = bytes.Compare(t, dst[start:start+serverLen]); c > 0 {
				continue
			}
		}
		for x, e := range s.bag[:s.n] {
			bag[x] = withServers(e>>countBits, &p)<<countBits | e&countMask
		}
		slices.Sort(bag[:s.n])
		t = appendBag(t, bag[:s.n])
		switch {
		case serverLen < 0:
			serverLen = len(t) - 1 - 4*int(s.n)
			dst = append(dst, t...)
		case c < 0 || bytes.Compare(t, dst[start:]) < 0:
			copy(dst[start:], t)
		}
	}
	return dst
}

// signature summarizes what of a server does not depend on the names of
// the servers: currentTerm, state, the log, commitIndex, whether it voted
// (and for itself) and the sizes of its vote sets.
type signature [2]uint64

func (v *server) signature(i int) signature {
	voted := uint64(0)
	switch {
	case v.votedFor == uint8(i)+1:
		voted = 1
	case v.votedFor != 0:
		voted = 2
	}
	self := uint8(1) << i
	w0 := uint64(v.term)<<56 | uint64(v.role)<<54 | uint64(v.logLen)<<50 | uint64(v.commit)<<46 | voted<<44 |
		uint64(popcount(v.responded))<<40 | uint64(popcount(v.granted))<<36 |
		b2u64(v.responded&self != 0)<<35 | b2u64(v.granted&self != 0)<<34
	var w1 uint64
	for k, e := range v.log[:v.logLen] {
		w1 |= uint64(e.Term<<3|(e.Value-1)) << (7 * k)
	}
	return signature{w0, w1}
}

func b2u64(b bool) uint64 { return uint64(b2u(b)) }

func (a signature) less(b signature) bool {
	return a[0] < b[0] || a[0] == b[0] && a[1] < b[1]
}

var errShort = errors.New("truncated encoding")

// Decode parses an encoding made by Encode or Canonical into s.
func (m *Model) Decode(src []byte, s *State) error {
	r := src
	take := func(k int) ([]byte, error) {
		if len(r) < k {
			return nil, errShort
		}
		b := r[:k]
		r = r[k:]
		return b, nil
	}
	for i := range m.n {
		v := &s.srv[i]
		h, err := take(3)
		if err != nil {
			return fmt.Errorf("decoding server %d: %w", i+1, err)
		}
		v.term, v.role, v.votedFor, v.logLen = h[0], Role(h[1]>>4), h[1]&15, h[2]
		if v.role > Leader || int(v.votedFor) > m.n || int(v.logLen) > MaxLogLenLimit+1 {
			return fmt.Errorf("decoding server %d: bad header % x", i+1, h)
		}
		body, err := take(int(v.logLen) + 3 + m.n)
		if err != nil {
			return fmt.Errorf("decoding server %d: %w", i+1, err)
		}
		for k := range int(v.logLen) {
			v.log[k] = Entry{Term: body[k] >> 3, Value: body[k]&7 + 1}
		}
		body = body[v.logLen:]
		v.commit, v.responded, v.granted = body[0], body[1], body[2]
		for j := range m.n {
			v.next[j], v.match[j] = body[3+j]>>4, body[3+j]&15
		}
	}
	h, err := take(1)
	if err != nil {
		return fmt.Errorf("decoding the bag: %w", err)
	}
	s.n = h[0]
	if int(s.n) > BagCapacity {
		return fmt.Errorf("decoding the bag: %d messages, more than %d", s.n, BagCapacity)
	}
	body, err := take(4 * int(s.n))
	if err != nil {
		return fmt.Errorf("decoding the bag: %w", err)
	}
	for x := range int(s.n) {
		s.bag[x] = binary.BigEndian.Uint32(body[4*x:])
		if x > 0 && s.bag[x]>>countBits <= s.bag[x-1]>>countBits {
			return fmt.Errorf("decoding the bag: messages out of order at %d", x)
		}
	}
	if len(r) != 0 {
		return fmt.Errorf("decoding: %d bytes left over", len(r))
	}
	return nil
}
