package wal

import (
	"fmt"
	"math"
	"slices"

	"github.com/raftcheck/raftcheck/spec"
)

// HardState is the part of a server's state besides the log that must
// survive a crash (Figure 2: currentTerm and votedFor).
type HardState struct {
	Term     spec.Term
	VotedFor spec.ServerID
}

// Snapshot is a state-machine snapshot (Figure 13): the state after
// applying every entry up to and including Index, whose term is Term. Data
// is opaque to the WAL (for example the encoded key-value map).
type Snapshot struct {
	Index spec.Index
	Term  spec.Term
	// Config is the cluster configuration in effect at Index (zero: the
	// initial one, no configuration entry is covered).
	Config spec.Configuration
	Data   []byte
}

// State is the durable state of a server as the WAL holds it: the hard
// state, the latest snapshot (nil if none) and the log entries not yet
// compacted away. Entries[k] has index FirstIndex+k. Entries up to
// Snapshot.Index may still be present (Compact discards them); an empty
// log has LastIndex() == FirstIndex-1.
type State struct {
	HardState  HardState
	Snapshot   *Snapshot
	FirstIndex spec.Index
	Entries    []spec.Entry
}

// LastIndex is the index of the last entry, or FirstIndex-1 if there are
// none (the snapshot index after a compaction, 0 for a fresh log).
func (s *State) LastIndex() spec.Index { return s.FirstIndex + spec.Index(len(s.Entries)) - 1 }

// Entry returns the entry at index i, if the state holds it.
func (s *State) Entry(i spec.Index) (spec.Entry, bool) {
	if i < s.FirstIndex || i > s.LastIndex() {
		return spec.Entry{}, false
	}
	return s.Entries[i-s.FirstIndex], true
}

func (s *State) snapIndex() spec.Index {
	if s.Snapshot == nil {
		return 0
	}
	return s.Snapshot.Index
}

// termAt is the term of the entry at i when known: a held entry, the
// snapshot's last entry, or index 0. ok is false otherwise.
func (s *State) termAt(i spec.Index) (spec.Term, bool) {
	if e, ok := s.Entry(i); ok {
		return e.Term, true
	}
	if s.Snapshot != nil && s.Snapshot.Index == i {
		return s.Snapshot.Term, true
	}
	return 0, i == 0
}

// clone copies s deeply enough that later changes to either side do not
// show in the other (entry values are immutable strings and are shared).
func (s *State) clone() State {
	c := *s
	c.Entries = slices.Clone(s.Entries)
	if s.Snapshot != nil {
		snap := *s.Snapshot
		c.Snapshot = &snap
	}
	return c
}

// The check* methods validate one change against s without modifying it;
// the matching apply* methods then cannot fail. Save and friends run a
// check before queueing a record, and recovery runs the same check on every
// record it replays, so the log on disk always satisfies these rules.

// checkHardState enforces what Raft guarantees of the hard state: the term
// never decreases, and within a term the vote, once cast, never changes.
func (s *State) checkHardState(hs HardState) error {
	cur := s.HardState
	if hs.Term < cur.Term {
		return fmt.Errorf("hard state: term %d below current term %d", hs.Term, cur.Term)
	}
	if hs.Term == cur.Term && cur.VotedFor != spec.None && hs.VotedFor != cur.VotedFor {
		return fmt.Errorf("hard state: vote for %v in term %d already cast for %v", hs.VotedFor, hs.Term, cur.VotedFor)
	}
	return nil
}

// checkEntries validates writing entries at first, first+1, ...: first
// may replace a suffix of the log (a follower overwriting conflicting
// entries) but neither leave a gap, nor reach back into compacted or
// snapshotted entries; terms are at least 1 and never decrease along the
// log.
func (s *State) checkEntries(first spec.Index, entries []spec.Entry) error {
	last := s.LastIndex()
	if len(entries) == 0 && (first == 0 || first == last+1) {
		return nil // nothing to write or to cut
	}
	if first == 0 || first > last+1 {
		return fmt.Errorf("entries: first index %d leaves a gap after last index %d", first, last)
	}
	if first < s.FirstIndex {
		return fmt.Errorf("entries: first index %d is compacted (log starts at %d)", first, s.FirstIndex)
	}
	if first <= last && first <= s.snapIndex() {
		return fmt.Errorf("entries: overwriting index %d covered by the snapshot at %d", first, s.snapIndex())
	}
	prev, _ := s.termAt(first - 1)
	for k, e := range entries {
		if e.Term == 0 || e.Term < prev {
			return fmt.Errorf("entries: index %d has term %d after term %d", first+spec.Index(k), e.Term, prev)
		}
		prev = e.Term
	}
	return nil
}

