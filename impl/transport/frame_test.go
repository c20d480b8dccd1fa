package transport

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"

	fuzz "github.com/google/gofuzz"

	"github.com/raftcheck/raftcheck/spec"
)

// sampleFrames is one frame of every kind and message type, with edge
// values: the round-trip cases and the fuzz seed corpus.
func sampleFrames() []Frame {
	return []Frame{
		{Kind: KindHello, Hello: 3},
		{Kind: KindMessage, Message: spec.Message{Type: spec.RequestVote, From: 1, To: 2, Term: 5, LastLogIndex: 9, LastLogTerm: 4}},
		{Kind: KindMessage, Message: spec.Message{Type: spec.RequestVoteResponse, From: 2, To: 1, Term: 5, Granted: true}},
		{Kind: KindMessage, Message: spec.Message{Type: spec.RequestVoteResponse, From: 2, To: 1, Term: 1 << 63}},
		{Kind: KindMessage, Message: spec.Message{Type: spec.AppendEntries, From: 1, To: 3, Term: 7, PrevLogIndex: 300, PrevLogTerm: 6,
			LeaderCommit: 299, Entries: []spec.Entry{{Term: 6, Value: "set x 1"}, {Term: 7}, {Term: 7, Value: "\x00\xff"}}}},
		{Kind: KindMessage, Message: spec.Message{Type: spec.AppendEntries, From: 1, To: 3, Term: 7}},
		{Kind: KindMessage, Message: spec.Message{Type: spec.AppendEntries, From: 1, To: 4, Term: 7, Entries: []spec.Entry{
			{Term: 7, Config: 0b111, Learners: 0b1000}, {Term: 7, Config: 0b1011, Outgoing: 0b111}, {Term: 7, Value: "v"}}}},
		{Kind: KindMessage, Message: spec.Message{Type: spec.AppendEntriesResponse, From: 3, To: 1, Term: 7, Success: true, MatchIndex: 303}},
		{Kind: KindInstallSnapshot, Snapshot: InstallSnapshot{Term: 8, Leader: 1, To: 2, LastIncludedIndex: 1000, LastIncludedTerm: 8,
			Offset: 65536, Data: []byte("chunk of the key-value map"), Done: true}},
		{Kind: KindInstallSnapshot, Snapshot: InstallSnapshot{Term: 8, Leader: 1, To: 5, LastIncludedIndex: 1000, LastIncludedTerm: 8,
			Config: spec.Configuration{Voters: 0b1111, Learners: 0b10000}, Data: []byte("x")}},
		{Kind: KindInstallSnapshotResponse, SnapshotResponse: InstallSnapshotResponse{Term: 8, From: 2, To: 1, LastIncludedIndex: 1000, Received: 65562}},
	}
}

func mustEncode(t testing.TB, f *Frame) []byte {
	t.Helper()
	b, err := EncodeFrame(f)
	if err != nil {
		t.Fatalf("EncodeFrame(%+v): %v", f, err)
	}
	return b
}

func TestFrameRoundTrip(t *testing.T) {
	for _, f := range sampleFrames() {
		b := mustEncode(t, &f)
		got, err := DecodeFrame(b)
		if err != nil {
			t.Fatalf("%v: DecodeFrame: %v", f.Kind, err)
		}
		if !reflect.DeepEqual(got, f) {
			t.Fatalf("%v: round trip\n got %+v\nwant %+v", f.Kind, got, f)
		}
		if f.Kind == KindMessage {
			m, err := Decode(b)
			if err != nil || !m.Equal(&f.Message) {
				t.Fatalf("Decode = %+v, %v", m, err)
			}
			if enc, err := Encode(&f.Message); err != nil || !bytes.Equal(enc, b) {
				t.Fatalf("Encode = %x, %v; want %x", enc, err, b)
			}
		}
	}
}

// TestWireFormatIsStable pins the byte layout README.md documents.
func TestWireFormatIsStable(t *testing.T) {
	b, err := Encode(&spec.Message{Type: spec.RequestVote, From: 1, To: 2, Term: 5, LastLogIndex: 9, LastLogTerm: 4})
	if want := []byte{0, 0, 0, 7, 0x12, 1, 1, 2, 5, 9, 4}; err != nil || !bytes.Equal(b, want) {
		t.Fatalf("RequestVote encodes to % x, %v; want % x", b, err, want)
	}
	b, err = Encode(&spec.Message{Type: spec.AppendEntries, From: 1, To: 2, Term: 300, Entries: []spec.Entry{{Term: 1, Value: "ab"}}})
	if want := []byte{0, 0, 0, 14, 0x12, 3, 1, 2, 0xac, 0x02, 0, 0, 0, 1, 1, 2, 'a', 'b'}; err != nil || !bytes.Equal(b, want) {
		t.Fatalf("AppendEntries encodes to % x, %v; want % x", b, err, want)
	}
}

