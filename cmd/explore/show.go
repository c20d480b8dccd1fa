package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/raftcheck/raftcheck/traces"
)

// cmdShow is `explore show [--impl] [--html OUT] FILE`: the trace as a
// step list, or as a self-contained animated page.
func cmdShow(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explore show", flag.ContinueOnError)
	html := fs.String("html", "", "write an animated HTML page to this file instead of text")
	impl := fs.Bool("impl", false, "replay on the implementation too and show both states side by side")
	faultList := fs.String("impl-faults", "", "with --impl: seeded bugs the implementation mirrors (comma list)")
	if err := parseFlags(fs, args, stdout, 1); err != nil {
		return usageError(stderr, fs, err)
	}
	faults, err := implFaults(*faultList)
	if err != nil {
		fmt.Fprintf(stderr, "explore show: %v\n", err)
		return exitUsage
	}
	t, err := traces.ReadFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "explore show: %v\n", err)
		return exitUsage
	}
	var frames []traces.Frame
	if *impl {
		r, err := traces.ReplayImpl(t, traces.ImplOptions{Faults: faults})
		if err != nil {
			fmt.Fprintf(stderr, "explore show: %s: %v\n", fs.Arg(0), err)
			return exitUsage
		}
		frames = r.Frames
	} else {
		r, err := traces.ReplayModel(t)
		if err != nil {
			fmt.Fprintf(stderr, "explore show: %s: %v\n", fs.Arg(0), err)
			return exitUsage
		}
		frames = r.Frames
	}
	if *html == "" {
		printFrames(stdout, t, frames)
		return exitOK
	}
	title := t.Title
	if title == "" {
		title = fs.Arg(0)
	}
	var b bytes.Buffer
	if err := traces.WriteHTML(&b, traces.Page{Title: title, Frames: frames}); err != nil {
		fmt.Fprintf(stderr, "explore show: %v\n", err)
		return exitUsage
	}
	if err := os.WriteFile(*html, b.Bytes(), 0o644); err != nil {
		fmt.Fprintf(stderr, "explore show: --html: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "wrote %s (%d frames); open it in a browser\n", *html, len(frames))
	return exitOK
}
