package validate

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"

	"github.com/raftcheck/raftcheck/spec"
)

// ContentID is a message id derived from the message itself: the sender
// and a 64-bit FNV-1a hash of every field. An implementation that cannot
// carry ids on the wire can log ContentID on both sides, sender and
// receiver computing the same id from the same message; a message sent
// twice with identical content then counts as one message delivered
// twice, which explains exactly the same receptions.
func ContentID(m *spec.Message) string {
	h := fnv.New64a()
	var b []byte
	b = append(b, byte(m.Type), byte(m.From), byte(m.To))
	for _, x := range []uint64{uint64(m.Term), uint64(m.LastLogIndex), uint64(m.LastLogTerm), uint64(m.PrevLogIndex),
		uint64(m.PrevLogTerm), uint64(m.LeaderCommit), uint64(m.MatchIndex), uint64(m.LastIncludedIndex), uint64(m.LastIncludedTerm)} {
		b = binary.AppendUvarint(b, x)
	}
	b = append(b, boolByte(m.Granted), boolByte(m.Success))
	b = binary.AppendUvarint(b, uint64(len(m.Entries)))
	for _, e := range m.Entries {
		b = binary.AppendUvarint(b, uint64(e.Term))
		b = binary.AppendUvarint(b, uint64(len(e.Value)))
		b = append(b, e.Value...)
		b = append(b, byte(e.Config), byte(e.Outgoing), byte(e.Learners))
	}
	h.Write(b)
	return fmt.Sprintf("%v~%016x", m.From, h.Sum64())
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}
