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

// Configuration is a cluster configuration in full: the voters, the
// outgoing voters while a joint change is in progress (C_old of C_old,new:
// a decision then needs a majority of each, paper §6), and the non-voting
// learners (thesis §4.2.1). The zero Outgoing means "not joint".
type Configuration struct {
	Voters   Members `json:"voters"`
	Outgoing Members `json:"outgoing,omitempty"`
	Learners Members `json:"learners,omitempty"`
}

// Joint reports whether the configuration is a joint one, C_old,new.
func (c Configuration) Joint() bool { return c.Outgoing != 0 }

// Voter reports whether id votes in c: it is in C_new or in C_old.
func (c Configuration) Voter(id ServerID) bool { return c.Voters.Has(id) || c.Outgoing.Has(id) }

// Members is every server c replicates to: voters of both halves and
// learners.
func (c Configuration) Members() Members { return c.Voters | c.Outgoing | c.Learners }

// HasQuorum reports whether the servers in acks decide in c: a majority of
// the voters and, while joint, a majority of the outgoing voters too.
func (c Configuration) HasQuorum(acks Members) bool {
	if (acks & c.Voters).Size() < c.Voters.Quorum() {
		return false
	}
	return !c.Joint() || (acks&c.Outgoing).Size() >= c.Outgoing.Quorum()
}

// String renders c as {S1,S2}, {S1,S2}&{S1,S3} when joint (C_new&C_old),
// with +{S4} for learners.
func (c Configuration) String() string {
	s := c.Voters.String()
	if c.Joint() {
		s += "&" + c.Outgoing.String()
	}
	if c.Learners != 0 {
		s += "+" + c.Learners.String()
	}
	return s
}

// ConfigurationOf is ConfigOf in full: the configuration of the last
// configuration entry of log, or initial.
func ConfigurationOf(log []Entry, initial Configuration) Configuration {
	for k := len(log) - 1; k >= 0; k-- {
		if log[k].Config != 0 {
			return log[k].Configuration()
		}
	}
	return initial
}

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
