package kv

import (
	"bytes"
	"errors"
	"fmt"
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
		{Op: OpAddress, Client: 3, Seq: 4, Key: "5", Value: "127.0.0.1:7005 127.0.0.1:8005"},
		{Op: OpAddress, Client: 3, Key: "7"},
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

// TestAddressTable: OpAddress sets and clears a server's addresses, the
// watchers see every change (the current table first), the table travels
// in snapshots, and a version-1 snapshot (no table) still restores.
func TestAddressTable(t *testing.T) {
	s := NewStore()
	a4 := Addresses{Raft: "127.0.0.1:7004", HTTP: "127.0.0.1:8004"}
	setAddr := func(index spec.Index, id string, a Addresses) {
		v := ""
		if a != (Addresses{}) {
			v = EncodeAddresses(a)
		}
		apply(s, index, Command{Op: OpAddress, Client: 1, Key: id, Value: v})
	}
	setAddr(1, "4", a4)
	type change struct {
		id spec.ServerID
		a  Addresses
	}
	var seen []change
	s.OnAddresses(func(id spec.ServerID, a Addresses) { seen = append(seen, change{id, a}) })
	a5 := Addresses{Raft: "h5:1", HTTP: "h5:2"}
	setAddr(2, "5", a5)
	setAddr(3, "4", Addresses{})
	want := []change{{4, a4}, {5, a5}, {4, Addresses{}}}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("watcher saw %v, want %v", seen, want)
	}
	if _, ok := s.Addresses(4); ok {
		t.Fatal("cleared address still in the table")
	}
	data, _ := s.Snapshot()
	r := NewStore()
	seen = nil
	r.OnAddresses(func(id spec.ServerID, a Addresses) { seen = append(seen, change{id, a}) })
	if err := r.Restore(3, data); err != nil {
		t.Fatal(err)
	}
	if got, ok := r.Addresses(5); !ok || got != a5 || len(r.AddressTable()) != 1 || fmt.Sprint(seen) != fmt.Sprint([]change{{5, a5}}) {
		t.Fatalf("restored table %v, watcher saw %v", r.AddressTable(), seen)
	}
	v1 := append([]byte(snapshotMagicV1), 3, 0, 0) // index 3, no keys, no sessions
	if err := r.Restore(3, v1); err != nil || len(r.AddressTable()) != 0 || seen[len(seen)-1] != (change{5, Addresses{}}) {
		t.Fatalf("version-1 snapshot: %v, table %v, watcher saw %v", err, r.AddressTable(), seen)
	}
	for name, v := range map[string]spec.Value{
		"id 0":        (&Command{Op: OpAddress, Client: 1, Key: "0", Value: "a:1 b:2"}).Encode(),
		"id 8":        (&Command{Op: OpAddress, Client: 1, Key: "8", Value: "a:1 b:2"}).Encode(),
		"id 04":       (&Command{Op: OpAddress, Client: 1, Key: "04", Value: "a:1 b:2"}).Encode(),
		"one address": (&Command{Op: OpAddress, Client: 1, Key: "4", Value: "a:1"}).Encode(),
		"three":       (&Command{Op: OpAddress, Client: 1, Key: "4", Value: "a:1 b:2 c:3"}).Encode(),
	} {
		if _, err := DecodeCommand(v); !errors.Is(err, ErrBadCommand) {
			t.Errorf("%s: %v, want ErrBadCommand", name, err)
		}
	}
}
