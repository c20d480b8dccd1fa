package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"

	"github.com/raftcheck/raftcheck/spec"
)

// Frame layout (README.md has the byte-by-byte description):
//
//	[0:4] length  uint32 big-endian: bytes after this field (kind + body), 1..MaxFrameSize
//	[4]   kind    high nibble: protocol version (1); low nibble: frame type
//	[5:]  body    type-specific; integers are canonical (minimal) uvarints
//
// Decoding is strict: every byte must be accounted for, every count is
// bounded by the bytes that remain, varints must be minimal and booleans
// 0 or 1, so that each value has exactly one encoding and junk is refused
// early with a one-line error.

// Version is the protocol version carried in every frame's kind byte.
const Version = 1

// DefaultMaxFrameSize bounds a frame's length field unless
// Config.MaxFrameSize says otherwise; DecodeFrame always uses it.
const DefaultMaxFrameSize = 16 << 20

const lenPrefix = 4

// Kind is the type of a frame.
type Kind uint8

// The frame types. Hello opens every connection; Message carries a
// spec.Message; the snapshot kinds are extensions for what spec.Message
// does not cover (Figure 13, InstallSnapshot).
const (
	KindHello                   Kind = 1
	KindMessage                 Kind = 2
	KindInstallSnapshot         Kind = 3
	KindInstallSnapshotResponse Kind = 4
)

var kindNames = [...]string{"", "hello", "message", "install-snapshot", "install-snapshot-response"}

