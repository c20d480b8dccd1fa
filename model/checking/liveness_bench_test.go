package checking

import (
	"runtime"
	"testing"

	"github.com/raftcheck/raftcheck/checker"
	"github.com/raftcheck/raftcheck/model"
)

// BenchmarkLiveness compares, on one model with the timers and the
// synchrony assumption, the safety run (invariants and transition
// properties only) with the liveness run (the same, then the liveness
// graph and its checks). It reports the states and the bytes allocated
// per state; docs/bench-liveness.txt has the figures and the commands.
func BenchmarkLiveness(b *testing.B) {
	cfg := faultyConfig()
	m := model.MustNew(cfg)
	fair, err := ParseFair(DefaultFair)
	if err != nil {
		b.Fatal(err)
	}
	for _, run := range []struct {
		name  string
		props func() checker.Properties[model.State, model.Action]
	}{
		{"run=safety", Properties(m, nil)},
		{"run=liveness", WithLiveness(m, Properties(m, nil), nil, fair)},
	} {
		b.Run(run.name, func(b *testing.B) {
			var states int64
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for range b.N {
				res, err := checker.Check[model.State, model.Action](Adapter{Model: m}, run.props, checker.Options{Workers: 1, Symmetry: true})
				if err != nil || !res.Complete || res.Violation != nil {
					b.Fatalf("run: %v, complete %v, violation %v", err, res.Complete, res.Violation)
				}
				states = res.Distinct
			}
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(states), "states")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/float64(states), "alloc-B/state")
		})
	}
}
