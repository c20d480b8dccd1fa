package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/raftcheck/raftcheck/spec"
)

// Record framing (all integers little-endian):
//
//	[0:4]  length  uint32: number of bytes after the 8-byte frame header (type + payload), >= 1
//	[4:8]  crc     uint32: CRC-32C (Castagnoli) of bytes [0:4] followed by [8:8+length]
//	[8]    type    one of the rec* constants
//	[9:]   payload type-specific, see the payload* sizes below
//
// The CRC covers the length field too, so a damaged length is caught as a
// checksum mismatch rather than misread as a short (torn) record.

// recType is the type byte of a record.
type recType uint8

const (
	recHeader    recType = 1 // first record of every segment: version, seq
	recBase      recType = 2 // full state reset: hard state, snapshot, first index
	recHardState recType = 3 // term, votedFor
	recEntry     recType = 4 // index, term, value
	recTruncate  recType = 5 // drop entries after index
	recSnapshot  recType = 6 // install snapshot: index, term, data
	// The same records for a configuration (membership changes): they
	// carry the configuration's voters, outgoing voters and learners
	// after the index and term. The plain types are written whenever
	// there is none, so a WAL without membership changes is unchanged.
	recConfEntry    recType = 7 // index, term, configuration, value
	recSnapshotConf recType = 8 // index, term, configuration, data
	recBaseConf     recType = 9 // base payload, snapshot configuration, data
)

var recTypeNames = [...]string{"", "header", "base", "hardstate", "entry", "truncate", "snapshot", "conf-entry", "conf-snapshot", "conf-base"}

// isBase reports whether t is a base record, with a configuration or not.
func (t recType) isBase() bool { return t == recBase || t == recBaseConf }

func (t recType) String() string {
	if t >= 1 && int(t) < len(recTypeNames) {
		return recTypeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

const (
	frameLen = 8 // length + crc

	formatVersion = 1

	payloadHeader    = 1 + 8         // version, seq
	payloadHardState = 8 + 1         // term, votedFor
	payloadBaseFixed = 9 + 8 + 8 + 8 // hard state, snapshot index, snapshot term, first index; then snapshot data
	payloadEntryMin  = 8 + 8         // index, term; then value
	payloadTruncate  = 8             // after index
	payloadSnapMin   = 8 + 8         // index, term; then data
	payloadConf      = 3             // voters, outgoing, learners (spec.Members)
)

// MaxRecordSize bounds the length field of a record (type byte plus
// payload). It caps the size of one entry value and of one snapshot, and
// keeps a damaged length field from making recovery allocate or read
// gigabytes.
const MaxRecordSize = 1 << 30

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errShort marks a record that runs past the end of the available bytes:
// the signature of a write torn by a crash.
var errShort = errors.New("incomplete record")

// record is one decoded record. Which fields are meaningful depends on typ.
type record struct {
	typ     recType
	version uint8              // header
	seq     uint64             // header
	hs      HardState          // hardstate, base
	index   spec.Index         // entry, truncate (after), snapshot, base (snapshot index)
	term    spec.Term          // entry, snapshot, base (snapshot term)
	first   spec.Index         // base
	conf    spec.Configuration // conf-entry, conf-snapshot, conf-base (snapshot's)
	data    []byte             // entry value, snapshot/base snapshot data (aliases the input)
}

// beginRecord appends a frame header placeholder and the type byte; the
// caller appends the payload and calls endRecord with the returned start.
func beginRecord(dst []byte, t recType) ([]byte, int) {
	start := len(dst)
	return append(dst, 0, 0, 0, 0, 0, 0, 0, 0, byte(t)), start
}

// endRecord fills in the length and CRC of the record that begins at start.
func endRecord(dst []byte, start int) []byte {
	n := len(dst) - start - frameLen
	binary.LittleEndian.PutUint32(dst[start:], uint32(n))
	binary.LittleEndian.PutUint32(dst[start+4:], recordCRC(dst[start:start+4], dst[start+frameLen:]))
	return dst
}

func recordCRC(length, body []byte) uint32 {
	return crc32.Update(crc32.Update(0, castagnoli, length), castagnoli, body)
}

func appendHeader(dst []byte, seq uint64) []byte {
	dst, s := beginRecord(dst, recHeader)
	dst = append(dst, formatVersion)
	dst = binary.LittleEndian.AppendUint64(dst, seq)
	return endRecord(dst, s)
}

func appendHardStateBytes(dst []byte, hs HardState) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, uint64(hs.Term))
	return append(dst, byte(hs.VotedFor))
}

