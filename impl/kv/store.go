package kv

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"maps"
	"slices"
	"sync"

	"github.com/raftcheck/raftcheck/impl/node"
	"github.com/raftcheck/raftcheck/spec"
)

// MaxSessions bounds the deduplication table. When a new client would
// exceed it, the sessions least recently used (by log index) are dropped,
// the oldest tenth at once; a dropped client's retry is applied again. The
// rule depends only on the log, so every replica drops the same sessions.
const MaxSessions = 10000

// Result is the outcome of an applied command.
type Result struct {
	// Index is the log index at which the command was applied.
	Index spec.Index
	// Value and Found: for a get, the value read; for a delete, whether
	// the key existed (Value empty).
	Value string
	Found bool
	// Duplicate: the command repeated a deduplicated request and was not
	// applied again (Found is then false).
	Duplicate bool
}

type session struct {
	seq   uint64
	index spec.Index // last use
}

type reqID struct{ client, seq uint64 }

// Store is the key-value state machine (node.StateMachine). Commands are
// applied in log order by the node's goroutine; reads of the map for
// clients go through the log too (OpGet), so the map itself is only read
// here and by Snapshot. Store is safe for concurrent use.
type Store struct {
	mu       sync.Mutex
	data     map[string]string
	sessions map[uint64]session
	applied  spec.Index
	waiters  map[reqID][]chan Result
	// addrs is the replicated address table (OpAddress); watchers are
	// called, under mu, with every change (see OnAddresses).
	addrs    map[spec.ServerID]Addresses
	watchers []func(spec.ServerID, Addresses)
	// Logf receives one line per entry that is not a valid command.
	Logf func(format string, args ...any)
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{data: map[string]string{}, sessions: map[uint64]session{}, waiters: map[reqID][]chan Result{},
		addrs: map[spec.ServerID]Addresses{}, Logf: log.Printf}
}

// Addresses returns the replicated addresses of server id (set by an
// OpAddress command), if any.
func (s *Store) Addresses(id spec.ServerID) (Addresses, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.addrs[id]
	return a, ok
}

// AddressTable returns a copy of the replicated address table.
func (s *Store) AddressTable() map[spec.ServerID]Addresses {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.addrs)
}

// OnAddresses calls f with every entry of the address table now, then
// with every change as it is applied or restored from a snapshot (a zero
// Addresses: the entry was removed), so that the caller (the node's
// transport) never misses one. f runs with the store locked, on the
// node's goroutine: it must be quick and must not call back into the
// store.
func (s *Store) OnAddresses(f func(id spec.ServerID, a Addresses)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range slices.Sorted(maps.Keys(s.addrs)) {
		f(id, s.addrs[id])
	}
	s.watchers = append(s.watchers, f)
}

// setAddresses changes the table (a zero a removes id) and tells the
// watchers. s.mu is held.
func (s *Store) setAddresses(id spec.ServerID, a Addresses) {
	if a == (Addresses{}) {
		delete(s.addrs, id)
	} else {
		s.addrs[id] = a
	}
	for _, f := range s.watchers {
		f(id, a)
	}
}

// Applied is the index of the last applied entry.
func (s *Store) Applied() spec.Index {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applied
}

// Len is the number of keys.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.data)
}

