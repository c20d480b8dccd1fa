package tlaraft

import (
	"fmt"
	"strings"
)

// MsgType is a message's mtype.
type MsgType uint8

// The message types of raft.tla.
const (
	RequestVoteRequest MsgType = iota
	RequestVoteResponse
	AppendEntriesRequest
	AppendEntriesResponse
)

var msgTypeNames = [...]string{"RequestVoteRequest", "RequestVoteResponse", "AppendEntriesRequest", "AppendEntriesResponse"}

// String returns the mtype's name in raft.tla.
func (t MsgType) String() string {
	if int(t) < len(msgTypeNames) {
		return msgTypeNames[t]
	}
	return fmt.Sprintf("MsgType(%d)", uint8(t))
}

// Entry is a log entry [term |-> Term, value |-> Value]; the zero Entry is
// "no entry" (terms start at 1).
type Entry struct {
	Term, Value uint8
}

// Msg is a message record of raft.tla without the proof-only mlog field.
// Servers are 0-based here and printed 1-based. Only the fields of its
// Type are meaningful; the others are zero.
type Msg struct {
	Type     MsgType
	Term     uint8
	Src, Dst uint8
	// RequestVoteRequest.
	LastLogTerm, LastLogIndex uint8
	// RequestVoteResponse.
	VoteGranted bool
	// AppendEntriesRequest: Entry is mentries[1] when Entry.Term > 0, and
	// mentries is << >> otherwise.
	PrevLogIndex, PrevLogTerm uint8
	Entry                     Entry
	CommitIndex               uint8
	// AppendEntriesResponse.
	Success    bool
	MatchIndex uint8
}

// A message packs into a 29-bit key; a bag entry is key<<countBits | count,
// so sorting entries sorts by key and a bag is a sorted array of entries.
// The layout is fixed (not sized to the configuration) so that packing
// needs only constant shifts and an Action prints without its Model:
//
//	bits 27-28 type, 23-26 term, 20-22 src, 17-19 dst, then per type:
//	RequestVoteRequest:    13-16 mlastLogTerm, 10-12 mlastLogIndex
//	RequestVoteResponse:   16 mvoteGranted
//	AppendEntriesRequest:  14-16 mprevLogIndex, 10-13 mprevLogTerm,
//	                       6-9 entry term, 3-5 entry value-1, 0-2 mcommitIndex
//	AppendEntriesResponse: 16 msuccess, 13-15 mmatchIndex
const (
	countBits = 3
	countMask = 1<<countBits - 1
)

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// key packs m.
func (m Msg) key() uint32 {
	k := uint32(m.Type)<<27 | uint32(m.Term)<<23 | uint32(m.Src)<<20 | uint32(m.Dst)<<17
	switch m.Type {
	case RequestVoteRequest:
		k |= uint32(m.LastLogTerm)<<13 | uint32(m.LastLogIndex)<<10
	case RequestVoteResponse:
		k |= b2u(m.VoteGranted) << 16
	case AppendEntriesRequest:
		k |= uint32(m.PrevLogIndex)<<14 | uint32(m.PrevLogTerm)<<10 | uint32(m.CommitIndex)
		if m.Entry.Term > 0 {
			k |= uint32(m.Entry.Term)<<6 | uint32(m.Entry.Value-1)<<3
		}
	case AppendEntriesResponse:
		k |= b2u(m.Success)<<16 | uint32(m.MatchIndex)<<13
	}
	return k
}

// unpack is the inverse of key.
func unpack(k uint32) Msg {
	m := Msg{Type: MsgType(k >> 27 & 3), Term: uint8(k >> 23 & 15), Src: uint8(k >> 20 & 7), Dst: uint8(k >> 17 & 7)}
	switch m.Type {
	case RequestVoteRequest:
		m.LastLogTerm, m.LastLogIndex = uint8(k>>13&15), uint8(k>>10&7)
	case RequestVoteResponse:
		m.VoteGranted = k>>16&1 == 1
	case AppendEntriesRequest:
		m.PrevLogIndex, m.PrevLogTerm, m.CommitIndex = uint8(k>>14&7), uint8(k>>10&15), uint8(k&7)
		if t := uint8(k >> 6 & 15); t > 0 {
			m.Entry = Entry{Term: t, Value: uint8(k>>3&7) + 1}
		}
	case AppendEntriesResponse:
		m.Success, m.MatchIndex = k>>16&1 == 1, uint8(k>>13&7)
	}
	return m
}

// withServers returns key k with source and destination renamed by p.
func withServers(k uint32, p *[MaxServers]uint8) uint32 {
	src, dst := k>>20&7, k>>17&7
	return k&^(63<<17) | uint32(p[src])<<20 | uint32(p[dst])<<17
}

// String renders m in the vocabulary of raft.tla, servers 1-based, e.g.
// "AppendEntriesRequest 1→2 term 2 prev 1/1 entries [2:v1] commit 1".
func (m Msg) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v %d→%d term %d", m.Type, m.Src+1, m.Dst+1, m.Term)
	switch m.Type {
	case RequestVoteRequest:
		fmt.Fprintf(&b, " lastLog %d/%d", m.LastLogIndex, m.LastLogTerm)
	case RequestVoteResponse:
		fmt.Fprintf(&b, " granted %t", m.VoteGranted)
	case AppendEntriesRequest:
		fmt.Fprintf(&b, " prev %d/%d entries [", m.PrevLogIndex, m.PrevLogTerm)
		if m.Entry.Term > 0 {
			b.WriteString(m.Entry.String())
		}
		fmt.Fprintf(&b, "] commit %d", m.CommitIndex)
	case AppendEntriesResponse:
		fmt.Fprintf(&b, " success %t match %d", m.Success, m.MatchIndex)
	}
	return b.String()
}

// String renders e as term:value, e.g. "2:v1".
func (e Entry) String() string { return fmt.Sprintf("%d:v%d", e.Term, e.Value) }
