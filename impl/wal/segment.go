package wal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Segment files are named by their sequence number, 16 hex digits, so that
// lexical and numeric order agree: 0000000000000001.wal, ...
const segSuffix = ".wal"

// tmpSuffix marks a segment being created; it becomes visible under its
// final name only once complete and synced, so a crash never leaves a
// half-written segment head.
const tmpSuffix = ".tmp"

func segName(seq uint64) string { return fmt.Sprintf("%016x%s", seq, segSuffix) }

func parseSegName(name string) (uint64, bool) {
	hex, ok := strings.CutSuffix(name, segSuffix)
	if !ok || len(hex) != 16 {
		return 0, false
	}
	seq, err := strconv.ParseUint(hex, 16, 64)
	return seq, err == nil && seq > 0
}

// ErrCorrupt is wrapped by every error that reports damage to the log on
// disk (see CorruptError).
var ErrCorrupt = errors.New("corrupted log")

// CorruptError reports damage that recovery refuses to repair because
// acknowledged data may depend on it: a record that fails its checksum or
// does not parse and is followed by intact data, damage in a segment other
// than the last, or a missing segment.
type CorruptError struct {
	Segment string // file name, e.g. 0000000000000003.wal
	Offset  int64  // byte offset of the damaged record in Segment
	Reason  string
}

// Error renders the one-line message, e.g.
// "wal: segment 0000000000000003.wal offset 4096: checksum mismatch (corrupted log, refusing to open)".
func (e *CorruptError) Error() string {
	return fmt.Sprintf("wal: segment %s offset %d: %s (corrupted log, refusing to open)", e.Segment, e.Offset, e.Reason)
}

// Unwrap makes errors.Is(err, ErrCorrupt) hold.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

// listDir returns the sequence numbers of the segments in dir, ascending,
// and removes leftover temporary files of interrupted segment creations.
func listDir(dir string, logf func(string, ...any)) ([]uint64, []string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("wal: list %s: %w", dir, err)
	}
	var seqs []uint64
	var removed []string
	for _, e := range ents {
		name := e.Name()
		if strings.HasSuffix(name, segSuffix+tmpSuffix) {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return nil, nil, fmt.Errorf("wal: remove leftover %s: %w", name, err)
			}
			logf("wal: removed %s left by an interrupted segment creation", name)
			removed = append(removed, name)
			continue
		}
		if seq, ok := parseSegName(name); ok && e.Type().IsRegular() {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	return seqs, removed, nil
}

// syncDir makes the creation, renaming or removal of files in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("wal: open directory for sync: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("wal: sync directory %s: %w", dir, err)
	}
	return nil
}

// createSegment writes header(seq)+body to a temporary file, syncs it,
// renames it into place and syncs the directory. It returns the file open
// for appending.
func createSegment(dir string, seq uint64, body []byte) (*os.File, int64, error) {
	name := filepath.Join(dir, segName(seq))
	tmp := name + tmpSuffix
	buf := appendHeader(make([]byte, 0, frameLen+1+payloadHeader+len(body)), seq)
	buf = append(buf, body...)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, 0, fmt.Errorf("wal: create segment: %w", err)
	}
	fail := func(err error) (*os.File, int64, error) {
		f.Close()
		os.Remove(tmp)
		return nil, 0, fmt.Errorf("wal: create segment %s: %w", segName(seq), err)
	}
	if _, err := f.Write(buf); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fail(err)
	}
	if err := syncDir(dir); err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, int64(len(buf)), nil
}

// segmentHead reads the first two records' types of a segment cheaply: is
// it a base segment (header followed by a base record)? Recovery starts at
// the newest base segment; the records are verified in full during replay.
func segmentHead(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("wal: %w", err)
	}
	defer f.Close()
	var b [frameLen + 1 + payloadHeader + frameLen + 1]byte
	n, _ := io.ReadFull(f, b[:])
	const hdr = frameLen + 1 + payloadHeader
	return n == len(b) && recType(b[frameLen]) == recHeader && recType(b[hdr+frameLen]).isBase(), nil
}
