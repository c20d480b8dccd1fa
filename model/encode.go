package model

import (
	"bytes"
	"errors"
	"fmt"
)

// maxEncoded bounds the length of an encoded state.
const maxEncoded = MaxServers*(8+MaxLog+3*MaxServers) + 1 + MaxInFlight*(mEnts+MaxLog+1) + 1 + MaxServers + 6 + MaxTerm + 1 + 2*MaxLog + 2 + 3*MaxReconfigs + 2*MaxLog

// Encode appends the canonical encoding of s to dst: equal states have
// equal encodings and different states different ones. Only the parts of
// the state that are in use are written (the first n servers, the logs up
// to their lengths, the messages in flight in sorted order), so a small
// state encodes in a few dozen bytes.
func (m *Model) Encode(dst []byte, s *State) []byte {
	n := m.n
	for i := range n {
		sv := &s.srv[i]
		dst = append(dst, sv.term, sv.voted, sv.role, sv.commit, sv.n)
		for _, e := range sv.log[:sv.n] {
			dst = append(dst, uint8(e))
		}
		switch sv.role {
		case leader:
			dst = append(dst, sv.next[:n]...)
			dst = append(dst, sv.match[:n]...)
			if m.cfg.MaxInflight > 0 {
				dst = append(dst, sv.probe)
				dst = append(dst, sv.infl[:n]...)
			}
		case candidate:
			dst = append(dst, sv.votes)
		}
	}
	dst = append(dst, s.nmsg)
	for k := range int(s.nmsg) {
		p := &s.msgs[k]
		dst = append(dst, p[:mEnts+int(p[mN])]...)
		dst = append(dst, s.cnt[k])
	}
	if s.partitioned() {
		dst = append(dst, 1)
		dst = append(dst, s.group[:n]...)
	} else {
		dst = append(dst, 0)
	}
	dst = append(dst, s.used, s.restarts, s.partitions, s.drops, s.dups)
	if m.cfg.MaxSnapshots > 0 {
		// Written only when snapshots are on, so that the encoding (and
		// the explorer's speed) without them is as before.
		dst = append(dst, s.snapshots)
		for i := range n {
			dst = append(dst, s.srv[i].snap)
		}
	}
	dst = append(dst, s.leaderOf[1:m.cfg.MaxTerm+1]...)
	dst = append(dst, s.hlen)
	for k := range s.hlen {
		dst = append(dst, uint8(s.hist[k]), s.htermAt[k])
	}
	if m.reconf {
		// Written only with membership changes, as snapshots above.
		dst = append(dst, s.reconfigs, s.ncfg)
		for _, c := range s.cfgs[:s.ncfg] {
			dst = append(dst, c.v, c.o, c.l)
		}
		dst = append(dst, s.hcfg[:s.hlen]...)
		dst = append(dst, s.hout[:s.hlen]...)
	}
	return dst
}

var errShort = errors.New("truncated state encoding")

// Decode parses an encoding made by Encode (or Canonical) into s and
// refuses any encoding of an ill-formed state (CheckWellFormed).
func (m *Model) Decode(src []byte, s *State) error {
	if err := m.DecodeTrusted(src, s); err != nil {
		return err
	}
	return m.CheckWellFormed(s)
}