// applyEntries writes entries at first.. (after checkEntries).
func (s *State) applyEntries(first spec.Index, entries []spec.Entry) {
	if first == 0 || first > s.LastIndex()+1 {
		return
	}
	s.Entries = append(s.Entries[:first-s.FirstIndex], entries...)
}

// checkSnapshot validates installing snap: it must be newer than the
// current snapshot.
func (s *State) checkSnapshot(snap *Snapshot) error {
	if snap.Index == 0 || snap.Term == 0 || snap.Index == math.MaxUint64 {
		// The top index is refused: the log would have to start past it.
		return fmt.Errorf("snapshot: index %d term %d (both must be at least 1, index below 2^64-1)", snap.Index, snap.Term)
	}
	if snap.Index <= s.snapIndex() {
		return fmt.Errorf("snapshot: index %d not above current snapshot index %d", snap.Index, s.snapIndex())
	}
	if snap.Index < s.FirstIndex-1 {
		return fmt.Errorf("snapshot: index %d below compacted prefix ending at %d", snap.Index, s.FirstIndex-1)
	}
	return nil
}

// applySnapshot installs snap. As in Figure 13, if the log holds the
// snapshot's last entry the entries are kept (Compact discards them
// later); otherwise the whole log is discarded.
func (s *State) applySnapshot(snap *Snapshot) {
	s.Snapshot = snap
	if t, ok := s.Entry(snap.Index); ok && t.Term == snap.Term {
		return
	}
	s.FirstIndex, s.Entries = snap.Index+1, nil
}

// checkCompact validates discarding the entries up to index, which the
// snapshot must cover.
func (s *State) checkCompact(index spec.Index) error {
	if index > s.snapIndex() {
		return fmt.Errorf("compact: index %d not covered by the snapshot (snapshot index %d)", index, s.snapIndex())
	}
	return nil
}

// applyCompact discards the entries up to index.
func (s *State) applyCompact(index spec.Index) {
	if index < s.FirstIndex {
		return
	}
	if index > s.LastIndex() {
		s.FirstIndex, s.Entries = index+1, nil
		return
	}
	// Copy, so the discarded prefix of the backing array can be freed.
	s.Entries = slices.Clone(s.Entries[index+1-s.FirstIndex:])
	s.FirstIndex = index + 1
}

// replay applies one decoded record during recovery, with the same checks
// the writer ran before writing it.
func (s *State) replay(r *record) error {
	switch r.typ {
	case recBase, recBaseConf:
		if r.first == 0 {
			return fmt.Errorf("base: first index 0")
		}
		*s = State{HardState: r.hs, FirstIndex: r.first}
		if r.index != 0 || r.term != 0 || len(r.data) != 0 || r.conf.Voters != 0 {
			if r.index == 0 || r.term == 0 || r.first > r.index+1 {
				return fmt.Errorf("base: snapshot index %d term %d with first index %d", r.index, r.term, r.first)
			}
			s.Snapshot = &Snapshot{Index: r.index, Term: r.term, Config: r.conf, Data: slices.Clone(r.data)}
		}
	case recHardState:
		if err := s.checkHardState(r.hs); err != nil {
			return err
		}
		s.HardState = r.hs
	case recEntry, recConfEntry:
		e := []spec.Entry{r.entry()}
		if r.index != s.LastIndex()+1 {
			return fmt.Errorf("entry: index %d does not follow last index %d", r.index, s.LastIndex())
		}
		if err := s.checkEntries(r.index, e); err != nil {
			return err
		}
		s.applyEntries(r.index, e)
	case recTruncate:
		if r.index < s.FirstIndex-1 || r.index > s.LastIndex() || r.index < s.snapIndex() {
			return fmt.Errorf("truncate: after index %d outside log [%d, %d] or below snapshot index %d",
				r.index, s.FirstIndex, s.LastIndex(), s.snapIndex())
		}
		s.Entries = s.Entries[:r.index+1-s.FirstIndex]
	case recSnapshot, recSnapshotConf:
		snap := &Snapshot{Index: r.index, Term: r.term, Config: r.conf, Data: slices.Clone(r.data)}
		if err := s.checkSnapshot(snap); err != nil {
			return err
		}
		s.applySnapshot(snap)
	default:
		return fmt.Errorf("unexpected %v record", r.typ)
	}
	return nil
}
