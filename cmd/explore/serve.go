package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/raftcheck/raftcheck/checker/report"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/traces"
	"github.com/raftcheck/raftcheck/traces/explorer"
)

// serveFlags holds the parsed flags of explore serve.
type serveFlags struct {
	addr    string
	bug     string
	given   model.Config
	sys     systemFlags
	depth   int
	states  int64
	timeout time.Duration
	trace   *traces.Trace
}

func parseServeFlags(args []string, stdout io.Writer) (*serveFlags, *flag.FlagSet, model.Config, error) {
	fs := flag.NewFlagSet("explore serve", flag.ContinueOnError)
	f := &serveFlags{}
	addBoundFlags(fs, &f.given)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on (loopback by default: the explorer has no authentication)")
	fs.StringVar(&f.bug, "bug", "", "seeded bug to switch on, at its documented bounds (see explore bugs)")
	fs.IntVar(&f.depth, "search-depth", 8, "steps ahead the search from the current state looks for a violation")
	fs.Int64Var(&f.states, "search-states", 20000, "distinct states the search explores per enabled action")
	fs.DurationVar(&f.timeout, "search-time", 20*time.Second, "longest a search from one state runs, over all its actions")
	f.sys.add(fs, false)
	if err := parseFlags(fs, args, stdout, -1); err != nil {
		return nil, fs, model.Config{}, err
	}
	switch {
	case fs.NArg() > 1:
		return nil, fs, model.Config{}, errors.New("want at most one trace file")
	case f.depth < 1:
		return nil, fs, model.Config{}, fmt.Errorf("--search-depth: %d must be at least 1", f.depth)
	case f.states < 1:
		return nil, fs, model.Config{}, fmt.Errorf("--search-states: %d must be at least 1", f.states)
	case f.timeout <= 0:
		return nil, fs, model.Config{}, fmt.Errorf("--search-time: %v must be positive", f.timeout)
	}
	cfg, err := f.config(fs)
	return f, fs, cfg, err
}

// config is the model's configuration: the trace's when one is given and
// no bound flag, else the bound flags' (or the seeded bug's).
func (f *serveFlags) config(fs *flag.FlagSet) (model.Config, error) {
	bounded := false
	fs.Visit(func(fl *flag.Flag) {
		bounded = bounded || fl.Name == "bug" || slices.Contains(boundFlags, fl.Name) || featureFlags[fl.Name] != nil || memberOptions[fl.Name] != nil
	})
	if fs.NArg() == 1 {
		t, err := traces.ReadFile(fs.Arg(0))
		if err != nil {
			return model.Config{}, err
		}
		if err := t.RequireRaft(); err != nil {
			return model.Config{}, fmt.Errorf("%s: %w", fs.Arg(0), err)
		}
		f.trace = t
		if !bounded {
			return t.Config, nil
		}
	}
	b, err := resolveBounds(fs, &f.given, f.bug)
	return b.cfg, err
}

// cmdServe is `explore serve [--addr A] [bound flags] [TRACE]`: the
// interactive explorer, a local web server (see package traces/explorer).
func cmdServe(args []string, stdout, stderr io.Writer) int {
	f, fs, cfg, err := parseServeFlags(args, stdout)
	if err != nil {
		return usageError(stderr, fs, err)
	}
	f.sys.timers = cfg.Timers && !cfg.Synchrony
	sys, err := f.sys.open(stderr, true)
	if err != nil {
		fmt.Fprintf(stderr, "explore serve: %v\n", err)
		return exitUsage
	}
	defer sys.stop()
	srv, err := explorer.New(explorer.Options{Config: cfg, Trace: f.trace, Factory: sys.factory, Abstraction: sys.abs,
		SearchDepth: f.depth, SearchStates: f.states, SearchTime: f.timeout,
		Command: strings.TrimSpace("explore serve " + strings.Join(args, " "))})
	if err != nil {
		fmt.Fprintf(stderr, "explore serve: %v\n", err)
		return exitUsage
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		fmt.Fprintf(stderr, "explore serve: %v\n", err)
		return exitUsage
	}
	url := "http://" + ln.Addr().String() + "/"
	if f.trace != nil {
		url += fmt.Sprintf("?step=%d", len(f.trace.Steps))
	}
	fmt.Fprintf(stdout, "explore serve: %v\nopen %s (Ctrl-C stops)\n", cfg, url)
	return serveUntilInterrupt(ln, srv, stderr)
}

// serveUntilInterrupt serves until Ctrl-C, then shuts down.
func serveUntilInterrupt(ln net.Listener, h http.Handler, stderr io.Writer) int {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	interrupt, stop := report.InterruptOnSignal()
	defer stop()
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		fmt.Fprintf(stderr, "explore serve: %v\n", err)
		return exitUsage
	case <-interrupt:
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
		return exitInterrupted
	}
}
