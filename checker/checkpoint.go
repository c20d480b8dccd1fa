package checker

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Checkpoints let a long breadth-first run survive its process. Because
// the search is level-synchronous and its order does not depend on the
// number of workers, the state between two levels is small and complete:
// the parent file (every distinct state's fingerprint and parent, in id
// order — the visited set is exactly its fingerprints), the next level's
// encoded states, and a few counters. A checkpoint writes them to a
// directory; a resumed run reloads them and continues with the next
// level, so it finds the same counts, coverage, goals and counterexample
// as a run that was never stopped.
//
// Files of a checkpoint directory:
//
//	checkpoint.json  the counters (checkpointMeta), written last and
//	                 renamed into place, so it always describes complete files
//	parents.bin      the parent file, append-only; checkpoint.json gives
//	                 how many records of it are valid
//	level-D.bin      level D's states as frontier items (uvarint length,
//	                 encoding); the one checkpoint.json names is valid
//
// A run killed while writing a checkpoint resumes from the previous one.

// checkpointVersion is the format version of checkpoint.json.
const checkpointVersion = 1

// defaultCheckpointEvery is the interval between checkpoints when
// Options.CheckpointEvery is 0.
const defaultCheckpointEvery = time.Minute

// checkpointMeta is checkpoint.json: where the search stands at the start
// of level Depth.
type checkpointMeta struct {
	Version int `json:"version"`
	// ID is Options.CheckpointID: what the run checks (the caller's model
	// configuration and search options), so a checkpoint is never resumed
	// by a different run.
	ID string `json:"id"`
	// Depth is the level the resumed run expands next; Base the id of its
	// first state; Level how many states it holds, in file LevelFile.
	Depth     int    `json:"depth"`
	Base      int64  `json:"base"`
	Level     int64  `json:"level_states"`
	LevelFile string `json:"level_file"`
	// Records is the number of valid records in parents.bin: the distinct
	// states so far.
	Records   int64         `json:"records"`
	Generated int64         `json:"generated"`
	Elapsed   time.Duration `json:"elapsed_ns"`
	Coverage  Coverage      `json:"coverage"`
	// Goals holds, per goal in order, where it was first reached, or nil.
	Goals []*savedHit `json:"goals"`
	// Shard is a sharded run's split, once the split level is past.
	Shard *ShardInfo `json:"shard,omitempty"`
}

// savedHit is a hit of the breadth-first search (no direct path).
type savedHit struct {
	Parent uint64 `json:"parent"`
	FP     uint64 `json:"fp"`
}

// checkpointer writes the checkpoints of one run.
type checkpointer struct {
	dir   string
	every time.Duration
	last  time.Time
	// saved is how many parent records parents.bin already holds.
	saved int64
}

// checkCheckpointOptions rejects checkpoint options the run cannot honour.
func (r *run[S, A]) checkCheckpointOptions() error {
	if r.opts.Checkpoint == "" {
		if r.opts.Resume {
			return errors.New("checkpoint: Resume needs a Checkpoint directory")
		}
		return nil
	}
	if r.opts.Strategy != BFS {
		return errors.New("checkpoint: only breadth-first runs can be checkpointed")
	}
	if r.dec == nil {
		return errors.New("checkpoint: the model has no Decoder, so its states cannot be written to disk")
	}
	if err := os.MkdirAll(r.opts.Checkpoint, 0o755); err != nil {
		return fmt.Errorf("checkpoint directory: %w", err)
	}
	every := r.opts.CheckpointEvery
	if every <= 0 {
		every = defaultCheckpointEvery
	}
	r.ckpt = &checkpointer{dir: r.opts.Checkpoint, every: every, last: time.Now()}
	return nil
}

// levelStart is what a checkpoint of a level records: the search as it
// stood before the level's expansion began (a level cut short by a time
// limit has already added some of its successors).
type levelStart struct {
	level     *frontier
	base      int64 // id of the level's first state
	records   int64
	generated int64
	cov       Coverage
}