// validMessage turns a random message into a valid one of the same type
// family, keeping as much randomness as Validate allows.
func validMessage(m spec.Message) spec.Message {
	m.Type = spec.RequestVote + m.Type%4
	m.From = 1 + m.From%spec.MaxServers
	m.To = 1 + (m.From+m.To%(spec.MaxServers-1))%spec.MaxServers
	m.Term = max(m.Term, 1)
	keep := m
	m = spec.Message{Type: keep.Type, From: keep.From, To: keep.To, Term: keep.Term}
	switch m.Type {
	case spec.RequestVote:
		m.LastLogIndex, m.LastLogTerm = keep.LastLogIndex, keep.LastLogTerm
	case spec.RequestVoteResponse:
		m.Granted = keep.Granted
	case spec.AppendEntries:
		m.PrevLogIndex, m.PrevLogTerm, m.LeaderCommit = keep.PrevLogIndex, keep.PrevLogTerm, keep.LeaderCommit
		if m.PrevLogIndex == 0 {
			m.PrevLogTerm = 0
		}
		for _, e := range keep.Entries {
			m.Entries = append(m.Entries, spec.Entry{Term: min(e.Term, m.Term), Value: e.Value})
		}
	case spec.AppendEntriesResponse:
		m.Success, m.MatchIndex = keep.Success, keep.MatchIndex
	}
	return m
}

func TestRandomFramesRoundTrip(t *testing.T) {
	fz := fuzz.NewWithSeed(1).NilChance(0.2).NumElements(0, 6)
	kinds := map[spec.MsgType]int{}
	for range 2000 {
		var m spec.Message
		fz.Fuzz(&m)
		m = validMessage(m)
		kinds[m.Type]++
		b, err := Encode(&m)
		if err != nil {
			t.Fatalf("Encode(%+v): %v", m, err)
		}
		got, err := Decode(b)
		if err != nil || !got.Equal(&m) {
			t.Fatalf("round trip of %+v: got %+v, %v", m, got, err)
		}

		var s InstallSnapshot
		fz.Fuzz(&s)
		s.Term, s.LastIncludedIndex = max(s.Term, 1), max(s.LastIncludedIndex, 1)
		s.LastIncludedTerm = min(max(s.LastIncludedTerm, 1), s.Term)
		s.Leader, s.To = m.From, m.To
		if len(s.Data) == 0 {
			s.Data = nil // decoding yields nil for no data
		}
		f := Frame{Kind: KindInstallSnapshot, Snapshot: s}
		gotF, err := DecodeFrame(mustEncode(t, &f))
		if err != nil || !reflect.DeepEqual(gotF, f) {
			t.Fatalf("round trip of %+v: got %+v, %v", f, gotF, err)
		}
	}
	if len(kinds) != 4 {
		t.Fatalf("random messages covered types %v", kinds)
	}
}

func TestEncodeRefusesInvalidFrames(t *testing.T) {
	for _, c := range []struct {
		f    Frame
		want string
	}{
		{Frame{Kind: KindMessage, Message: spec.Message{Type: spec.RequestVote, From: 1, To: 1, Term: 1}}, "sends a message to itself"},
		{Frame{Kind: KindMessage, Message: spec.Message{Type: spec.RequestVoteResponse, From: 1, To: 2, Term: 1, Success: true}}, "not a field"},
		{Frame{Kind: KindHello}, "sender id 0"},
		{Frame{Kind: 9}, "unknown frame kind 9"},
		{Frame{Kind: KindInstallSnapshot, Snapshot: InstallSnapshot{Term: 1, Leader: 1, To: 2, LastIncludedIndex: 1, LastIncludedTerm: 2}}, "last included term at most term"},
		{Frame{Kind: KindInstallSnapshotResponse, SnapshotResponse: InstallSnapshotResponse{Term: 1, From: 2}}, "need two distinct servers"},
		{Frame{Kind: KindMessage, Message: spec.Message{Type: spec.AppendEntries, From: 1, To: 2, Term: 1,
			Entries: []spec.Entry{{Term: 1, Value: spec.Value(make([]byte, DefaultMaxFrameSize))}}}}, "exceeds maximum"},
		{Frame{Kind: KindMessage, Message: spec.Message{Type: spec.AppendEntries, From: 1, To: 2, Term: 1,
			Entries: []spec.Entry{{Term: 1, Value: "v", Config: 1}}}}, "a configuration entry ({S1}) carries no value"},
	} {
		if _, err := EncodeFrame(&c.f); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("EncodeFrame(%v): %v, want %q", c.f.Kind, err, c.want)
		}
	}
}