func appendHardState(dst []byte, hs HardState) []byte {
	dst, s := beginRecord(dst, recHardState)
	return endRecord(appendHardStateBytes(dst, hs), s)
}

// appendIndexed appends a record whose payload is index, term, then bytes:
// entries and snapshots.
func appendIndexed(dst []byte, t recType, index spec.Index, term spec.Term, data string) []byte {
	dst, s := beginRecord(dst, t)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(index))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(term))
	return endRecord(append(dst, data...), s)
}

// appendConfIndexed is appendIndexed with a configuration after the term.
func appendConfIndexed(dst []byte, t recType, index spec.Index, term spec.Term, c spec.Configuration, data string) []byte {
	dst, s := beginRecord(dst, t)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(index))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(term))
	dst = appendConf(dst, c)
	return endRecord(append(dst, data...), s)
}

func appendConf(dst []byte, c spec.Configuration) []byte {
	return append(dst, byte(c.Voters), byte(c.Outgoing), byte(c.Learners))
}

func appendEntry(dst []byte, index spec.Index, e spec.Entry) []byte {
	if e.Config != 0 {
		return appendConfIndexed(dst, recConfEntry, index, e.Term, e.Configuration(), string(e.Value))
	}
	return appendIndexed(dst, recEntry, index, e.Term, string(e.Value))
}

func appendSnapshot(dst []byte, snap *Snapshot) []byte {
	if snap.Config.Voters != 0 {
		return appendConfIndexed(dst, recSnapshotConf, snap.Index, snap.Term, snap.Config, string(snap.Data))
	}
	return appendIndexed(dst, recSnapshot, snap.Index, snap.Term, string(snap.Data))
}

func appendTruncate(dst []byte, after spec.Index) []byte {
	dst, s := beginRecord(dst, recTruncate)
	return endRecord(binary.LittleEndian.AppendUint64(dst, uint64(after)), s)
}

// appendBase appends a base record for st followed by one entry record per
// retained entry: everything a compacted segment needs to stand alone.
func appendBase(dst []byte, st *State) []byte {
	var snap Snapshot
	if st.Snapshot != nil {
		snap = *st.Snapshot
	}
	t := recBase
	if snap.Config.Voters != 0 {
		t = recBaseConf
	}
	dst, s := beginRecord(dst, t)
	dst = appendHardStateBytes(dst, st.HardState)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(snap.Index))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(snap.Term))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(st.FirstIndex))
	if t == recBaseConf {
		dst = appendConf(dst, snap.Config)
	}
	dst = endRecord(append(dst, snap.Data...), s)
	for k, e := range st.Entries {
		dst = appendEntry(dst, st.FirstIndex+spec.Index(k), e)
	}
	return dst
}

