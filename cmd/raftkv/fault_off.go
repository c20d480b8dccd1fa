//go:build !raftfaults

package main

import (
	"flag"

	"github.com/raftcheck/raftcheck/impl/raft"
)

// faultFlag: a production build has no --fault flag (the core's fault
// switches are compiled only with -tags raftfaults).
func faultFlag(*flag.FlagSet) func() (raft.Faults, error) {
	return func() (raft.Faults, error) { return raft.Faults{}, nil }
}
