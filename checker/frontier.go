package checker

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// blockSize is the size of a frontier block; a block is the unit of
// spilling to disk.
const blockSize = 1 << 20

// frontier is one BFS level: a sequence of encoded states, each prefixed
// with its length (uvarint), in blocks. Past the memory budget, finished
// blocks are written to a spill file and read back when the level is
// expanded, so only fingerprints need to stay in memory.
type frontier struct {
	dir     string
	budget  int64
	blocks  []*block
	mem     int64 // bytes of blocks held in memory
	count   int64
	spill   *os.File
	spillAt int64
	spilled int64 // bytes written to disk
	pool    *blockPool
}

// blockPool recycles the block buffers of finished levels: a fresh
// buffer costs the kernel's page faults and the runtime's zeroing, a
// recycled one is warm. It holds at most max buffers, so that the
// frontier's memory stays within about twice its budget.
type blockPool struct {
	free [][]byte
	max  int
}

// get returns an empty buffer of capacity at least n.
func (p *blockPool) get(n int) []byte {
	if k := len(p.free); k > 0 && n <= blockSize {
		b := p.free[k-1]
		p.free = p.free[:k-1]
		return b[:0]
	}
	return make([]byte, 0, max(blockSize, n))
}

// put takes back a buffer that nothing references any more.
func (p *blockPool) put(b []byte) {
	if cap(b) == blockSize && len(p.free) < p.max {
		p.free = append(p.free, b)
	}
}

type block struct {
	data []byte // nil once spilled
	n    int    // states in the block
	off  int64  // position in the spill file
	size int
}

// newFrontier returns an empty level whose blocks come from pool and go
// back to it when the level is closed.
func newFrontier(dir string, budget int64, pool *blockPool) *frontier {
	return &frontier{dir: dir, budget: budget, pool: pool}
}

// add appends one encoded state.
func (f *frontier) add(enc []byte) error {
	var cur *block
	if len(f.blocks) > 0 {
		cur = f.blocks[len(f.blocks)-1]
	}
	need := len(enc) + binary.MaxVarintLen32
	if cur == nil || cur.data == nil || len(cur.data)+need > cap(cur.data) {
		if cur != nil && cur.data != nil {
			if err := f.maybeSpill(); err != nil {
				return err
			}
		}
		cur = &block{data: f.pool.get(need)}
		f.blocks = append(f.blocks, cur)
		f.mem += int64(cap(cur.data))
	}
	cur.data = appendItem(cur.data, enc)
	cur.n++
	f.count++
	return nil
}

// addChunk appends n states already laid out as items (each a uvarint
// length and an encoding) in one copy, keeping them in one block.
func (f *frontier) addChunk(items []byte, n int) error {
	if n == 0 {
		return nil
	}
	var cur *block
	if len(f.blocks) > 0 {
		cur = f.blocks[len(f.blocks)-1]
	}
	if cur == nil || cur.data == nil || len(cur.data)+len(items) > cap(cur.data) {
		if cur != nil && cur.data != nil {
			if err := f.maybeSpill(); err != nil {
				return err
			}
		}
		cur = &block{data: f.pool.get(len(items))}
		f.blocks = append(f.blocks, cur)
		f.mem += int64(cap(cur.data))
	}
	cur.data = append(cur.data, items...)
	cur.n += n
	f.count += int64(n)
	return nil
}

// maybeSpill writes finished in-memory blocks to disk while the frontier
// holds more than its budget.
func (f *frontier) maybeSpill() error {
	if f.mem <= f.budget {
		return nil
	}
	if f.spill == nil {
		file, err := os.CreateTemp(f.dir, "raftcheck-frontier-*")
		if err != nil {
			return fmt.Errorf("frontier spill file: %w", err)
		}
		os.Remove(file.Name()) // unlinked: disappears with the process
		f.spill = file
	}
	for _, b := range f.blocks {
		if b.data == nil {
			continue
		}
		if _, err := f.spill.WriteAt(b.data, f.spillAt); err != nil {
			return fmt.Errorf("frontier spill: %w", err)
		}
		b.off, b.size = f.spillAt, len(b.data)
		f.spillAt += int64(len(b.data))
		f.spilled += int64(len(b.data))
		f.mem -= int64(cap(b.data))
		f.pool.put(b.data)
		b.data = nil
		if f.mem <= f.budget/2 {
			break
		}
	}
	return nil
}

// load returns the data of block i, reading it back from disk if spilled.
func (f *frontier) load(i int) ([]byte, error) {
	b := f.blocks[i]
	if b.data != nil {
		return b.data, nil
	}
	data := make([]byte, b.size)
	if _, err := f.spill.ReadAt(data, b.off); err != nil {
		return nil, fmt.Errorf("frontier read-back: %w", err)
	}
	return data, nil
}

