package checker_test

import (
	"fmt"
	"testing"

	"github.com/raftcheck/raftcheck/checker"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/model/checking"
)

// BenchmarkRaftDefault explores the default configuration of the Raft
// model (what `make explore` checks) with every property on, with one and
// two workers. It reports generated states per second, per second and core,
// and bytes of visited set per distinct state.
func BenchmarkRaftDefault(b *testing.B) {
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			m := model.MustNew(model.DefaultConfig())
			var res *checker.Result[model.State, model.Action]
			for b.Loop() {
				var err error
				res, err = checker.Check[model.State, model.Action](checking.Adapter{Model: m}, checking.Properties(m, nil),
					checker.Options{Workers: workers, Symmetry: true})
				if err != nil {
					b.Fatal(err)
				}
			}
			perSec := float64(res.Generated) * float64(b.N) / b.Elapsed().Seconds()
			b.ReportMetric(perSec, "gen/s")
			b.ReportMetric(perSec/float64(workers), "gen/s/core")
			b.ReportMetric(float64(res.TableBytes)/float64(res.Distinct), "B/state")
			b.ReportMetric(float64(res.Distinct), "states")
		})
	}
}
