package implcluster

import (
	"os"
	"testing"

	"github.com/raftcheck/raftcheck/conform"
	"github.com/raftcheck/raftcheck/model"
)

// BenchmarkTransitions compares every transition of the small
// configuration on the implementation, on two workers. With
// RAFTCHECK_BENCH_DEFAULT=1 it runs the default configuration of explore
// (5.9 M states, 22.5 M transitions) instead:
//
//	RAFTCHECK_BENCH_DEFAULT=1 go test -run XXX -bench Transitions -benchtime 1x -count 6 ./conform/implcluster/
func BenchmarkTransitions(b *testing.B) {
	cfg := smallTransitions
	if os.Getenv("RAFTCHECK_BENCH_DEFAULT") != "" {
		cfg = model.DefaultConfig()
	}
	var transitions int64
	for b.Loop() {
		res, err := conform.Transitions(conform.TransitionOptions{Config: cfg, System: memory, Abstraction: conform.Exact, Workers: 2, Symmetry: true})
		if err != nil {
			b.Fatal(err)
		}
		if res.Divergence != nil || !res.Explored.Complete {
			b.Fatalf("diverged or incomplete: %+v", res.Explored)
		}
		transitions += res.Explored.Generated
	}
	b.ReportMetric(float64(transitions)/b.Elapsed().Seconds(), "transitions/s")
}