// startOfLevel captures the search before level, whose first state has
// id base, is expanded.
func (r *run[S, A]) startOfLevel(level *frontier, base int64) levelStart {
	return levelStart{level: level, base: base, records: r.parents.n, generated: r.levelGenerated, cov: r.res.Coverage.clone()}
}

// maybeCheckpoint writes a checkpoint of st when the interval has passed,
// or, with always, in any case (a run that stops before its end).
func (r *run[S, A]) maybeCheckpoint(st levelStart, always bool) error {
	c := r.ckpt
	if c == nil || (!always && time.Since(c.last) < c.every) {
		return nil
	}
	if err := r.writeCheckpoint(st); err != nil {
		return fmt.Errorf("checkpoint %s: %w", c.dir, err)
	}
	c.last = time.Now()
	return nil
}

// writeCheckpoint writes the parent records not yet saved, the level and
// then checkpoint.json, each synced before the next is relied on.
func (r *run[S, A]) writeCheckpoint(st levelStart) error {
	c := r.ckpt
	if err := r.parents.w.Flush(); err != nil {
		return err
	}
	if err := c.appendParents(r.parents, st.records); err != nil {
		return err
	}
	name := fmt.Sprintf("level-%d.bin", r.res.Depth)
	if err := writeLevel(filepath.Join(c.dir, name), st.level); err != nil {
		return err
	}
	meta := checkpointMeta{Version: checkpointVersion, ID: r.opts.CheckpointID, Depth: r.res.Depth,
		Base: st.base, Level: st.level.count, LevelFile: name, Records: st.records,
		Generated: st.generated, Elapsed: time.Since(r.start), Coverage: st.cov}
	for _, h := range r.goalHit {
		var s *savedHit
		if h != nil {
			s = &savedHit{Parent: h.parent, FP: h.fp}
		}
		meta.Goals = append(meta.Goals, s)
	}
	if sh := r.shard; sh != nil && sh.split && !sh.active {
		meta.Shard = &sh.info
	}
	old, _ := readMeta(c.dir)
	if err := writeFileSynced(filepath.Join(c.dir, "checkpoint.json"), func(w io.Writer) error {
		return json.NewEncoder(w).Encode(&meta)
	}); err != nil {
		return err
	}
	if old != nil && old.LevelFile != name {
		os.Remove(filepath.Join(c.dir, old.LevelFile))
	}
	return nil
}

