package validate

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// Run reads one event log per server from files (in any order: each is
// placed by the server its events name) and validates the run.
func Run(files []string, opts Options) (Result, error) {
	logs := make([][]Event, len(files))
	for _, f := range files {
		evs, err := ReadFile(f)
		if err != nil {
			return Result{}, err
		}
		i := int(evs[0].Server) - 1
		if i >= len(files) {
			return Result{}, fmt.Errorf("%s: events of S%d, but the run has %d event logs (servers 1..%d)", f, i+1, len(files), len(files))
		}
		if logs[i] != nil {
			return Result{}, fmt.Errorf("%s: a second event log of S%d (the other is %s)", f, i+1, logs[i][0].File)
		}
		logs[i] = evs
	}
	return Validate(logs, opts)
}

// Outcome is the validation of one run of RunMany.
type Outcome struct {
	Files  []string
	Result Result
	Err    error
}

// RunMany validates runs (each a list of files, one per server) on
// workers goroutines (at least 1) and returns the outcomes in the order
// of runs.
func RunMany(runs [][]string, workers int, opts Options) []Outcome {
	out := make([]Outcome, len(runs))
	work := make(chan int)
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range work {
				res, err := Run(runs[k], opts)
				out[k] = Outcome{Files: runs[k], Result: res, Err: err}
			}
		}()
	}
	for k := range runs {
		work <- k
	}
	close(work)
	wg.Wait()
	return out
}

// RunFiles lists the event logs of a run directory: its *.ndjson files,
// sorted.
func RunFiles(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.ndjson"))
	if err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	if len(files) == 0 {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("validate: %w", err)
		}
		return nil, fmt.Errorf("validate: %s: no *.ndjson event logs", dir)
	}
	sort.Strings(files)
	return files, nil
}
