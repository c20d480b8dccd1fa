package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/raftcheck/raftcheck/conform"
	"github.com/raftcheck/raftcheck/traces"
	"github.com/raftcheck/raftcheck/traces/replay"
	"github.com/raftcheck/raftcheck/traces/view"
)

// cmdShow is `explore show [--impl] [--html OUT] FILE`: the trace as a
// step list, or as a self-contained animated page. A trace that does not
// replay as it claims is still shown as far as it goes, with the replay's
// FAILED lines (and on the page a banner), and exits 1.
func cmdShow(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explore show", flag.ContinueOnError)
	html := fs.String("html", "", "write an animated HTML page to this file instead of text")
	impl := fs.Bool("impl", false, "replay on the implementation too and show both states side by side")
	var sf systemFlags
	sf.add(fs, false)
	full := fs.Bool("full", false, "print whole states instead of what each step changed")
	if err := parseFlags(fs, args, stdout, 1); err != nil {
		return usageError(stderr, fs, err)
	}
	sys, err := sf.open(stderr, false)
	if err != nil {
		fmt.Fprintf(stderr, "explore show: %v\n", err)
		return exitUsage
	}
	defer sys.stop()
	t, err := traces.ReadFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "explore show: %v\n", err)
		return exitUsage
	}
	var frames []replay.Frame
	var failures []string
	if *impl || sf.program != "" {
		r, err := conform.Replay(t, sys.factory, sys.abs)
		if err != nil {
			fmt.Fprintf(stderr, "explore show: %s: %v\n", fs.Arg(0), err)
			return exitUsage
		}
		frames, failures = r.Frames, r.Failures
	} else {
		r, err := replay.Model(t)
		if err != nil {
			fmt.Fprintf(stderr, "explore show: %s: %v\n", fs.Arg(0), err)
			return exitUsage
		}
		frames, failures = r.Frames, r.Failures
	}
	status := exitOK
	if len(failures) > 0 {
		status = exitViolation
	}
	if *html == "" {
		printFrames(stdout, t, frames, view.TextOptions{Full: *full, Loop: t.Loop})
		for _, f := range failures {
			fmt.Fprintf(stdout, "FAILED: %s\n", f)
		}
		return status
	}
	if err := writePage(*html, t, fs.Arg(0), frames, failures); err != nil {
		fmt.Fprintf(stderr, "explore show: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "wrote %s (%d frames); open it in a browser\n", *html, len(frames))
	for _, f := range failures {
		fmt.Fprintf(stdout, "FAILED: %s\n", f)
	}
	return status
}

// writePage writes the viewer page of a replay, with the first failure as
// its banner.
func writePage(path string, t *traces.Trace, file string, frames []replay.Frame, failures []string) error {
	p := view.Page{Title: t.Title, Frames: frames, Loop: t.Loop}
	if p.Title == "" {
		p.Title = file
	}
	if len(failures) > 0 {
		p.Failure = "FAILED: " + failures[0]
		if len(failures) > 1 {
			p.Failure += fmt.Sprintf(" (and %d more)", len(failures)-1)
		}
	}
	var b bytes.Buffer
	if err := view.WriteHTML(&b, p); err != nil {
		return err
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("--html: %w", err)
	}
	return nil
}
