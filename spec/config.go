package spec

import (
	"math/bits"
	"strings"
)

// Members is a configuration: the set of voting members of a cluster, bit
// i-1 set for server Si (thesis §4.1). The zero value means "no
// configuration given": the properties then take every server as a member,
// which is the fixed cluster of the paper.
type Members uint8

// Has reports whether id is a member.
func (c Members) Has(id ServerID) bool { return id >= 1 && c&(1<<(id-1)) != 0 }

// Size is the number of members.
func (c Members) Size() int { return bits.OnesCount8(uint8(c)) }

// Quorum is the smallest majority of the members (§4.1: a majority of the
// configuration in effect).
func (c Members) Quorum() int { return Quorum(c.Size()) }

// IDs lists the members in increasing order.
func (c Members) IDs() []ServerID {
	var out []ServerID
	for id := ServerID(1); id <= MaxServers; id++ {
		if c.Has(id) {
			out = append(out, id)
		}
	}
	return out
}

// SingleChange reports whether d differs from c by at most one server,
// the condition under which every majority of c meets every majority of d
// (thesis §4.2, Figure 4.3).
func (c Members) SingleChange(d Members) bool { return bits.OnesCount8(uint8(c^d)) <= 1 }

// String renders the configuration as {S1,S2,S3}.
func (c Members) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, id := range c.IDs() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(id.String())
	}
	b.WriteByte('}')
	return b.String()
}

// AllServers is the configuration of every server of an n-server cluster.
func AllServers(n int) Members { return Members(1<<n - 1) }

// ConfigOf returns the configuration in effect for a server with this log:
// the last configuration entry in it, snapshot included (§4.1: "a server
// always uses the latest configuration in its log, regardless of whether
// the entry is committed"), or initial when there is none.
func ConfigOf(log []Entry, initial Members) Members {
	for k := len(log) - 1; k >= 0; k-- {
		if log[k].Config != 0 {
			return log[k].Config
		}
	}
	return initial
}
