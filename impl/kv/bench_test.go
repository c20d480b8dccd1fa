package kv

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raftcheck/raftcheck/spec"
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
			servers := make([]*Server, len(c.nodes))
			for i := range c.nodes {
				servers[i] = NewServer(c.nodes[i], c.stores[i], nil)
			}
			// put writes on the current leader, retrying on another leader
			// after a leader change (a loaded machine can cause one); the
			// retries count in the latency.
			put := func(key, value string) error {
				deadline := time.Now().Add(30 * time.Second)
				for {
					l := 0
					for i, nd := range c.nodes {
						if nd.Status().Role == spec.Leader {
							l = i
						}
					}
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
					_, err := servers[l].Do(ctx, Command{Op: OpPut, Key: key, Value: value})
					cancel()
					if err != nil {
						time.Sleep(5 * time.Millisecond) // an election is under way
					}
					if err == nil || time.Now().After(deadline) {
						return err
					}
				}
			}
			c.leader(b)
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
						if err := put(fmt.Sprintf("c%d-%d", w, k), value); err != nil {
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
