//go:build !raftfaults

package raft

import (
	"errors"
	"strings"
	"testing"
	"unsafe"
)

// Without the build tag a node has no fault switches, and asking for one
// fails with ErrFaultsNotCompiled, saying which tag is missing; the zero
// Faults builds an ordinary node.
func TestFaultsNeedTheBuildTag(t *testing.T) {
	if FaultsCompiled || unsafe.Sizeof(faultSwitches{}) != 0 {
		t.Fatalf("FaultsCompiled %v, fault switches of %d bytes", FaultsCompiled, unsafe.Sizeof(faultSwitches{}))
	}
	cfg := Config{ID: 1, Servers: 3}
	for _, f := range []Faults{{Figure8Commit: true}, {VoteWithoutLogCheck: true}, {TruncateOnStaleAppend: true},
		{ForgetVoteOnRestart: true}, {CommitFromLeaderCommit: true, Figure8Commit: true}} {
		r, err := NewWithFaults(cfg, f)
		if r != nil || !errors.Is(err, ErrFaultsNotCompiled) || !errors.Is(f.Validate(), ErrFaultsNotCompiled) {
			t.Fatalf("NewWithFaults(%+v): %v, %v; want ErrFaultsNotCompiled", f, r, err)
		}
		if msg := err.Error(); !strings.Contains(msg, "fault switches are compiled only with -tags raftfaults") || !strings.Contains(msg, f.names()) {
			t.Fatalf("NewWithFaults(%+v): error %q does not name the faults and the tag", f, msg)
		}
	}
	if r, err := NewWithFaults(cfg, Faults{}); err != nil || r == nil || (Faults{}).Validate() != nil || (Faults{}).Any() {
		t.Fatalf("NewWithFaults with no faults: %v", err)
	}
}
