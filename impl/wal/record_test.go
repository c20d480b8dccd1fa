package wal

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/raftcheck/raftcheck/spec"
)

// sampleRecords is one valid record of every type, the fuzz seed corpus.
func sampleRecords() [][]byte {
	st := State{HardState: HardState{Term: 4, VotedFor: 2}, Snapshot: &Snapshot{Index: 3, Term: 2, Data: []byte("kv")}, FirstIndex: 2}
	return [][]byte{
		appendHeader(nil, 7),
		appendHardState(nil, HardState{Term: 9, VotedFor: 3}),
		appendEntry(nil, 12, spec.Entry{Term: 3, Value: "set k v"}),
		appendEntry(nil, 1, spec.Entry{Term: 1}),
		appendTruncate(nil, 5),
		appendSnapshot(nil, &Snapshot{Index: 10, Term: 2, Data: []byte{0, 1, 2}}),
		appendBase(nil, &st),
		appendEntry(nil, 4, spec.Entry{Term: 2, Config: 0b0110, Outgoing: 0b0011, Learners: 0b1000}),
		appendSnapshot(nil, &Snapshot{Index: 10, Term: 2, Config: spec.Configuration{Voters: 0b111, Learners: 0b1000}, Data: []byte{7}}),
		appendBase(nil, &State{HardState: HardState{Term: 4}, Snapshot: &Snapshot{Index: 3, Term: 2, Config: spec.Configuration{Voters: 0b11}}, FirstIndex: 4}),
	}
}

func TestDecodeRecordRoundTrip(t *testing.T) {
	for _, b := range sampleRecords() {
		r, n, err := decodeRecord(append(bytes.Clone(b), 0xAA, 0xBB)) // trailing bytes belong to the next record
		if err != nil || n != len(b) {
			t.Fatalf("decode %x: n=%d err=%v", b, n, err)
		}
		if got := r.encode(); !bytes.Equal(got, b) {
			t.Fatalf("%v: re-encoded %x, want %x", r.typ, got, b)
		}
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	entry := appendEntry(nil, 1, spec.Entry{Term: 1, Value: "v"})
	flip := func(b []byte, i int) []byte { b = bytes.Clone(b); b[i] ^= 1; return b }
	unknown, s := beginRecord(nil, 99)
	unknown = endRecord(unknown, s)
	short, s := beginRecord(nil, recTruncate)
	short = endRecord(append(short, 1, 2, 3), s)
	noVoters := appendConfIndexed(nil, recConfEntry, 1, 1, spec.Configuration{Learners: 1}, "")
	shortConf, s := beginRecord(nil, recSnapshotConf)
	shortConf = endRecord(append(shortConf, make([]byte, 17)...), s)
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "incomplete record"},
		{"short frame", entry[:5], "incomplete record"},
		{"short body", entry[:len(entry)-1], "incomplete record"},
		{"zero length", make([]byte, 16), "bad record length 0"},
		{"huge length", []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1}, "bad record length"},
		{"flipped crc", flip(entry, 4), "checksum mismatch"},
		{"flipped payload", flip(entry, len(entry)-1), "checksum mismatch"},
		{"flipped length", flip(entry, 0), "incomplete record"},
		{"unknown type", unknown, "unknown record type 99"},
		{"short payload", short, "malformed truncate record: 3 payload bytes"},
		{"configuration without voters", noVoters, "malformed conf-entry record: a configuration without voters"},
		{"short configuration", shortConf, "malformed conf-snapshot record: 17 payload bytes"},
	} {
		_, _, err := decodeRecord(c.b)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
		if torn := errors.Is(err, errShort); torn != strings.Contains(c.want, "incomplete") {
			t.Errorf("%s: errors.Is(err, errShort) = %v", c.name, torn)
		}
	}
}

// FuzzDecodeRecord feeds arbitrary bytes to the record decoder: it must
// never panic, must fail with a one-line error on anything that is not an
// intact record, and must decode intact records losslessly.
func FuzzDecodeRecord(f *testing.F) {
	for _, b := range sampleRecords() {
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{})
	f.Add([]byte("garbage that is not a record"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, n, err := decodeRecord(b)
		if err != nil {
			if msg := err.Error(); msg == "" || strings.Contains(msg, "\n") {
				t.Fatalf("error %q is not one line", msg)
			}
			return
		}
		if n < frameLen+1 || n > len(b) {
			t.Fatalf("decoded size %d of %d bytes", n, len(b))
		}
		if got := r.encode(); !bytes.Equal(got, b[:n]) {
			t.Fatalf("%v record re-encodes to %x, input %x", r.typ, got, b[:n])
		}
	})
}