// DecodeTrusted is Decode without the full well-formedness check, for
// encodings this process made itself (the explorer's frontier). It still
// never reads or writes out of bounds.
func (m *Model) DecodeTrusted(src []byte, s *State) error {
	*s = State{}
	r := reader{b: src}
	n := m.n
	for i := range n {
		sv := &s.srv[i]
		sv.term, sv.voted, sv.role, sv.commit, sv.n = r.u8(), r.u8(), r.u8(), r.u8(), r.u8()
		if sv.n > MaxLog || sv.role > leader || int(sv.voted) > n || sv.commit > sv.n {
			return fmt.Errorf("server %d: field out of range", i+1)
		}
		for k := range sv.n {
			sv.log[k] = entry(r.u8())
		}
		switch sv.role {
		case leader:
			r.into(sv.next[:n])
			r.into(sv.match[:n])
			if m.cfg.MaxInflight > 0 {
				sv.probe = r.u8()
				r.into(sv.infl[:n])
			}
		case candidate:
			sv.votes = r.u8()
		}
	}
	s.nmsg = r.u8()
	if s.nmsg > MaxInFlight {
		return fmt.Errorf("network: %d messages", s.nmsg)
	}
	for k := range int(s.nmsg) {
		p := &s.msgs[k]
		r.into(p[:mEnts])
		if p[mN] > MaxLog || p[mFrom] == 0 || int(p[mFrom]) > n || p[mTo] == 0 || int(p[mTo]) > n {
			return fmt.Errorf("message %d: field out of range", k)
		}
		r.into(p[mEnts : mEnts+int(p[mN])])
		s.cnt[k] = r.u8()
		s.total += s.cnt[k]
	}
	switch r.u8() {
	case 0:
	case 1:
		r.into(s.group[:n])
		if !s.partitioned() {
			return fmt.Errorf("partition: flagged but whole")
		}
	default:
		return fmt.Errorf("partition: bad flag")
	}
	s.used, s.restarts, s.partitions, s.drops, s.dups = r.u8(), r.u8(), r.u8(), r.u8(), r.u8()
	if m.cfg.MaxSnapshots > 0 {
		s.snapshots = r.u8()
		for i := range n {
			if s.srv[i].snap = r.u8(); s.srv[i].snap > s.srv[i].n {
				return fmt.Errorf("server %d: snapshot index beyond the log", i+1)
			}
		}
	}
	r.into(s.leaderOf[1 : m.cfg.MaxTerm+1])
	s.hlen = r.u8()
	if s.hlen > MaxLog {
		return fmt.Errorf("history: %d entries", s.hlen)
	}
	for k := range s.hlen {
		s.hist[k], s.htermAt[k] = entry(r.u8()), r.u8()
	}
	if m.reconf {
		s.reconfigs, s.ncfg = r.u8(), r.u8()
		if s.ncfg > MaxReconfigs {
			return fmt.Errorf("configurations: %d numbered", s.ncfg)
		}
		for k := range s.ncfg {
			s.cfgs[k] = conf{r.u8(), r.u8(), r.u8()}
		}
		r.into(s.hcfg[:s.hlen])
		r.into(s.hout[:s.hlen])
	}
	if r.short {
		return errShort
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%d trailing bytes after the state", len(r.b))
	}
	return nil
}

type reader struct {
	b     []byte
	short bool
}

