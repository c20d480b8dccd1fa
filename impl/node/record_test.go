package node

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/raftcheck/raftcheck/traces/validate"
)

// TestTraceValidates records a three-server run with writes, a leader
// restart (the log appended across it) and snapshots, and validates the
// event logs with traces/validate.
func TestTraceValidates(t *testing.T) {
	dir := t.TempDir()
	trace := func(i int) string { return filepath.Join(dir, fmt.Sprintf("s%d.ndjson", i+1)) }
	c := newCluster(t, 3, func(cfg *Config) {
		cfg.TracePath = trace(int(cfg.ID) - 1)
		cfg.SnapshotEntries = 20
	})
	c.propose("a")
	c.propose("b")
	l := c.leader()
	c.stop(l)
	c.start(l)
	for _, v := range values("v", 60) {
		c.propose(v)
	}
	c.stopAll()
	files := []string{trace(0), trace(1), trace(2)}
	res, err := validate.Run(files, validate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Events < 100 || res.Received == 0 {
		t.Fatalf("validated too little: %+v", res)
	}
	t.Logf("validated: %+v", res)
}