// String returns the kind's name.
func (k Kind) String() string {
	if k >= KindHello && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// InstallSnapshot is one chunk of a snapshot sent by a leader (Figure 13):
// the chunk Data starts at byte Offset of the snapshot, and Done marks the
// last chunk.
type InstallSnapshot struct {
	Term              spec.Term
	Leader            spec.ServerID
	To                spec.ServerID
	LastIncludedIndex spec.Index
	LastIncludedTerm  spec.Term
	// Config is the configuration in effect at LastIncludedIndex (thesis
	// §4.1: a snapshot carries the latest configuration it covers), zero
	// when the snapshot covers no configuration entry.
	Config spec.Configuration
	Offset uint64
	Data   []byte
	Done   bool
}

// InstallSnapshotResponse answers an InstallSnapshot chunk: the follower's
// Term (Figure 13), and which snapshot and how many bytes of it the
// follower now holds, so the leader can continue or restart.
type InstallSnapshotResponse struct {
	Term              spec.Term
	From              spec.ServerID
	To                spec.ServerID
	LastIncludedIndex spec.Index
	Received          uint64
}

// Frame is one decoded frame. Kind says which one field is meaningful.
type Frame struct {
	Kind             Kind
	Hello            spec.ServerID // KindHello: the id of the server that opened the connection
	Message          spec.Message
	Snapshot         InstallSnapshot
	SnapshotResponse InstallSnapshotResponse
}

// From is the sender of the frame.
func (f *Frame) From() spec.ServerID { from, _ := f.endpoints(); return from }

// To is the receiver of the frame (None for a hello, which is addressed
// to whoever accepted the connection).
func (f *Frame) To() spec.ServerID { _, to := f.endpoints(); return to }

func (f *Frame) endpoints() (from, to spec.ServerID) {
	switch f.Kind {
	case KindHello:
		return f.Hello, spec.None
	case KindMessage:
		return f.Message.From, f.Message.To
	case KindInstallSnapshot:
		return f.Snapshot.Leader, f.Snapshot.To
	case KindInstallSnapshotResponse:
		return f.SnapshotResponse.From, f.SnapshotResponse.To
	}
	return spec.None, spec.None
}

// Validate reports the first structural problem of f.
func (f *Frame) Validate() error {
	endpoints := func(from, to spec.ServerID) error {
		if from == spec.None || to == spec.None || from == to {
			return fmt.Errorf("from/to: %v to %v (need two distinct servers)", from, to)
		}
		return nil
	}
	switch f.Kind {
	case KindHello:
		if f.Hello == spec.None {
			return fmt.Errorf("hello: sender id 0")
		}
	case KindMessage:
		for k, e := range f.Message.Entries {
			if c := e.Configuration(); c != (spec.Configuration{}) && e.Value != "" {
				return fmt.Errorf("entries[%d]: a configuration entry (%v) carries no value", k, c)
			}
		}
		return f.Message.Validate()
	case KindInstallSnapshot:
		s := &f.Snapshot
		if s.Term == 0 || s.LastIncludedIndex == 0 || s.LastIncludedTerm == 0 || s.LastIncludedTerm > s.Term {
			return fmt.Errorf("install-snapshot: term %d, last included index %d term %d (all at least 1, last included term at most term)",
				s.Term, s.LastIncludedIndex, s.LastIncludedTerm)
		}
		return endpoints(s.Leader, s.To)
	case KindInstallSnapshotResponse:
		if f.SnapshotResponse.Term == 0 {
			return fmt.Errorf("install-snapshot-response: term 0")
		}
		return endpoints(f.SnapshotResponse.From, f.SnapshotResponse.To)
	default:
		return fmt.Errorf("unknown frame kind %d", f.Kind)
	}
	return nil
}

// Encode returns the frame carrying m, or an error if m is not valid.
func Encode(m *spec.Message) ([]byte, error) {
	return EncodeFrame(&Frame{Kind: KindMessage, Message: *m})
}

// Decode decodes one complete frame (length prefix included) that must
// carry a spec.Message.
func Decode(b []byte) (spec.Message, error) {
	f, err := DecodeFrame(b)
	if err != nil {
		return spec.Message{}, err
	}
	if f.Kind != KindMessage {
		return spec.Message{}, fmt.Errorf("transport: decode: %v frame where a message was expected", f.Kind)
	}
	return f.Message, nil
}

// EncodeFrame validates f and returns its encoding, length prefix
// included.
func EncodeFrame(f *Frame) ([]byte, error) {
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("transport: encode %v: %w", f.Kind, err)
	}
	size := 64 + len(f.Snapshot.Data) // fixed fields take at most 64 bytes
	for _, e := range f.Message.Entries {
		size += 2*binary.MaxVarintLen64 + 3 + len(e.Value)
	}
	b := append(make([]byte, lenPrefix, size), Version<<4|byte(f.Kind))
	switch f.Kind {
	case KindHello:
		b = append(b, byte(f.Hello))
	case KindMessage:
		b = appendMessage(b, &f.Message)
	case KindInstallSnapshot:
		s := &f.Snapshot
		b = binary.AppendUvarint(b, uint64(s.Term))
		b = append(b, byte(s.Leader), byte(s.To))
		b = binary.AppendUvarint(b, uint64(s.LastIncludedIndex))
		b = binary.AppendUvarint(b, uint64(s.LastIncludedTerm))
		b = appendConfig(b, s.Config)
		b = binary.AppendUvarint(b, s.Offset)
		b = appendBool(b, s.Done)
		b = binary.AppendUvarint(b, uint64(len(s.Data)))
		b = append(b, s.Data...)
	case KindInstallSnapshotResponse:
		r := &f.SnapshotResponse
		b = binary.AppendUvarint(b, uint64(r.Term))
		b = append(b, byte(r.From), byte(r.To))
		b = binary.AppendUvarint(b, uint64(r.LastIncludedIndex))
		b = binary.AppendUvarint(b, r.Received)
	}
	if len(b)-lenPrefix > DefaultMaxFrameSize {
		return nil, fmt.Errorf("transport: encode %v: frame of %d bytes exceeds maximum %d", f.Kind, len(b)-lenPrefix, DefaultMaxFrameSize)
	}
	binary.BigEndian.PutUint32(b, uint32(len(b)-lenPrefix))
	return b, nil
}

// appendConfig encodes a configuration as three member bytes: voters,
// outgoing voters, learners.
func appendConfig(b []byte, c spec.Configuration) []byte {
	return append(b, byte(c.Voters), byte(c.Outgoing), byte(c.Learners))
}

