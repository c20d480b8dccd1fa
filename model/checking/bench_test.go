package checking

import (
	"testing"

	"github.com/raftcheck/raftcheck/checker"
	"github.com/raftcheck/raftcheck/model"
)

func BenchmarkDefaultBFS(b *testing.B) {
	m := model.MustNew(model.DefaultConfig())
	for b.Loop() {
		res, err := checker.Check[model.State, model.Action](Adapter{m}, Properties(m, nil), checker.Options{Workers: 1, Symmetry: true})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Generated)/b.Elapsed().Seconds()*float64(b.N), "gen/s")
	}
}
