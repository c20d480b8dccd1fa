package kv

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkPut measures acknowledged writes on a three-server cluster over
// loopback TCP with the write-ahead log fsyncing: 128-byte values put
// through Server.Do on the leader (proposal, replication, commit, apply,
// acknowledgement; no HTTP), by 1 and by 16 concurrent clients, each with
// one write outstanding. It reports ops/s and the p50 and p99 latency.
func BenchmarkPut(b *testing.B) {
	for _, clients := range []int{1, 16} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			c := newKVCluster(b, 10*time.Millisecond)
			l := c.leader(b)
			srv := NewServer(c.nodes[l], c.stores[l], nil)
			value := strings.Repeat("x", 128)
			lat := make([][]time.Duration, clients)
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for w := range clients {
				n := b.N / clients
				if w < b.N%clients {
					n++
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := range n {
						t0 := time.Now()
						// The timeout turns a write lost to a leader change
						// (which a loaded machine can cause) into a failure
						// rather than a hang.
						ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
						_, err := srv.Do(ctx, Command{Op: OpPut, Key: fmt.Sprintf("c%d-%d", w, k), Value: value})
						cancel()
						if err != nil {
							b.Error(err)
							return
						}
						lat[w] = append(lat[w], time.Since(t0))
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			all := slices.Concat(lat...)
			slices.Sort(all)
			if len(all) == 0 {
				return
			}
			pct := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))].Microseconds()) / 1000 }
			b.ReportMetric(float64(len(all))/elapsed.Seconds(), "ops/s")
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
		})
	}
}
