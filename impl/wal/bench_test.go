package wal

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/raftcheck/raftcheck/spec"
)

// BenchmarkAppend measures durable appends (each returns after fsync) of
// 100-byte values with 1 and 16 concurrent appenders, reporting
// throughput and how many fsyncs each append cost.
func BenchmarkAppend(b *testing.B) {
	value := spec.Value(make([]byte, 100))
	for _, appenders := range []int{1, 16} {
		b.Run(fmt.Sprintf("appenders=%d", appenders), func(b *testing.B) {
			w, _, err := Open(b.TempDir(), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for range appenders {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						if _, err := w.Append(1, value); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
			b.ReportMetric(float64(w.Stats().Syncs)/float64(b.N), "fsyncs/op")
		})
	}
}
