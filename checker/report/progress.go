package report

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

// Progress shows a live line on a terminal; a nil *Progress shows nothing,
// so a caller need not test for it before Finish.
type Progress struct {
	bar *progressbar.ProgressBar
}

// NewProgress returns nil when no progress is to be shown: mode "off", or
// "auto" when w is not a terminal ("on" shows it anyway). what names the
// work ("exploring").
func NewProgress(w io.Writer, mode, what string) *Progress {
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
	return &Progress{bar: bar}
}

// Update shows a snapshot of a checker run: distinct and generated states,
// queue, depth, rate and memory. It is a checker.Options.Progress.
func (p *Progress) Update(s checker.Progress) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r := float64(s.Generated) / max(s.Elapsed.Seconds(), 1e-9)
	p.Describe(fmt.Sprintf("distinct %s  generated %s  queue %s  depth %d  %s states/s  mem %s",
		Human(float64(s.Distinct)), Human(float64(s.Generated)), Human(float64(s.Queue)), s.Depth, Human(r), BytesHuman(int64(ms.Sys))),
		s.Distinct)
}

// Describe shows the line text, and n as the count of the spinner.
func (p *Progress) Describe(text string, n int64) {
	p.bar.Describe(text)
	_ = p.bar.Set64(n)
}

// Finish clears the line.
func (p *Progress) Finish() {
	if p == nil {
		return
	}
	_ = p.bar.Finish()
	_ = p.bar.Close()
}