func (d *decoder) config() spec.Configuration {
	return spec.Configuration{Voters: spec.Members(d.byte("voters")), Outgoing: spec.Members(d.byte("outgoing")), Learners: spec.Members(d.byte("learners"))}
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// appendMessage encodes the fields of m's type: type, from, to, term, then
// RequestVote: lastLogIndex, lastLogTerm; RequestVoteResponse: granted;
// AppendEntries: prevLogIndex, prevLogTerm, leaderCommit, entry count,
// then per entry term, value length, value, and for an empty value (a
// configuration entry: clients' values are never empty) its configuration
// (appendConfig); AppendEntriesResponse: success, matchIndex.
func appendMessage(b []byte, m *spec.Message) []byte {
	b = append(b, byte(m.Type), byte(m.From), byte(m.To))
	b = binary.AppendUvarint(b, uint64(m.Term))
	switch m.Type {
	case spec.RequestVote:
		b = binary.AppendUvarint(b, uint64(m.LastLogIndex))
		b = binary.AppendUvarint(b, uint64(m.LastLogTerm))
	case spec.RequestVoteResponse:
		b = appendBool(b, m.Granted)
	case spec.AppendEntries:
		b = binary.AppendUvarint(b, uint64(m.PrevLogIndex))
		b = binary.AppendUvarint(b, uint64(m.PrevLogTerm))
		b = binary.AppendUvarint(b, uint64(m.LeaderCommit))
		b = binary.AppendUvarint(b, uint64(len(m.Entries)))
		for _, e := range m.Entries {
			b = binary.AppendUvarint(b, uint64(e.Term))
			b = binary.AppendUvarint(b, uint64(len(e.Value)))
			b = append(b, e.Value...)
			if e.Value == "" {
				b = appendConfig(b, e.Configuration())
			}
		}
	case spec.AppendEntriesResponse:
		b = appendBool(b, m.Success)
		b = binary.AppendUvarint(b, uint64(m.MatchIndex))
	}
	return b
}

// errProtocol marks errors caused by what a peer sent (as opposed to the
// connection failing): the transport logs them and disconnects the peer.
var errProtocol = errors.New("protocol violation")

// DecodeFrame decodes one complete frame, length prefix included, and
// validates it. Any problem, including trailing bytes, is an error; it
// never panics.
func DecodeFrame(b []byte) (Frame, error) {
	if len(b) < lenPrefix {
		return Frame{}, fmt.Errorf("transport: decode: %d bytes, shorter than the length prefix", len(b))
	}
	n := binary.BigEndian.Uint32(b)
	if err := checkLength(n, DefaultMaxFrameSize); err != nil {
		return Frame{}, fmt.Errorf("transport: decode: %w", err)
	}
	if uint64(len(b)-lenPrefix) != uint64(n) {
		return Frame{}, fmt.Errorf("transport: decode: length prefix says %d bytes, %d follow", n, len(b)-lenPrefix)
	}
	f, err := decodeBody(b[lenPrefix:])
	if err != nil {
		return Frame{}, fmt.Errorf("transport: decode: %w", err)
	}
	return f, nil
}

func checkLength(n uint32, max int) error {
	if n == 0 || uint64(n) > uint64(max) {
		return fmt.Errorf("%w: frame length %d outside 1..%d", errProtocol, n, max)
	}
	return nil
}

// readFrame reads one frame's body (kind + payload) from r, refusing
// lengths above max before allocating.
func readFrame(r io.Reader, max int) ([]byte, error) {
	var p [lenPrefix]byte
	if _, err := io.ReadFull(r, p[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(p[:])
	if err := checkLength(n, max); err != nil {
		return nil, err
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return body, nil
}

// decoder reads a frame body field by field; the first failure sticks
// and later reads return zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
}

func (d *decoder) byte(what string) byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail("%s: truncated", what)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) bool(what string) bool {
	switch v := d.byte(what); v {
	case 0, 1:
		return v == 1
	default:
		d.fail("%s: boolean byte %d", what, v)
		return false
	}
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	switch {
	case n == 0:
		d.fail("%s: truncated varint", what)
	case n < 0:
		d.fail("%s: varint overflows 64 bits", what)
	case n != uvarintLen(v):
		d.fail("%s: non-minimal varint", what)
	default:
		d.b = d.b[n:]
		return v
	}
	return 0
}

func uvarintLen(v uint64) int { return max(1, (bits.Len64(v)+6)/7) }

// bytes reads a length-prefixed byte string, bounded by what remains.
func (d *decoder) bytes(what string) []byte {
	n := d.uvarint(what + " length")
	if d.err != nil || n == 0 {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("%s: length %d but %d bytes remain", what, n, len(d.b))
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func decodeBody(b []byte) (Frame, error) {
	d := &decoder{b: b}
	kind := d.byte("kind")
	if v := kind >> 4; v != Version {
		return Frame{}, fmt.Errorf("%w: protocol version %d, want %d", errProtocol, v, Version)
	}
	f := Frame{Kind: Kind(kind & 0x0f)}
	switch f.Kind {
	case KindHello:
		f.Hello = spec.ServerID(d.byte("hello id"))
	case KindMessage:
		f.Message = decodeMessage(d)
	case KindInstallSnapshot:
		s := &f.Snapshot
		s.Term = spec.Term(d.uvarint("term"))
		s.Leader, s.To = spec.ServerID(d.byte("leader")), spec.ServerID(d.byte("to"))
		s.LastIncludedIndex = spec.Index(d.uvarint("last included index"))
		s.LastIncludedTerm = spec.Term(d.uvarint("last included term"))
		s.Config = d.config()
		s.Offset = d.uvarint("offset")
		s.Done = d.bool("done")
		s.Data = d.bytes("data")
	case KindInstallSnapshotResponse:
		r := &f.SnapshotResponse
		r.Term = spec.Term(d.uvarint("term"))
		r.From, r.To = spec.ServerID(d.byte("from")), spec.ServerID(d.byte("to"))
		r.LastIncludedIndex = spec.Index(d.uvarint("last included index"))
		r.Received = d.uvarint("received")
	default:
		return Frame{}, fmt.Errorf("%w: unknown frame type %d", errProtocol, kind&0x0f)
	}
	if d.err != nil {
		return Frame{}, fmt.Errorf("%w: %v frame: %v", errProtocol, f.Kind, d.err)
	}
	if len(d.b) != 0 {
		return Frame{}, fmt.Errorf("%w: %v frame: %d trailing bytes", errProtocol, f.Kind, len(d.b))
	}
	if err := f.Validate(); err != nil {
		return Frame{}, fmt.Errorf("%w: invalid %v: %v", errProtocol, f.Kind, err)
	}
	return f, nil
}

func decodeMessage(d *decoder) spec.Message {
	m := spec.Message{Type: spec.MsgType(d.byte("type"))}
	m.From, m.To = spec.ServerID(d.byte("from")), spec.ServerID(d.byte("to"))
	m.Term = spec.Term(d.uvarint("term"))
	switch m.Type {
	case spec.RequestVote:
		m.LastLogIndex = spec.Index(d.uvarint("last log index"))
		m.LastLogTerm = spec.Term(d.uvarint("last log term"))
	case spec.RequestVoteResponse:
		m.Granted = d.bool("granted")
	case spec.AppendEntries:
		m.PrevLogIndex = spec.Index(d.uvarint("prev log index"))
		m.PrevLogTerm = spec.Term(d.uvarint("prev log term"))
		m.LeaderCommit = spec.Index(d.uvarint("leader commit"))
		n := d.uvarint("entry count")
		// Each entry takes at least two bytes: bound the allocation by
		// what the frame can hold.
		if n > uint64(len(d.b))/2 {
			d.fail("entry count %d but %d bytes remain", n, len(d.b))
			return m
		}
		if n > 0 {
			m.Entries = make([]spec.Entry, n)
		}
		for k := range m.Entries {
			m.Entries[k].Term = spec.Term(d.uvarint("entry term"))
			e := &m.Entries[k]
			e.Value = spec.Value(d.bytes("entry value"))
			if e.Value == "" {
				c := d.config()
				e.Config, e.Outgoing, e.Learners = c.Voters, c.Outgoing, c.Learners
			}
		}
	case spec.AppendEntriesResponse:
		m.Success = d.bool("success")
		m.MatchIndex = spec.Index(d.uvarint("match index"))
	default:
		d.fail("unknown message type %d", m.Type)
	}
	return m
}