// appendParents copies the records up to n that parents.bin lacks from
// the run's parent file, and syncs it.
func (c *checkpointer) appendParents(p *records, n int64) error {
	f, err := os.OpenFile(filepath.Join(c.dir, "parents.bin"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	// Anything past the saved records is from a checkpoint that did not
	// complete.
	if err := f.Truncate(c.saved * 16); err != nil {
		return err
	}
	src := io.NewSectionReader(p.f, c.saved*16, (n-c.saved)*16)
	if _, err := f.Seek(c.saved*16, io.SeekStart); err != nil {
		return err
	}
	if _, err := io.Copy(f, src); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	c.saved = n
	return nil
}

// writeLevel writes the level's items to path.
func writeLevel(path string, level *frontier) error {
	return writeFileSynced(path, func(w io.Writer) error {
		for i := range level.blocks {
			data, err := level.load(i)
			if err != nil {
				return err
			}
			if _, err := w.Write(data); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeFileSynced writes path through a temporary file that is synced and
// renamed into place, so path is always either the old or the new file.
func writeFileSynced(path string, write func(io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	err = write(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// readMeta reads dir's checkpoint.json.
func readMeta(dir string) (*checkpointMeta, error) {
	b, err := os.ReadFile(filepath.Join(dir, "checkpoint.json"))
	if err != nil {
		return nil, err
	}
	var m checkpointMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("checkpoint.json: %w", err)
	}
	if m.Version != checkpointVersion {
		return nil, fmt.Errorf("checkpoint.json: version %d, this checker reads %d", m.Version, checkpointVersion)
	}
	return &m, nil
}

// resume restores the run from its checkpoint directory and returns the
// level to expand next and its base id.
func (r *run[S, A]) resume() (*frontier, int64, error) {
	c := r.ckpt
	meta, err := readMeta(c.dir)
	if err != nil {
		return nil, 0, fmt.Errorf("resume from %s: %w", c.dir, err)
	}
	if meta.ID != r.opts.CheckpointID {
		return nil, 0, fmt.Errorf("resume from %s: the checkpoint is of another run (%s), not of this one (%s)", c.dir, meta.ID, r.opts.CheckpointID)
	}
	if len(meta.Goals) != len(r.goalHit) || !slices.Equal(meta.Coverage.Kinds, r.kinds) {
		return nil, 0, fmt.Errorf("resume from %s: the checkpoint's goals or action kinds differ from this run's", c.dir)
	}
	if err := r.restoreParents(meta.Records); err != nil {
		return nil, 0, fmt.Errorf("resume from %s: %w", c.dir, err)
	}
	level, err := r.readLevel(filepath.Join(c.dir, meta.LevelFile), meta.Level)
	if err != nil {
		return nil, 0, fmt.Errorf("resume from %s: %w", c.dir, err)
	}
	r.res.Depth, r.res.Resumed = meta.Depth, meta.Depth
	r.levelGenerated = meta.Generated
	r.generated.Store(meta.Generated)
	r.res.Coverage = meta.Coverage
	for g, h := range meta.Goals {
		if h != nil {
			r.goalHit[g] = &hit{parent: h.Parent, fp: h.FP}
		}
	}
	if sh := r.shard; sh != nil && meta.Shard != nil {
		if meta.Shard.Index != sh.info.Index || meta.Shard.Count != sh.info.Count {
			return nil, 0, fmt.Errorf("resume from %s: the checkpoint is of shard %d/%d", c.dir, meta.Shard.Index, meta.Shard.Count)
		}
		sh.info, sh.split = *meta.Shard, true
	}
	r.start = time.Now().Add(-meta.Elapsed)
	c.saved = meta.Records
	return level, meta.Base, nil
}

// restoreParents opens the run's parent file with the first n records of
// parents.bin and puts their fingerprints in the visited set.
func (r *run[S, A]) restoreParents(n int64) error {
	src, err := os.Open(filepath.Join(r.ckpt.dir, "parents.bin"))
	if err != nil {
		return err
	}
	defer src.Close()
	if r.parents, err = newRecords(r.opts.TempDir); err != nil {
		return err
	}
	return eachRecord(src, n, func(k int64, fp, parent uint64) error {
		if !r.table.insert(fp) {
			return fmt.Errorf("parents.bin: record %d repeats a fingerprint", k)
		}
		return r.parents.add(fp, parent)
	}, func(k int64) error {
		return fmt.Errorf("parents.bin holds %d records, checkpoint.json says %d", k, n)
	})
}

// readLevel reads a level file of n states into a frontier, checking
// that every item decodes.
func (r *run[S, A]) readLevel(path string, n int64) (*frontier, error) {
	level := r.newLevel()
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	in := bufio.NewReaderSize(f, 1<<20)
	var buf []byte
	var s S
	for k := int64(0); k < n; k++ {
		l, err := binary.ReadUvarint(in)
		if err != nil || l > 1<<20 {
			level.close()
			return nil, fmt.Errorf("%s: state %d of %d: truncated or corrupt", filepath.Base(path), k, n)
		}
		buf = grow(buf, int(l))
		if _, err := io.ReadFull(in, buf); err != nil {
			level.close()
			return nil, fmt.Errorf("%s: state %d of %d: truncated", filepath.Base(path), k, n)
		}
		if err := r.dec.Decode(buf, &s); err != nil {
			level.close()
			return nil, fmt.Errorf("%s: state %d: %w", filepath.Base(path), k, err)
		}
		if err := level.add(buf); err != nil {
			level.close()
			return nil, err
		}
	}
	return level, nil
}