// decodeRecord decodes the record at the start of b and returns it with
// its encoded size. Any error means b does not start with an intact record;
// errShort (wrapped) means it may be the prefix of one. It never panics.
func decodeRecord(b []byte) (record, int, error) {
	if len(b) < frameLen {
		return record{}, 0, fmt.Errorf("%w: %d of %d frame header bytes", errShort, len(b), frameLen)
	}
	n := binary.LittleEndian.Uint32(b)
	if n == 0 || n > MaxRecordSize {
		return record{}, 0, fmt.Errorf("bad record length %d", n)
	}
	if uint64(len(b)-frameLen) < uint64(n) {
		return record{}, 0, fmt.Errorf("%w: length %d but only %d bytes follow", errShort, n, len(b)-frameLen)
	}
	body := b[frameLen : frameLen+int(n)]
	if got, want := recordCRC(b[:4], body), binary.LittleEndian.Uint32(b[4:]); got != want {
		return record{}, 0, fmt.Errorf("checksum mismatch")
	}
	r := record{typ: recType(body[0])}
	p := body[1:]
	u64 := func(off int) uint64 { return binary.LittleEndian.Uint64(p[off:]) }
	size := func(want int, exact bool) error {
		if len(p) < want || (exact && len(p) != want) {
			return fmt.Errorf("malformed %v record: %d payload bytes", r.typ, len(p))
		}
		return nil
	}
	switch r.typ {
	case recHeader:
		if err := size(payloadHeader, true); err != nil {
			return record{}, 0, err
		}
		r.version, r.seq = p[0], binary.LittleEndian.Uint64(p[1:])
	case recHardState:
		if err := size(payloadHardState, true); err != nil {
			return record{}, 0, err
		}
		r.hs = HardState{Term: spec.Term(u64(0)), VotedFor: spec.ServerID(p[8])}
	case recBase, recBaseConf:
		fixed := payloadBaseFixed
		if r.typ == recBaseConf {
			fixed += payloadConf
		}
		if err := size(fixed, false); err != nil {
			return record{}, 0, err
		}
		r.hs = HardState{Term: spec.Term(u64(0)), VotedFor: spec.ServerID(p[8])}
		r.index, r.term, r.first = spec.Index(u64(9)), spec.Term(u64(17)), spec.Index(u64(25))
		if r.typ == recBaseConf {
			r.conf = decodeConf(p[payloadBaseFixed:])
		}
		r.data = p[fixed:]
	case recEntry, recSnapshot:
		if err := size(payloadEntryMin, false); err != nil {
			return record{}, 0, err
		}
		r.index, r.term, r.data = spec.Index(u64(0)), spec.Term(u64(8)), p[16:]
	case recConfEntry, recSnapshotConf:
		if err := size(payloadEntryMin+payloadConf, false); err != nil {
			return record{}, 0, err
		}
		r.index, r.term = spec.Index(u64(0)), spec.Term(u64(8))
		r.conf, r.data = decodeConf(p[16:]), p[16+payloadConf:]
	case recTruncate:
		if err := size(payloadTruncate, true); err != nil {
			return record{}, 0, err
		}
		r.index = spec.Index(u64(0))
	default:
		return record{}, 0, fmt.Errorf("unknown record type %d", body[0])
	}
	if (r.typ == recConfEntry || r.typ == recSnapshotConf || r.typ == recBaseConf) && r.conf.Voters == 0 {
		return record{}, 0, fmt.Errorf("malformed %v record: a configuration without voters", r.typ)
	}
	return r, frameLen + int(n), nil
}

func decodeConf(b []byte) spec.Configuration {
	return spec.Configuration{Voters: spec.Members(b[0]), Outgoing: spec.Members(b[1]), Learners: spec.Members(b[2])}
}

// entry is the log entry of an entry or conf-entry record.
func (r *record) entry() spec.Entry {
	return spec.Entry{Term: r.term, Value: spec.Value(r.data), Config: r.conf.Voters, Outgoing: r.conf.Outgoing, Learners: r.conf.Learners}
}

// encode re-encodes a decoded record; decodeRecord(encode(r)) == r. Used by
// the fuzz target to check that decoding loses nothing.
func (r *record) encode() []byte {
	switch r.typ {
	case recHeader:
		dst, s := beginRecord(nil, recHeader)
		dst = append(dst, r.version)
		return endRecord(binary.LittleEndian.AppendUint64(dst, r.seq), s)
	case recHardState:
		return appendHardState(nil, r.hs)
	case recBase, recBaseConf:
		st := State{HardState: r.hs, FirstIndex: r.first, Snapshot: &Snapshot{Index: r.index, Term: r.term, Config: r.conf, Data: r.data}}
		return appendBase(nil, &st)
	case recEntry, recSnapshot:
		return appendIndexed(nil, r.typ, r.index, r.term, string(r.data))
	case recConfEntry, recSnapshotConf:
		return appendConfIndexed(nil, r.typ, r.index, r.term, r.conf, string(r.data))
	case recTruncate:
		return appendTruncate(nil, r.index)
	}
	return nil
}

// findRecord reports the offset of the first intact record in b at or
// after from, or -1. Recovery uses it to tell a torn tail (nothing intact
// follows the damage) from corruption in the middle (something does).
func findRecord(b []byte, from int) int {
	for off := from; off+frameLen < len(b); off++ {
		if _, _, err := decodeRecord(b[off:]); err == nil {
			return off
		}
	}
	return -1
}
