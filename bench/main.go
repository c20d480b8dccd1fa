// Command bench runs raftkv's core (impl/node, impl/kv) and etcd raft
// (go.etcd.io/raft/v3 with the same WAL, a transport of the same design
// and the same kv.Store and kv.Server) side by side in one process: three
// servers on loopback, fsync on, 128-byte puts through kv.Server.Do on the
// leader (proposal, replication, commit, apply), by 1 and by 16 clients.
// The systems alternate round by round, so that the load of a shared
// machine falls on both alike. It prints one line per run in Go benchmark
// format (for benchstat) and a summary with medians and the ratios.
//
//	go run . -rounds 6 -duration 5s > out.txt; benchstat -col /sys out.txt
//
// With -systems raftkv,raftkv-trace it compares raftkv with recording off
// and on (impl/node Config.TracePath) instead.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/raftcheck/raftcheck/impl/kv"
	"github.com/raftcheck/raftcheck/spec"
)

// result is one run of one system at one client count.
type result struct {
	ops      int
	elapsed  time.Duration
	p50, p99 time.Duration
}

func (r result) opsPerSec() float64 { return float64(r.ops) / r.elapsed.Seconds() }

func main() {
	rounds := flag.Int("rounds", 6, "rounds; each runs every system at every client count")
	duration := flag.Duration("duration", 5*time.Second, "length of one run")
	clientsFlag := flag.String("clients", "1,16", "client counts, comma-separated")
	systemsFlag := flag.String("systems", "raftkv,etcd", "systems to compare: raftkv, etcd, raftkv-trace")
	dirFlag := flag.String("dir", "", "directory for the WALs (default: the system's temp dir)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the first system's last run to this file")
	flag.Parse()
	clients, err := parseInts(*clientsFlag)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: -clients:", err)
		os.Exit(2)
	}
	systems := strings.Split(*systemsFlag, ",")
	for _, s := range systems {
		if s != "raftkv" && s != "etcd" && s != "raftkv-trace" {
			fmt.Fprintf(os.Stderr, "bench: -systems: unknown system %q (raftkv, etcd, raftkv-trace)\n", s)
			os.Exit(2)
		}
	}
	if err := runAll(*rounds, *duration, clients, systems, *dirFlag, *cpuprofile); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		var n int
		if _, err := fmt.Sscan(f, &n); err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// runAll runs the rounds, alternating which system goes first, prints
// each run as a benchmark line and then the summary.
func runAll(rounds int, d time.Duration, clients []int, systems []string, dir, cpuprofile string) error {
	if dir == "" {
		dir = os.TempDir()
	}
	res := map[string][]result{}
	for r := range rounds {
		for _, c := range clients {
			order := slices.Clone(systems)
			if r%2 == 1 {
				slices.Reverse(order)
			}
			for _, sys := range order {
				prof := cpuprofile != "" && sys == systems[0]
				x, err := runOne(sys, c, d, dir, prof, cpuprofile)
				if err != nil {
					return fmt.Errorf("round %d, %s, %d clients: %w", r+1, sys, c, err)
				}
				key := fmt.Sprintf("%s/%d", sys, c)
				res[key] = append(res[key], x)
				fmt.Printf("BenchmarkPut/sys=%s/clients=%d \t%d\t%d ns/op\t%.0f ops/s\t%.3f p50-ms\t%.3f p99-ms\n",
					sys, c, x.ops, x.elapsed.Nanoseconds()/int64(max(x.ops, 1)), x.opsPerSec(), ms(x.p50), ms(x.p99))
			}
		}
	}
	summary(res, clients, systems)
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// runOne starts a fresh cluster of sys, runs c clients for d, and stops it.
func runOne(sys string, c int, d time.Duration, base string, prof bool, cpuprofile string) (result, error) {
	dir, err := tempDir(base)
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	var cl *cluster
	switch sys {
	case "etcd":
		cl, err = startEtcd(dir, 3)
	case "raftkv-trace":
		cl, err = startRaftkv(dir, dir, 3)
	default:
		cl, err = startRaftkv(dir, "", 3)
	}
	if err != nil {
		return result{}, err
	}
	if _, err := cl.leader(); err != nil {
		cl.stop()
		return result{}, err
	}
	if prof {
		stop, err := startProfile(cpuprofile)
		if err != nil {
			cl.stop()
			return result{}, err
		}
		defer stop()
	}
	x, err := workload(cl, c, d)
	if serr := cl.stop(); err == nil && serr != nil {
		err = fmt.Errorf("stop: %w", serr)
	}
	return x, err
}

// startProfile profiles the current run (each profiled run rewrites the
// file: profile with one round and one client count).
func startProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// workload runs c clients for d, each putting 128-byte values under keys
// of its own, one write outstanding, through the current leader's
// kv.Server.Do (after a leader change the put is retried on the new
// leader; the retry counts in its latency).
func workload(cl *cluster, c int, d time.Duration) (result, error) {
	value := strings.Repeat("x", 128)
	lat := make([][]time.Duration, c)
	errs := make([]error, c)
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(d)
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; time.Now().Before(end); k++ {
				t0 := time.Now()
				if err := put(cl, fmt.Sprintf("c%d-%d", w, k), value); err != nil {
					errs[w] = err
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		return result{}, fmt.Errorf("no put completed: %v", errs)
	}
	pct := func(p float64) time.Duration { return all[int(p*float64(len(all)-1))] }
	return result{ops: len(all), elapsed: elapsed, p50: pct(0.50), p99: pct(0.99)}, nil
}

func put(cl *cluster, key, value string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		l := 0
		for i, m := range cl.members {
			if m.Status().Role == spec.Leader {
				l = i
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := cl.servers[l].Do(ctx, kv.Command{Op: kv.OpPut, Key: key, Value: value})
		cancel()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(5 * time.Millisecond) // an election is under way
	}
}

// summary prints, per client count, each system's median ops/s, p50 and
// p99 over the rounds and the ratio of the first system to the others.
func summary(res map[string][]result, clients []int, systems []string) {
	fmt.Printf("\n# medians over the rounds\n# clients  system        ops/s     p50-ms   p99-ms   ratio %s/system (ops/s)\n", systems[0])
	for _, c := range clients {
		base := median(res[fmt.Sprintf("%s/%d", systems[0], c)], result.opsPerSec)
		for _, sys := range systems {
			rs := res[fmt.Sprintf("%s/%d", sys, c)]
			ops := median(rs, result.opsPerSec)
			p50 := median(rs, func(r result) float64 { return ms(r.p50) })
			p99 := median(rs, func(r result) float64 { return ms(r.p99) })
			fmt.Printf("# %7d  %-12s %8.0f  %7.3f  %7.3f   %.2f%s\n", c, sys, ops, p50, p99, base/ops,
				pairedRatios(res[fmt.Sprintf("%s/%d", systems[0], c)], rs))
		}
	}
}

func median(rs []result, f func(result) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if len(v) == 0 {
		return 0
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// pairedRatios lists the ratio of a's ops/s to b's round by round (the two
// ran back to back in each round), empty when a is b.
func pairedRatios(a, b []result) string {
	if len(a) != len(b) || len(a) == 0 || &a[0] == &b[0] {
		return ""
	}
	var out []string
	for i := range a {
		out = append(out, fmt.Sprintf("%.2f", a[i].opsPerSec()/b[i].opsPerSec()))
	}
	return "   per round: " + strings.Join(out, " ")
}
