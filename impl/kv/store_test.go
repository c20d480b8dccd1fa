package kv

import (
	"bytes"
	"errors"
	"testing"

	"github.com/raftcheck/raftcheck/spec"
)

func TestCommandRoundTrip(t *testing.T) {
	for _, c := range []Command{
		{Op: OpPut, Client: 1, Seq: 0, Key: "k", Value: "v"},
		{Op: OpPut, Client: 1<<64 - 1, Seq: 1<<64 - 1, Key: "\x00\xff/é", Value: "\x00\x01binary\xff"},
		{Op: OpPut, Client: 7, Seq: 3, Key: "empty value"},
		{Op: OpDelete, Client: 2, Seq: 9, Key: "k"},
		{Op: OpGet, Client: 3, Key: "k"},
	} {
		v := c.Encode()
		if v == "" {
			t.Fatalf("%+v encodes to the empty value, which the core refuses", c)
		}
		got, err := DecodeCommand(v)
		if err != nil || got != c {
			t.Fatalf("round trip of %+v: %+v, %v", c, got, err)
		}
	}
}

func TestDecodeCommandRejectsBadInput(t *testing.T) {
	good := (&Command{Op: OpDelete, Client: 5, Seq: 1, Key: "key"}).Encode()
	for name, v := range map[string]spec.Value{
		"empty":           "",
		"version":         "\x02P\x01\x00\x00",
		"op":              "\x01X\x01\x00\x00",
		"client 0":        (&Command{Op: OpPut, Key: "k"}).Encode(),
		"truncated":       good[:len(good)-2],
		"overlong varint": "\x01P\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
		"value on delete": good + "x",
	} {
		if _, err := DecodeCommand(v); !errors.Is(err, ErrBadCommand) {
			t.Errorf("%s: %v, want ErrBadCommand", name, err)
		}
	}
}

func FuzzDecodeCommand(f *testing.F) {
	f.Add([]byte((&Command{Op: OpPut, Client: 1, Seq: 2, Key: "k", Value: "v"}).Encode()))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCommand(spec.Value(b))
		if err == nil && c.Encode() != spec.Value(b) {
			t.Fatalf("decoded %+v does not re-encode to the input", c)
		}
	})
}

func apply(s *Store, index spec.Index, c Command) {
	s.Apply(index, spec.Entry{Term: 1, Value: c.Encode()})
}

func TestStoreDeduplicates(t *testing.T) {
	s := NewStore()
	ch := s.wait(9, 1)
	apply(s, 1, Command{Op: OpPut, Client: 9, Seq: 1, Key: "a", Value: "1"})
	if r := <-ch; r.Duplicate || r.Index != 1 {
		t.Fatalf("first put: %+v", r)
	}
	apply(s, 2, Command{Op: OpPut, Client: 9, Seq: 2, Key: "a", Value: "2"})
	// A retry of seq 1 (say, re-sent after a leader change) must not undo seq 2.
	ch = s.wait(9, 1)
	apply(s, 3, Command{Op: OpPut, Client: 9, Seq: 1, Key: "a", Value: "1"})
	if r := <-ch; !r.Duplicate {
		t.Fatalf("retried put applied again: %+v", r)
	}
	ch = s.wait(4, 0)
	apply(s, 4, Command{Op: OpGet, Client: 4, Key: "a"})
	if r := <-ch; r.Value != "2" || !r.Found || r.Index != 4 {
		t.Fatalf("get after retry: %+v", r)
	}
	// One-off requests (seq 0) are never deduplicated.
	apply(s, 5, Command{Op: OpDelete, Client: 11, Key: "a"})
	apply(s, 6, Command{Op: OpPut, Client: 11, Key: "a", Value: "3"})
	ch = s.wait(4, 0)
	apply(s, 7, Command{Op: OpGet, Client: 4, Key: "a"})
	if r := <-ch; r.Value != "3" {
		t.Fatalf("get: %+v", r)
	}
	// A bad entry is skipped; the applied index still moves.
	s.Logf = func(string, ...any) {}
	s.Apply(8, spec.Entry{Term: 1, Value: "garbage"})
	if s.Applied() != 8 {
		t.Fatalf("applied %d, want 8", s.Applied())
	}
}

func TestSessionEvictionIsBounded(t *testing.T) {
	s := NewStore()
	for k := range MaxSessions + 1 {
		apply(s, spec.Index(k+1), Command{Op: OpPut, Client: uint64(k + 1), Seq: 1, Key: "k", Value: "v"})
	}
	if n := len(s.sessions); n > MaxSessions {
		t.Fatalf("%d sessions, more than %d", n, MaxSessions)
	}
	if _, ok := s.sessions[1]; ok {
		t.Fatal("the least recently used session survived eviction")
	}
	if _, ok := s.sessions[MaxSessions+1]; !ok {
		t.Fatal("the newest session was evicted")
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	s := NewStore()
	apply(s, 1, Command{Op: OpPut, Client: 3, Seq: 1, Key: "x\x00", Value: "\xff\x00"})
	apply(s, 2, Command{Op: OpPut, Client: 4, Key: "y", Value: ""})
	data, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r := NewStore()
	if err := r.Restore(2, data); err != nil {
		t.Fatal(err)
	}
	again, _ := r.Snapshot()
	if !bytes.Equal(again, data) || r.Applied() != 2 || r.Len() != 2 {
		t.Fatalf("restored store differs: %q vs %q", again, data)
	}
	// The session came along: a retry after the restore is a duplicate.
	ch := r.wait(3, 1)
	apply(r, 3, Command{Op: OpPut, Client: 3, Seq: 1, Key: "x\x00", Value: "other"})
	if res := <-ch; !res.Duplicate {
		t.Fatalf("retry after restore applied: %+v", res)
	}
	// Corrupt snapshots are refused and change nothing.
	for name, bad := range map[string][]byte{
		"empty":       nil,
		"magic":       append([]byte("XXXXXXXX"), data[8:]...),
		"truncated":   data[:len(data)-1],
		"trailing":    append(append([]byte(nil), data...), 0),
		"huge count":  append([]byte(snapshotMagic), 2, 0xff, 0xff, 0xff, 0xff, 0x0f),
		"wrong index": data,
	} {
		idx := spec.Index(2)
		if name == "wrong index" {
			idx = 5
		}
		if err := r.Restore(idx, bad); !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("%s: %v, want ErrBadSnapshot", name, err)
		}
	}
	if r.Applied() != 3 {
		t.Fatalf("a refused snapshot changed the store: applied %d", r.Applied())
	}
}