func TestDecodeRefusesJunk(t *testing.T) {
	ae := mustEncode(t, &sampleFrames()[4])
	reframe := func(body ...byte) []byte { return binary.BigEndian.AppendUint32(nil, uint32(len(body))) }
	with := func(body ...byte) []byte { return append(reframe(body...), body...) }
	v := byte(Version << 4)
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "shorter than the length prefix"},
		{"zero length", []byte{0, 0, 0, 0}, "frame length 0 outside"},
		{"huge length", []byte("GET / HTTP/1.1\r\n"), "frame length 1195725856 outside 1..16777216"},
		{"length mismatch", ae[:len(ae)-1], "length prefix says"},
		{"wrong version", with(2<<4|byte(KindHello), 1), "protocol version 2, want 1"},
		{"unknown type", with(v|9, 1), "unknown frame type 9"},
		{"hello id 0", with(v|byte(KindHello), 0), "sender id 0"},
		{"trailing bytes", with(v|byte(KindHello), 1, 2), "1 trailing bytes"},
		{"truncated message", with(v|byte(KindMessage), byte(spec.RequestVote), 1), "to: truncated"},
		{"unknown message type", with(v|byte(KindMessage), 9, 1, 2, 1), "unknown message type 9"},
		{"bad bool", with(v|byte(KindMessage), byte(spec.RequestVoteResponse), 2, 1, 1, 2), "boolean byte 2"},
		{"non-minimal varint", with(v|byte(KindMessage), byte(spec.RequestVoteResponse), 2, 1, 0x81, 0x00, 1), "non-minimal varint"},
		{"varint overflow", with(v|byte(KindMessage), byte(spec.RequestVoteResponse), 2, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1), "overflows 64 bits"},
		{"entry count beyond frame", with(v|byte(KindMessage), byte(spec.AppendEntries), 1, 2, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f), "entry count 4294967295 but 0 bytes remain"},
		{"value beyond frame", with(v|byte(KindMessage), byte(spec.AppendEntries), 1, 2, 1, 0, 0, 0, 1, 1, 5, 'a'), "entry value: length 5 but 1 bytes remain"},
		{"invalid message", with(v|byte(KindMessage), byte(spec.RequestVote), 1, 1, 1, 0, 0), "sends a message to itself"},
	} {
		_, err := DecodeFrame(c.b)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: DecodeFrame = %v, want one line containing %q", c.name, err, c.want)
		}
	}
	hello := mustEncode(t, &Frame{Kind: KindHello, Hello: 2})
	if _, err := Decode(hello); err == nil || !strings.Contains(err.Error(), "hello frame where a message was expected") {
		t.Errorf("Decode(hello) = %v", err)
	}
}

// FuzzDecodeFrame feeds arbitrary bytes to the frame decoder: it must never
// panic, must refuse junk with a one-line error, and whatever it accepts
// must re-encode to exactly the input (one encoding per value).
func FuzzDecodeFrame(f *testing.F) {
	for _, fr := range sampleFrames() {
		b := mustEncode(f, &fr)
		f.Add(b)
		f.Add(b[:len(b)-1])
	}
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add([]byte{0, 0, 0, 2, 0x12, 9})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := DecodeFrame(b)
		if err != nil {
			if msg := err.Error(); strings.Contains(msg, "\n") {
				t.Fatalf("error %q is not one line", msg)
			}
			return
		}
		if err := fr.Validate(); err != nil {
			t.Fatalf("decoded an invalid frame: %v", err)
		}
		if again := mustEncode(t, &fr); !bytes.Equal(again, b) {
			t.Fatalf("re-encoded %x, input %x", again, b)
		}
	})
}