// close releases the spill file and hands the blocks back to the pool;
// nothing may reference the level's states any more.
func (f *frontier) close() {
	if f.spill != nil {
		f.spill.Close()
		f.spill = nil
	}
	for _, b := range f.blocks {
		if b.data != nil {
			f.pool.put(b.data)
		}
	}
	f.blocks = nil
}

// unit is a slice of a frontier level handed to one worker: states
// base .. base+n-1, in order, as items (uvarint length, encoding) in data.
type unit struct {
	index int
	base  int64
	n     int
	data  []byte
}

// unitSize is the number of states per unit of work.
const unitSize = 256

// splitUnits splits block data into units, appending to dst. It checks
// the framing of every item, so that expanding a unit cannot misread it.
func splitUnits(dst []unit, data []byte, n int, base int64, index int) ([]unit, error) {
	count, start := 0, 0
	for off := 0; off < len(data); {
		l, k := binary.Uvarint(data[off:])
		if k <= 0 || int(l) > len(data)-off-k {
			return dst, fmt.Errorf("frontier block corrupt")
		}
		off += k + int(l)
		count++
		if count%unitSize == 0 || off == len(data) {
			m := (count-1)%unitSize + 1
			dst = append(dst, unit{index: index, base: base + int64(count-m), n: m, data: data[start:off]})
			index++
			start = off
		}
	}
	if count != n {
		return dst, fmt.Errorf("frontier block holds %d states, want %d", count, n)
	}
	return dst, nil
}

// appendItem appends enc to dst as a frontier item: its length (uvarint),
// then the encoding.
func appendItem(dst, enc []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(enc)))
	return append(dst, enc...)
}

// nextItem returns the first item of data and the rest; data was checked
// by splitUnits.
func nextItem(data []byte) (item, rest []byte) {
	l, k := binary.Uvarint(data)
	return data[k : k+int(l)], data[k+int(l):]
}

// records is the file of parent links: for state id k, at offset 16k, its
// fingerprint and its parent's id (noParent for initial states). It is
// written in id order and read only to rebuild a path.
type records struct {
	f *os.File
	w *bufio.Writer
	n int64
}

const noParent = ^uint64(0)

func newRecords(dir string) (*records, error) {
	f, err := os.CreateTemp(dir, "raftcheck-parents-*")
	if err != nil {
		return nil, fmt.Errorf("parent file: %w", err)
	}
	os.Remove(f.Name())
	return &records{f: f, w: bufio.NewWriterSize(f, 1<<20)}, nil
}

// addRaw appends n records already laid out (16 bytes each).
func (r *records) addRaw(b []byte, n int) error {
	_, err := r.w.Write(b)
	r.n += int64(n)
	return err
}

func (r *records) add(fp, parent uint64) error {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], fp)
	binary.LittleEndian.PutUint64(b[8:], parent)
	_, err := r.w.Write(b[:])
	r.n++
	return err
}

// chain returns the fingerprints from the initial state to state id.
func (r *records) chain(id uint64) ([]uint64, error) {
	if err := r.w.Flush(); err != nil {
		return nil, fmt.Errorf("parent file: %w", err)
	}
	var fps []uint64
	for id != noParent {
		var b [16]byte
		if _, err := r.f.ReadAt(b[:], int64(id)*16); err != nil && err != io.EOF {
			return nil, fmt.Errorf("parent file: %w", err)
		}
		fps = append(fps, binary.LittleEndian.Uint64(b[:8]))
		id = binary.LittleEndian.Uint64(b[8:])
		if len(fps) > 1<<24 {
			return nil, fmt.Errorf("parent file: cycle")
		}
	}
	for i, j := 0, len(fps)-1; i < j; i, j = i+1, j-1 {
		fps[i], fps[j] = fps[j], fps[i]
	}
	return fps, nil
}

func (r *records) close() { r.f.Close() }

// eachRecord calls fn on each of the first n parent records (fingerprint,
// parent id) read from src, in id order; short(k) is the error when src
// ends at record k.
func eachRecord(src io.Reader, n int64, fn func(k int64, fp, parent uint64) error, short func(k int64) error) error {
	in := bufio.NewReaderSize(io.LimitReader(src, n*16), 1<<20)
	var rec [16]byte
	for k := int64(0); k < n; k++ {
		if _, err := io.ReadFull(in, rec[:]); err != nil {
			return short(k)
		}
		if err := fn(k, binary.LittleEndian.Uint64(rec[:8]), binary.LittleEndian.Uint64(rec[8:])); err != nil {
			return err
		}
	}
	return nil
}
