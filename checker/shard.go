package checker

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// Sharding splits one breadth-first search into independent parts that
// can run on different machines. Every shard runs the same search up to
// the split level: the first level holding at least ShardMinStates states
// per shard (a function of the model and the bounds alone, so every shard
// finds the same one). There each shard expands only the states whose
// fingerprint falls to it (fingerprint mod Shards) and continues from
// them alone. Every reachable state at or past the split level descends
// from some split-level state, so the shards' visited sets together hold
// every state the whole search holds: the union of their fingerprints
// (Options.ShardFingerprints, merged by MergeFingerprints) is the whole
// search's distinct count, and a violation or goal of the whole search is
// found by the shard owning the split-level state on its shortest path,
// at the same depth. A state reachable from two shards' parts is explored
// by both, so the shards' generated counts add up to more than the whole
// search's; ShardInfo keeps the shared prefix's counts so a merge counts
// it once.

// defaultShardMinStates is Options.ShardMinStates's default.
const defaultShardMinStates = 64

// ShardInfo describes a sharded run's split (Result.Shard).
type ShardInfo struct {
	Index, Count int
	// SplitDepth is the level whose states were divided among the shards
	// (0: the search ended before a level was large enough, so this shard
	// did the whole search).
	SplitDepth int
	// The counts of the shared prefix, the levels before the split, which
	// every shard computes: merged counts take them once.
	PrefixGenerated int64
	PrefixDistinct  int64
	PrefixCoverage  Coverage
}

// sharding is a run's split state.
type sharding struct {
	info  ShardInfo
	min   int64
	split bool // the split level is being or has been expanded
	// active is set while the split level is expanded: successors skips
	// the states of other shards.
	active bool
}

// checkShardOptions validates the shard options and sets up the split.
func (r *run[S, A]) checkShardOptions() error {
	o := r.opts
	if o.Shards <= 1 {
		if o.Shard != 0 || o.ShardFingerprints != "" {
			return errors.New("shard: Shard and ShardFingerprints need Shards > 1")
		}
		return nil
	}
	switch {
	case o.Shard < 0 || o.Shard >= o.Shards:
		return fmt.Errorf("shard: %d is not in 0..%d", o.Shard, o.Shards-1)
	case o.Strategy != BFS:
		return errors.New("shard: only breadth-first runs can be sharded")
	case r.dec == nil:
		return errors.New("shard: the model has no Decoder, so the split level's states cannot be assigned")
	}
	minStates := int64(o.ShardMinStates)
	if minStates <= 0 {
		minStates = defaultShardMinStates
	}
	r.shard = &sharding{info: ShardInfo{Index: o.Shard, Count: o.Shards}, min: minStates * int64(o.Shards)}
	r.res.Shard = &r.shard.info
	return nil
}

// maybeSplit decides, before a level is expanded, whether it is the split
// level, and if so records the prefix and makes the expansion skip the
// other shards' states.
func (r *run[S, A]) maybeSplit(level *frontier) {
	sh := r.shard
	if sh == nil {
		return
	}
	sh.active = false
	if sh.split || level.count < sh.min {
		return
	}
	sh.split, sh.active = true, true
	sh.info.SplitDepth = r.res.Depth
	sh.info.PrefixGenerated = r.levelGenerated
	sh.info.PrefixDistinct = r.table.len()
	sh.info.PrefixCoverage = r.res.Coverage.clone()
}

// otherShard reports whether the split level's state encoded as item
// belongs to another shard (its successors are then not computed).
func (r *run[S, A]) otherShard(item []byte) bool {
	sh := r.shard
	return sh != nil && sh.active && int(hashKey(item)%uint64(sh.info.Count)) != sh.info.Index
}

// writeShardFingerprints writes the fingerprints of every state the run
// stored, sorted, as little-endian uint64s, to path.
func (r *run[S, A]) writeShardFingerprints(path string) error {
	if err := r.parents.w.Flush(); err != nil {
		return err
	}
	fps := make([]uint64, 0, r.parents.n)
	err := eachRecord(io.NewSectionReader(r.parents.f, 0, r.parents.n*16), r.parents.n, func(_ int64, fp, _ uint64) error {
		fps = append(fps, fp)
		return nil
	}, func(k int64) error { return fmt.Errorf("parent file: record %d unreadable", k) })
	if err != nil {
		return err
	}
	slices.Sort(fps)
	return writeFileSynced(path, func(w io.Writer) error {
		var b [8]byte
		for _, fp := range fps {
			binary.LittleEndian.PutUint64(b[:], fp)
			if _, err := w.Write(b[:]); err != nil {
				return err
			}
		}
		return nil
	})
}

// MergeFingerprints returns the number of distinct fingerprints in the
// sorted fingerprint files of a sharded run (Options.ShardFingerprints):
// the distinct states of the whole search.
func MergeFingerprints(paths []string) (int64, error) {
	type cursor struct {
		r    *bufio.Reader
		cur  uint64
		done bool
		name string
	}
	var cs []*cursor
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		c := &cursor{r: bufio.NewReaderSize(f, 1<<20), name: p}
		cs = append(cs, c)
	}
	var b [8]byte
	advance := func(c *cursor) error {
		prev, first := c.cur, !c.done && c.cur == 0
		if _, err := io.ReadFull(c.r, b[:]); err != nil {
			if err == io.EOF {
				c.done = true
				return nil
			}
			return fmt.Errorf("%s: truncated fingerprint file", c.name)
		}
		c.cur = binary.LittleEndian.Uint64(b[:])
		if !first && c.cur <= prev {
			return fmt.Errorf("%s: fingerprints not sorted", c.name)
		}
		return nil
	}
	for _, c := range cs {
		if err := advance(c); err != nil {
			return 0, err
		}
	}
	var n int64
	for {
		var low *cursor
		for _, c := range cs {
			if !c.done && (low == nil || c.cur < low.cur) {
				low = c
			}
		}
		if low == nil {
			return n, nil
		}
		v := low.cur
		n++
		for _, c := range cs {
			for !c.done && c.cur == v {
				if err := advance(c); err != nil {
					return 0, err
				}
			}
		}
	}
}