func (r *reader) u8() uint8 {
	if len(r.b) == 0 {
		r.short = true
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) into(dst []uint8) {
	if len(r.b) < len(dst) {
		r.short = true
		r.b = nil
		return
	}
	copy(dst, r.b)
	r.b = r.b[len(dst):]
}

// Permute renames the servers of s: server σ[i] of s becomes server i+1
// of out (σ holds 0-based positions). Every id in the state is renamed:
// votes, leader bookkeeping, message endpoints, the partition and the
// leader history.
func (m *Model) Permute(s *State, sigma []uint8, out *State) {
	n := m.n
	var pi [MaxServers + 1]uint8 // old id -> new id; pi[0] = 0 (None)
	for i := range n {
		pi[sigma[i]+1] = uint8(i + 1)
	}
	*out = *s
	for i := range n {
		src := &s.srv[sigma[i]]
		dst := &out.srv[i]
		*dst = *src
		dst.voted = pi[src.voted]
		switch src.role {
		case leader:
			dst.probe = 0
			for j := range n {
				dst.next[j], dst.match[j], dst.infl[j] = src.next[sigma[j]], src.match[sigma[j]], src.infl[sigma[j]]
				if src.probe&(1<<sigma[j]) != 0 {
					dst.probe |= 1 << j
				}
			}
		case candidate:
			if m.bug != bugCountDuplicateVotes {
				dst.votes = 0
				for j := range n {
					if src.votes&(1<<sigma[j]) != 0 {
						dst.votes |= 1 << j
					}
				}
			}
		}
	}
	// Renamed messages, re-sorted (insertion sort: at most MaxInFlight).
	for k := range int(s.nmsg) {
		p := s.msgs[k]
		p[mFrom], p[mTo] = pi[p[mFrom]], pi[p[mTo]]
		c := s.cnt[k]
		j := k
		for j > 0 && p.less(&out.msgs[j-1]) {
			out.msgs[j], out.cnt[j] = out.msgs[j-1], out.cnt[j-1]
			j--
		}
		out.msgs[j], out.cnt[j] = p, c
	}
	if s.partitioned() {
		// Renumber the groups in order of their smallest member.
		var ren [MaxServers]uint8
		for g := range ren {
			ren[g] = 0xff
		}
		next := uint8(0)
		for i := range n {
			g := s.group[sigma[i]]
			if ren[g] == 0xff {
				ren[g] = next
				next++
			}
			out.group[i] = ren[g]
		}
	}
	for t := range out.leaderOf {
		out.leaderOf[t] = pi[s.leaderOf[t]]
	}
	for k := range s.ncfg {
		c := s.cfgs[k]
		out.cfgs[k] = conf{permuteMask(c.v, &pi), permuteMask(c.o, &pi), permuteMask(c.l, &pi)}
	}
	for k := range s.hlen {
		out.hcfg[k], out.hout[k] = permuteMask(s.hcfg[k], &pi), permuteMask(s.hout[k], &pi)
	}
}

// permuteMask renames the servers of a member mask (pi: old id -> new id).
func permuteMask(mask uint8, pi *[MaxServers + 1]uint8) uint8 {
	var out uint8
	for j := range MaxServers {
		if mask&(1<<j) != 0 {
			out |= 1 << (pi[j+1] - 1)
		}
	}
	return out
}

// signatures summarises each server of s in a way that does not depend on
// the names of the servers, so sorting by it is the same for every
// renaming.
func (m *Model) signatures(s *State, his, los *[MaxServers]uint64) {
	n := m.n
	var from, to, led [MaxServers + 1]uint64
	for k := range int(s.nmsg) {
		p := &s.msgs[k]
		w := uint64(s.cnt[k]) << (4 * (p[mTyp] - 1))
		from[p[mFrom]] += w
		to[p[mTo]] += w
	}
	for _, id := range s.leaderOf[1 : m.cfg.MaxTerm+1] {
		led[id]++
	}
	var sizes [MaxServers]uint64
	partitioned := s.partitioned()
	if partitioned {
		for i := range n {
			sizes[s.group[i]]++
		}
	}
	for i := range n {
		sv := &s.srv[i]
		id := uint8(i + 1)
		var votedClass uint64
		switch sv.voted {
		case 0:
		case id:
			votedClass = 1
		default:
			votedClass = 2
		}
		var groupSize uint64
		if partitioned {
			groupSize = sizes[s.group[i]]
		}
		// Joiners sort after the initial members, so that a renaming
		// never swaps the two: the initial configuration names the members.
		joiner := uint64(b2u(i >= m.cfg.Servers))
		his[i] = joiner<<63 | uint64(sv.term)<<56 | uint64(sv.role)<<54 | uint64(sv.commit)<<50 | uint64(sv.n)<<46 |
			votedClass<<44 | (led[id]&0xf)<<40 | groupSize<<36 | (from[id]&0xffff)<<16 | (to[id] & 0xffff)
		var lo uint64
		for k := range sv.n {
			lo = lo<<8 | uint64(sv.log[k])
		}
		los[i] = lo
	}
}

// Canonical appends the encoding of the representative of s's class under
// renaming of servers: the least encoding among the renamings that sort
// the servers by signature. Every renaming of s has the same canonical
// encoding, and it decodes (Decode) to a state equivalent to s.
func (m *Model) Canonical(dst []byte, s *State) []byte {
	n := m.n
	var his, los [MaxServers]uint64
	var sigma [MaxServers]uint8
	m.signatures(s, &his, &los)
	for i := range n {
		sigma[i] = uint8(i)
	}
	lessSig := func(a, b uint8) bool {
		return his[a] < his[b] || (his[a] == his[b] && los[a] < los[b])
	}
	for i := 1; i < n; i++ {
		for j := i; j > 0 && lessSig(sigma[j], sigma[j-1]); j-- {
			sigma[j], sigma[j-1] = sigma[j-1], sigma[j]
		}
	}
	// Runs of equal signatures: every order within them must be tried.
	var ties [MaxServers][2]uint8
	nt := 0
	for i := 0; i < n; {
		j := i + 1
		for j < n && his[sigma[j]] == his[sigma[i]] && los[sigma[j]] == los[sigma[i]] {
			j++
		}
		if j-i > 1 {
			ties[nt] = [2]uint8{uint8(i), uint8(j)}
			nt++
		}
		i = j
	}
	if nt == 0 {
		identity := true
		for i := range n {
			identity = identity && sigma[i] == uint8(i)
		}
		if identity {
			return m.Encode(dst, s)
		}
	}
	var tmp State
	if nt == 0 {
		m.Permute(s, sigma[:n], &tmp)
		return m.Encode(dst, &tmp)
	}
	var best, cand [maxEncoded]byte
	var bestLen int
	first := true
	for {
		m.Permute(s, sigma[:n], &tmp)
		enc := m.Encode(cand[:0], &tmp)
		if first || bytes.Compare(enc, best[:bestLen]) < 0 {
			bestLen = copy(best[:], enc)
			first = false
		}
		g := nt - 1
		for ; g >= 0; g-- {
			if nextPermutation(sigma[ties[g][0]:ties[g][1]]) {
				break
			}
		}
		if g < 0 {
			break
		}
	}
	return append(dst, best[:bestLen]...)
}

// nextPermutation rearranges p into the next permutation in lexicographic
// order and reports true, or, at the last one, back into the first (sorted)
// and reports false.
func nextPermutation(p []uint8) bool {
	i := len(p) - 2
	for i >= 0 && p[i] >= p[i+1] {
		i--
	}
	if i < 0 {
		reverse(p)
		return false
	}
	j := len(p) - 1
	for p[j] <= p[i] {
		j--
	}
	p[i], p[j] = p[j], p[i]
	reverse(p[i+1:])
	return true
}

func reverse(p []uint8) {
	for i, j := 0, len(p)-1; i < j; i, j = i+1, j-1 {
		p[i], p[j] = p[j], p[i]
	}
}
