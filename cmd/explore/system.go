package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/raftcheck/raftcheck/conform"
	"github.com/raftcheck/raftcheck/conform/implcluster"
	"github.com/raftcheck/raftcheck/model"
)

// systemFlags choose the system a trace or model paths are replayed on:
// raftcheck's implementation (with its test-only fault switches), or
// another implementation run as a program that speaks conform's process
// protocol, compared under an abstraction.
type systemFlags struct {
	faults      string
	program     string
	abstraction string
	wal         bool
	// timers drives the implementation's timers as the model's (a trace of
	// a model with --timers and without --synchrony, whose Ticks and
	// Timeouts are the steps; cluster.Options.Timers).
	timers bool
}

// add defines the flags; withWAL adds --wal (for conform, whose default
// keeps the implementation's storage in memory).
func (s *systemFlags) add(fs *flag.FlagSet, withWAL bool) {
	fs.StringVar(&s.faults, "impl-faults", "", "seeded bugs the implementation mirrors by its test-only fault switches (comma list)")
	fs.StringVar(&s.program, "system", "", "instead of raftcheck's implementation, the program (command and arguments) of another, speaking conform's process protocol")
	fs.StringVar(&s.abstraction, "abstraction", "exact", "what must agree: exact (every field and message), core (terms, votes, roles, logs, commit indices; messages without refusal hints)")
	if withWAL {
		fs.BoolVar(&s.wal, "wal", false, "keep the implementation's state in its real write-ahead log (slower) instead of memory")
	}
}

// system is an opened system under test.
type system struct {
	factory conform.Factory
	abs     conform.Abstraction
	stop    func() error
}

// open checks the flags and returns the system; memory keeps the
// implementation's storage in memory (unless --wal). stop ends a program.
func (s *systemFlags) open(stderr io.Writer, memory bool) (*system, error) {
	abs, err := conform.LookupAbstraction(s.abstraction)
	if err != nil {
		return nil, fmt.Errorf("--abstraction: %w", err)
	}
	if s.program != "" {
		if s.faults != "" {
			return nil, errors.New("--impl-faults: only for raftcheck's implementation, not with --system")
		}
		argv := strings.Fields(s.program)
		f, stop := conform.Process(argv, stderr)
		return &system{factory: f, abs: abs, stop: stop}, nil
	}
	faults, err := implFaults(s.faults)
	if err != nil {
		return nil, err
	}
	opts := implcluster.Options{Faults: faults, Memory: memory && !s.wal}
	if s.timers {
		opts.Timers = model.ElectionTicks
	}
	f := implcluster.Factory(opts)
	return &system{factory: f, abs: abs, stop: func() error { return nil }}, nil
}