// wait registers interest in the result of request (client, seq); the
// channel receives it once, when the command is applied. cancel must be
// called when the caller stops waiting.
func (s *Store) wait(client, seq uint64) chan Result {
	ch := make(chan Result, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	id := reqID{client, seq}
	s.waiters[id] = append(s.waiters[id], ch)
	return ch
}

func (s *Store) cancel(client, seq uint64, ch chan Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := reqID{client, seq}
	w := slices.DeleteFunc(s.waiters[id], func(c chan Result) bool { return c == ch })
	if len(w) == 0 {
		delete(s.waiters, id)
	} else {
		s.waiters[id] = w
	}
}

// Apply implements node.StateMachine.
func (s *Store) Apply(index spec.Index, e spec.Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.applied = index
	if e.Value == node.NoOp || e.Config != 0 {
		return // the node's own entries: a leader's no-op, a configuration
	}
	c, err := DecodeCommand(e.Value)
	if err != nil {
		// Every replica skips the same entry; nobody waits for it.
		s.Logf("kv: entry %d skipped: %v", index, err)
		return
	}
	r := s.apply(index, &c)
	id := reqID{c.Client, c.Seq}
	for _, ch := range s.waiters[id] {
		ch <- r
	}
	delete(s.waiters, id)
}

func (s *Store) apply(index spec.Index, c *Command) Result {
	r := Result{Index: index}
	if c.Seq > 0 && c.Op != OpGet {
		if ss, ok := s.sessions[c.Client]; ok && c.Seq <= ss.seq {
			r.Duplicate = true
			return r
		}
		if _, ok := s.sessions[c.Client]; !ok && len(s.sessions) >= MaxSessions {
			s.evictSessions()
		}
		s.sessions[c.Client] = session{seq: c.Seq, index: index}
	}
	switch c.Op {
	case OpPut:
		s.data[c.Key] = c.Value
		r.Found = true
	case OpDelete:
		_, r.Found = s.data[c.Key]
		delete(s.data, c.Key)
	case OpGet:
		r.Value, r.Found = s.data[c.Key]
	case OpAddress:
		id, _ := addressTarget(c.Key) // checked by DecodeCommand
		var a Addresses
		if c.Value != "" {
			a, _ = DecodeAddresses(c.Value)
		}
		_, r.Found = s.addrs[id]
		s.setAddresses(id, a)
	}
	return r
}

// evictSessions drops the least recently used tenth of the sessions.
func (s *Store) evictSessions() {
	type kv struct {
		client uint64
		index  spec.Index
	}
	all := make([]kv, 0, len(s.sessions))
	for c, ss := range s.sessions {
		all = append(all, kv{c, ss.index})
	}
	slices.SortFunc(all, func(a, b kv) int {
		return cmp.Or(cmp.Compare(a.index, b.index), cmp.Compare(a.client, b.client))
	})
	for _, x := range all[:max(1, len(all)/10)] {
		delete(s.sessions, x.client)
	}
}

// snapshotMagic starts every encoded snapshot (format version 2);
// Restore still reads version 1, which has no address table.
const (
	snapshotMagic   = "RKVSNAP2"
	snapshotMagicV1 = "RKVSNAP1"
)

// Snapshot implements node.StateMachine: the magic, the applied index,
// the number of keys and each key and value (uvarint length + bytes, keys
// sorted so that equal states encode equally), then the number of
// sessions and each client, sequence number and last index, then the
// number of address table entries and each id, Raft and HTTP address
// (ids increasing).
func (s *Store) Snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := []byte(snapshotMagic)
	b = binary.AppendUvarint(b, uint64(s.applied))
	keys := slices.Sorted(maps.Keys(s.data))
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendString(b, k)
		b = appendString(b, s.data[k])
	}
	clients := slices.Sorted(maps.Keys(s.sessions))
	b = binary.AppendUvarint(b, uint64(len(clients)))
	for _, c := range clients {
		ss := s.sessions[c]
		b = binary.AppendUvarint(b, c)
		b = binary.AppendUvarint(b, ss.seq)
		b = binary.AppendUvarint(b, uint64(ss.index))
	}
	ids := slices.Sorted(maps.Keys(s.addrs))
	b = binary.AppendUvarint(b, uint64(len(ids)))
	for _, id := range ids {
		b = binary.AppendUvarint(b, uint64(id))
		b = appendString(b, s.addrs[id].Raft)
		b = appendString(b, s.addrs[id].HTTP)
	}
	return b, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// ErrBadSnapshot is wrapped by every snapshot decoding error.
