package checker

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// The visited set is an open-addressing table of 64-bit fingerprints,
// split into shards by the top bits so that shards grow independently and
// can be filled in parallel, each by one goroutine, in a fixed order.
//
// Within a shard the home slot of a fingerprint is a multiply-shift of its
// remaining bits onto the table size (which need not be a power of two),
// and collisions probe linearly. A shard grows by half when it is 80%
// full, so its load stays between 53% and 80%: 10 to 15 bytes per
// fingerprint.
const (
	shardBits = 6
	numShards = 1 << shardBits
	maxLoad   = 0.80
	growth    = 1.5
	minSlots  = 1024
)

// A shard has one writer at a time, but with several workers its slots
// are read (contains, touch) while the writer inserts: slots are loaded
// and stored atomically, and a grown table is built aside and published
// whole. A reader that still holds the old table may miss the newest
// fingerprints, which only costs it a redundant candidate: newness itself
// is decided by the writer, in order.
type fpShard struct {
	tab   atomic.Pointer[[]uint64]
	count int
	limit int // grow when count reaches it
}

type fpSet struct {
	shards [numShards]fpShard
}

func newFPSet() *fpSet {
	s := &fpSet{}
	for i := range s.shards {
		s.shards[i].resize(minSlots)
	}
	return s
}

func shardOf(fp uint64) int { return int(fp >> (64 - shardBits)) }

// home is fp's first slot in a table of n slots.
func home(fp uint64, n int) int {
	hi, _ := bits.Mul64(fp<<shardBits, uint64(n))
	return int(hi)
}

// contains reports whether fp is in the set.
func (s *fpSet) contains(fp uint64) bool {
	slots := *s.shards[shardOf(fp)].tab.Load()
	for i := home(fp, len(slots)); ; {
		switch atomic.LoadUint64(&slots[i]) {
		case fp:
			return true
		case 0:
			return false
		}
		i++
		if i == len(slots) {
			i = 0
		}
	}
}

// touch loads the home slot of every fingerprint in fps and returns a
// value that depends on them all. The loads have no branch between them,
// so the processor issues them together and their cache misses overlap;
// the lookups that follow then find the slots in cache. (Go has no
// prefetch instruction; contains alone, whose found/empty branch is
// unpredictable, pays one miss after another.)
func (s *fpSet) touch(fps []uint64) uint64 {
	var sum uint64
	for _, fp := range fps {
		slots := *s.shards[shardOf(fp)].tab.Load()
		sum += atomic.LoadUint64(&slots[home(fp, len(slots))])
	}
	return sum
}

// insert adds fp to its shard and reports whether it was new. Only one
// goroutine may insert into a shard at a time.
func (sh *fpShard) insert(fp uint64) bool {
	slots := *sh.tab.Load()
	i := home(fp, len(slots))
	for v := atomic.LoadUint64(&slots[i]); v != 0; v = atomic.LoadUint64(&slots[i]) {
		if v == fp {
			return false
		}
		if i++; i == len(slots) {
			i = 0
		}
	}
	if sh.count >= sh.limit {
		// Grown only for a fingerprint that is new, so that the table's
		// size depends on the states alone, not on how often the same
		// one was offered.
		sh.resize(int(float64(len(slots)) * growth))
		slots = *sh.tab.Load()
		i = freeSlot(slots, fp)
	}
	atomic.StoreUint64(&slots[i], fp)
	sh.count++
	return true
}

// freeSlot returns the first empty slot from fp's home; fp is not in
// slots.
func freeSlot(slots []uint64, fp uint64) int {
	i := home(fp, len(slots))
	for atomic.LoadUint64(&slots[i]) != 0 {
		if i++; i == len(slots) {
			i = 0
		}
	}
	return i
}

// resize moves the shard into a new table of n slots, built before it is
// published.
func (sh *fpShard) resize(n int) {
	slots := make([]uint64, n)
	if old := sh.tab.Load(); old != nil {
		for _, fp := range *old {
			if fp != 0 {
				slots[freeSlot(slots, fp)] = fp
			}
		}
	}
	sh.limit = int(float64(n) * maxLoad)
	sh.tab.Store(&slots)
}

// growFor grows, on up to workers goroutines, every shard that would
// reach its limit on receiving its share of n more fingerprints. A shard
// that receives more than its share still grows when it must.
func (s *fpSet) growFor(n int64, workers int) {
	per := int(n/numShards) + 1
	var todo []int
	for i := range s.shards {
		if sh := &s.shards[i]; sh.count+per >= sh.limit {
			todo = append(todo, i)
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, len(todo)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := int(next.Add(1) - 1); k < len(todo); k = int(next.Add(1) - 1) {
				sh := &s.shards[todo[k]]
				size := len(*sh.tab.Load())
				for float64(sh.count+per) >= float64(size)*maxLoad {
					size = int(float64(size) * growth)
				}
				sh.resize(size)
			}
		}()
	}
	wg.Wait()
}

// insert adds fp and reports whether it was new (single goroutine).
func (s *fpSet) insert(fp uint64) bool { return s.shards[shardOf(fp)].insert(fp) }

// len is the number of fingerprints stored.
func (s *fpSet) len() int64 {
	var n int64
	for i := range s.shards {
		n += int64(s.shards[i].count)
	}
	return n
}

// bytes is the memory held by the table.
func (s *fpSet) bytes() int64 {
	var n int64
	for i := range s.shards {
		n += int64(len(*s.shards[i].tab.Load())) * 8
	}
	return n
}

// fingerprint maps a hash to a non-zero fingerprint (0 marks an empty slot).
func fingerprint(h uint64) uint64 {
	if h == 0 {
		return 1
	}
	return h
}
