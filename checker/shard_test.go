package checker

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestShardsCoverTheWholeSearch: the shards of a run split the search
// (each stores fewer states than the whole), their fingerprints together
// are exactly the whole search's, and the shortest counterexample among
// them is as short as the whole search's, for several shard counts, with
// and without symmetry, with one and several workers.
func TestShardsCoverTheWholeSearch(t *testing.T) {
	base := &counters{n: 4, max: 3}
	models := map[string]Model[cstate, inc]{"plain": base, "symmetric": symCounters{base}}
	for name, m := range models {
		for _, limit := range []int{0, 9} {
			whole := check(t, m, limit, Options{Symmetry: true})
			for _, n := range []int{2, 3, 5} {
				dir := t.TempDir()
				var files []string
				shortest, reached, smaller := -1, false, false
				for i := range n {
					file := filepath.Join(dir, fmt.Sprintf("shard-%d", i))
					files = append(files, file)
					res := check(t, m, limit, Options{Symmetry: true, Workers: 1 + i%2, Shard: i, Shards: n,
						ShardMinStates: 1, ShardFingerprints: file})
					if res.Shard == nil || res.Shard.SplitDepth == 0 {
						t.Fatalf("%s shard %d/%d: no split (%+v)", name, i, n, res.Shard)
					}
					// Descendants of the split level overlap a lot in the
					// symmetric model's lattice; in the plain one each
					// shard keeps a part.
					if limit == 0 && name == "plain" && res.Distinct >= whole.Distinct {
						t.Fatalf("%s shard %d/%d stored %d states of %d: the search was not split", name, i, n, res.Distinct, whole.Distinct)
					}
					if v := res.Violation; v != nil && (shortest < 0 || v.Path.Len() < shortest) {
						shortest = v.Path.Len()
					}
					reached = reached || res.Goals[0].Reached
					if res.Generated < whole.Generated {
						smaller = true
					}
				}
				if !smaller {
					t.Fatalf("%s, %d shards: no shard did less work than the whole search", name, n)
				}
				if limit == 0 {
					got, err := MergeFingerprints(files)
					if err != nil {
						t.Fatal(err)
					}
					if got != whole.Distinct {
						t.Fatalf("%s, %d shards: %d distinct states together, the whole search %d", name, n, got, whole.Distinct)
					}
				} else if shortest != whole.Violation.Path.Len() {
					t.Fatalf("%s, %d shards: shortest counterexample %d steps, the whole search's %d", name, n, shortest, whole.Violation.Path.Len())
				}
				if reached != whole.Goals[0].Reached {
					t.Fatalf("%s, %d shards: goal reached %v, whole search %v", name, n, reached, whole.Goals[0].Reached)
				}
			}
		}
	}
}

func TestShardOptionErrors(t *testing.T) {
	m := &counters{n: 3, max: 2}
	for want, o := range map[string]Options{
		"not in 0..2":        {Shard: 3, Shards: 3},
		"only breadth-first": {Strategy: DFS, Shard: 0, Shards: 2},
		"need Shards > 1":    {Shard: 1},
	} {
		_, err := Check(m, props(0), o)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: error %v, want %q", o, err, want)
		}
	}
	if _, err := MergeFingerprints([]string{filepath.Join(t.TempDir(), "none")}); err == nil {
		t.Error("a missing fingerprint file merged")
	}
}

// TestShardResumes: a shard checkpointed past its split resumes to the
// same result, split included.
func TestShardResumes(t *testing.T) {
	m := &counters{n: 4, max: 3}
	opts := Options{Shard: 1, Shards: 3, ShardMinStates: 2}
	want := check(t, m, 0, opts)
	for stop := 2; stop < want.Depth; stop++ {
		dir := t.TempDir()
		first := opts
		first.Checkpoint, first.CheckpointEvery, first.CheckpointID, first.MaxDepth = dir, 1, "s", stop
		check(t, m, 0, first)
		again := opts
		again.Checkpoint, again.CheckpointID, again.Resume = dir, "s", true
		got := check(t, m, 0, again)
		sameOutcome(t, fmt.Sprintf("shard resumed at %d", stop), got, want)
		if got.Shard.SplitDepth != want.Shard.SplitDepth ||
			got.Shard.PrefixDistinct != want.Shard.PrefixDistinct || got.Shard.PrefixGenerated != want.Shard.PrefixGenerated {
			t.Fatalf("resumed at %d: split %+v, want %+v", stop, got.Shard, want.Shard)
		}
	}
}
