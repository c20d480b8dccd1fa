//go:build !raftfaults

package cluster

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/raftcheck/raftcheck/impl/raft"
)

// Without -tags raftfaults a cluster with a fault is refused, saying that
// the tag is missing, before any storage is created; without faults it
// runs.
func TestFaultsNeedTheBuildTag(t *testing.T) {
	dir := t.TempDir()
	c, err := New(3, Options{Dir: dir, Faults: raft.Faults{Figure8Commit: true}})
	if c != nil || !errors.Is(err, raft.ErrFaultsNotCompiled) || !strings.Contains(err.Error(), "-tags raftfaults") {
		t.Fatalf("New with a fault: %v, %v; want raft.ErrFaultsNotCompiled", c, err)
	}
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		t.Fatalf("a refused cluster created %d files in its directory", len(es))
	}
	newCluster(t, 3, Options{Dir: dir, Faults: raft.Faults{}})
}
