package view

import (
	"strings"
	"testing"
)

// TestViewerLassoInBrowser: on a lasso the page marks where the cycle
// starts and ends in the step list and, on every frame of the cycle, says
// that it repeats forever; on a lasso that stutters, the last frame says
// so. (Run in headless Chromium, as TestViewerInBrowser.)
func TestViewerLassoInBrowser(t *testing.T) {
	browser := findViewerBrowser(t)
	frames := viewerElectionFrames()
	n := frames[len(frames)-1].Step
	for _, k := range []int{2, n} {
		loop := k
		st := runViewerSelftest(t, browser, Page{Title: "a lasso", Frames: frames, Loop: &loop}, "step=0")
		for i := range frames {
			step, banner := frames[i].Step, st.Steps[i].Loop
			switch {
			case step <= k && step != n:
				if banner != nil {
					t.Errorf("loop %d, step %d: banner %q before the cycle", k, step, *banner)
				}
			case step == n && k == n:
				if banner == nil || !strings.Contains(*banner, "stutters forever") {
					t.Errorf("loop %d, last step: banner %v, want the stutter", k, banner)
				}
			case step == n:
				if banner == nil || !strings.Contains(*banner, "is the state after step 2") || !strings.Contains(*banner, "repeat forever") {
					t.Errorf("loop %d, last step: banner %v, want the way back to step 2", k, banner)
				}
			default:
				if banner == nil || !strings.Contains(*banner, "In the cycle: steps 3") {
					t.Errorf("loop %d, step %d: banner %v, want the cycle", k, step, banner)
				}
			}
		}
	}
}