var ErrBadSnapshot = errors.New("bad snapshot")

// Restore implements node.StateMachine. It decodes data completely before
// replacing anything, so a bad snapshot leaves the store unchanged.
func (s *Store) Restore(index spec.Index, data []byte) error {
	d := decoder{b: data}
	magic := ""
	if len(data) >= len(snapshotMagic) {
		magic = string(data[:len(snapshotMagic)])
	}
	if magic != snapshotMagic && magic != snapshotMagicV1 {
		return fmt.Errorf("%w: missing magic %q", ErrBadSnapshot, snapshotMagic)
	}
	d.b = d.b[len(snapshotMagic):]
	applied := spec.Index(d.uvarint("applied index"))
	m := map[string]string{}
	for range d.count("keys", 2) {
		k := d.string("key")
		m[k] = d.string("value")
	}
	sessions := map[uint64]session{}
	for range d.count("sessions", 3) {
		c := d.uvarint("client")
		sessions[c] = session{seq: d.uvarint("seq"), index: spec.Index(d.uvarint("session index"))}
	}
	addrs := map[spec.ServerID]Addresses{}
	if magic == snapshotMagic {
		d.addresses(addrs)
	}
	switch {
	case d.err != nil:
		return d.err
	case len(d.b) != 0:
		return fmt.Errorf("%w: %d trailing bytes", ErrBadSnapshot, len(d.b))
	case applied != index:
		return fmt.Errorf("%w: taken at index %d, installed as %d", ErrBadSnapshot, applied, index)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data, s.sessions, s.applied = m, sessions, applied
	s.restoreAddresses(addrs)
	return nil
}

// restoreAddresses replaces the address table by addrs, telling the
// watchers what changed. s.mu is held.
func (s *Store) restoreAddresses(addrs map[spec.ServerID]Addresses) {
	for _, id := range slices.Sorted(maps.Keys(s.addrs)) {
		if _, ok := addrs[id]; !ok {
			s.setAddresses(id, Addresses{})
		}
	}
	for _, id := range slices.Sorted(maps.Keys(addrs)) {
		if a, ok := s.addrs[id]; !ok || a != addrs[id] {
			s.setAddresses(id, addrs[id])
		}
	}
}

// addresses reads the address table of a version 2 snapshot into m.
func (d *decoder) addresses(m map[spec.ServerID]Addresses) {
	for range d.count("addresses", 3) {
		id := d.uvarint("server id")
		a := Addresses{Raft: d.string("raft address"), HTTP: d.string("http address")}
		if d.err == nil && (id < 1 || id > spec.MaxServers || a.Raft == "" || a.HTTP == "") {
			d.err = fmt.Errorf("%w: address entry %d %+v", ErrBadSnapshot, id, a)
		}
		m[spec.ServerID(id)] = a
	}
}

// decoder reads uvarint-framed fields, remembering the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = fmt.Errorf("%w: %s: truncated or overlong varint", ErrBadSnapshot, what)
		return 0
	}
	d.b = d.b[n:]
	return x
}

// count reads a count of items of at least minBytes bytes each, refusing
// counts the remaining data cannot hold (so a corrupt count cannot make
// the loop run long).
func (d *decoder) count(what string, minBytes int) int {
	n := d.uvarint(what)
	if d.err == nil && n > uint64(len(d.b)/minBytes) {
		d.err = fmt.Errorf("%w: %d %s in %d bytes", ErrBadSnapshot, n, what, len(d.b))
	}
	if d.err != nil {
		return 0
	}
	return int(n)
}

func (d *decoder) string(what string) string {
	n := d.uvarint(what + " length")
	if d.err == nil && n > uint64(len(d.b)) {
		d.err = fmt.Errorf("%w: %s of %d bytes in %d remaining", ErrBadSnapshot, what, n, len(d.b))
	}
	if d.err != nil {
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}
