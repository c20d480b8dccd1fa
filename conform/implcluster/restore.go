package implcluster

import "github.com/raftcheck/raftcheck/spec"

// Restore puts the cluster directly into a state of the model (see
// cluster.Cluster.Restore), which makes the system a conform.Restorer:
// exhaustive transition conformance restores it at the source of every
// transition and takes one step.
func (s *system) Restore(st *spec.State, durable []spec.Durable) error {
	return s.c.Restore(st, durable)
}
