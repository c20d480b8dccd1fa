package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/raftcheck/raftcheck/checker"
)

// progress shows a live line on a terminal: distinct and generated states,
// queue, depth, rate and memory.
type progress struct {
	bar *progressbar.ProgressBar
}

// newProgress returns nil when no progress is to be shown: mode "off", or
// "auto" when w is not a terminal.
func newProgress(w io.Writer, mode, what string) *progress {
	if mode == "off" {
		return nil
	}
	if mode == "auto" {
		f, ok := w.(*os.File)
		if !ok || !term.IsTerminal(int(f.Fd())) {
			return nil
		}
	}
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetDescription(what),
	)
	return &progress{bar: bar}
}

func (p *progress) update(s checker.Progress) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r := float64(s.Generated) / max(s.Elapsed.Seconds(), 1e-9)
	p.bar.Describe(fmt.Sprintf("distinct %s  generated %s  queue %s  depth %d  %s states/s  mem %s",
		human(float64(s.Distinct)), human(float64(s.Generated)), human(float64(s.Queue)), s.Depth, human(r), bytesHuman(int64(ms.Sys))))
	_ = p.bar.Set64(s.Distinct)
}

// conform shows the progress of explore conform.
func (p *progress) conform(paths, steps int) {
	p.bar.Describe(fmt.Sprintf("paths %s  steps %s", commas(int64(paths)), commas(int64(steps))))
	_ = p.bar.Set64(int64(paths))
}

// shrink shows the progress of explore shrink.
func (p *progress) shrink(candidates, length int) {
	p.bar.Describe(fmt.Sprintf("candidates %s  shortest so far %d steps", commas(int64(candidates)), length))
	_ = p.bar.Set64(int64(candidates))
}

func (p *progress) finish() {
	if p == nil {
		return
	}
	_ = p.bar.Finish()
	_ = p.bar.Close()
}
