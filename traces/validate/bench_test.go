package validate_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/raftcheck/raftcheck/traces/validate"
	"github.com/raftcheck/raftcheck/traces/validate/sim"
)

// benchRun is a 3,000-event run of 3 servers (with production features,
// snapshots and restarts) as ndjson texts.
func benchRun(b *testing.B, seed uint64) [][]byte {
	b.Helper()
	logs, err := sim.Run(sim.Options{Servers: 3, Events: 3000, Seed: seed, Configure: configs["features"], Snapshots: true, Restarts: true})
	if err != nil {
		b.Fatal(err)
	}
	out := make([][]byte, len(logs))
	for i, evs := range logs {
		var buf bytes.Buffer
		w := validate.NewWriter(&buf)
		for k := range evs {
			if err := w.Write(&evs[k]); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		out[i] = buf.Bytes()
	}
	return out
}

// validateTexts decodes and validates one run.
func validateTexts(texts [][]byte) (validate.Result, error) {
	logs := make([][]validate.Event, len(texts))
	for i, t := range texts {
		evs, err := validate.Read(bytes.NewReader(t), fmt.Sprintf("s%d.ndjson", i+1))
		if err != nil {
			return validate.Result{}, err
		}
		logs[i] = evs
	}
	return validate.Validate(logs, validate.Options{})
}

// BenchmarkValidate3000Events decodes and validates one 3,000-event trace
// (goal: under 1 s).
func BenchmarkValidate3000Events(b *testing.B) {
	texts := benchRun(b, 1)
	size := 0
	for _, t := range texts {
		size += len(t)
	}
	b.SetBytes(int64(size))
	b.ResetTimer()
	for b.Loop() {
		res, err := validateTexts(texts)
		if err != nil || res.Events != 3000 {
			b.Fatalf("%+v %v", res, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/3000, "ns/event")
}

// BenchmarkValidate3000Traces decodes and validates 3,000 such traces (8
// distinct runs, cycled) on 2 workers (goal: under 1 minute).
func BenchmarkValidate3000Traces(b *testing.B) {
	var runs [][][]byte
	for seed := uint64(1); seed <= 8; seed++ {
		runs = append(runs, benchRun(b, seed))
	}
	b.ResetTimer()
	for b.Loop() {
		work := make(chan int)
		var wg sync.WaitGroup
		var failed sync.Once
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range work {
					if _, err := validateTexts(runs[k%len(runs)]); err != nil {
						failed.Do(func() { b.Error(err) })
					}
				}
			}()
		}
		for k := range 3000 {
			work <- k
		}
		close(work)
		wg.Wait()
	}
}

// TestWriteBenchRuns writes 8 runs of 3,000 events into
// $VALIDATE_BENCH_DIR/run1..run8, for timing `explore validate --runs`
// (docs/bench-validate.txt); it is skipped without the variable.
func TestWriteBenchRuns(t *testing.T) {
	dir := os.Getenv("VALIDATE_BENCH_DIR")
	if dir == "" {
		t.Skip("set VALIDATE_BENCH_DIR to write the benchmark's runs")
	}
	for seed := uint64(1); seed <= 8; seed++ {
		logs, err := sim.Run(sim.Options{Servers: 3, Events: 3000, Seed: seed, Configure: configs["features"], Snapshots: true, Restarts: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sim.WriteDir(filepath.Join(dir, fmt.Sprintf("run%d", seed)), logs); err != nil {
			t.Fatal(err)
		}
	}
}
