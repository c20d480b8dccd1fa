// Package report prints the outcome of a checker run for a person or a
// program: a summary (counts, coverage table, goals, random-walk
// statistics, verdict and counterexample), a JSON object, and the exit
// status of the verdict; and the pieces a command line around the checker
// needs: a live progress line, a byte-size flag, an interrupt on Ctrl-C.
// It knows nothing of the model but what Report is told.
package report

import (
	"fmt"
	"io"
	"slices"

	"github.com/raftcheck/raftcheck/checker"
)

// Exit statuses of a verdict (and of a bad command line), as cmd/explore
// documents them.
const (
	ExitOK        = 0
	ExitViolation = 1
	ExitUsage     = 2
	ExitLimit     = 3
	ExitVacuous   = 4
	// ExitInterrupted is the shells' status for a process ended by SIGINT.
	ExitInterrupted = 130
)

// Report is what is printed about a run, for any model.
type Report[S, A any] struct {
	// Command prefixes the header and error messages ("explore check").
	Command string
	// Config is the "config" object of the JSON output.
	Config any
	// Header describes the configuration, after the command.
	Header string
	// Strategy, Workers and Symmetry are the run's options as given (the
	// strategy's flag name: bfs, dfs or random).
	Strategy string
	Workers  int
	Symmetry bool
	// Properties names the properties checked ("all", or a list).
	Properties string
	Result     *checker.Result[S, A]
	// TracePaths holds the file written for each of Result.Violations.
	TracePaths []string
	// Path prints a violation's counterexample step by step.
	Path func(io.Writer, *checker.Violation[S, A]) error
	// SwitchedOff names the action kinds the configuration disables on
	// purpose, which a vacuous verdict does not list as never enabled.
	SwitchedOff  []string
	AllowVacuous bool
	// Note is a line printed before the verdict (what became of a bug).
	Note string
	// ShardFingerprints and ShardID go into a sharded run's JSON (see
	// JSONShard).
	ShardFingerprints, ShardID string
}

// ExitStatus is the documented exit status of the run's verdict.
func (r *Report[S, A]) ExitStatus() int {
	switch r.Result.Verdict() {
	case checker.VerdictViolation:
		return ExitViolation
	case checker.VerdictIncomplete:
		if r.Result.Stopped == "interrupted" {
			return ExitInterrupted
		}
		return ExitLimit
	case checker.VerdictVacuous:
		if r.AllowVacuous {
			return ExitOK
		}
		return ExitVacuous
	}
	return ExitOK
}

// Finish prints the report (as JSON or text) and returns the exit status.
func (r *Report[S, A]) Finish(stdout, stderr io.Writer, asJSON bool) int {
	if asJSON {
		if err := r.PrintJSON(stdout); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", r.Command, err)
			return ExitUsage
		}
	} else if err := r.PrintSummary(stdout); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", r.Command, err)
		return ExitViolation
	}
	return r.ExitStatus()
}

// NeverEnabled lists the action kinds no explored state enabled, except
// those the configuration switched off.
func (r *Report[S, A]) NeverEnabled() []string {
	var out []string
	for _, k := range r.Result.Coverage.NeverEnabled() {
		if !slices.Contains(r.SwitchedOff, k) {
			out = append(out, k)
		}
	}
	return out
}

// EffectiveWorkers is the number of workers the strategy used.
func (r *Report[S, A]) EffectiveWorkers() int {
	if r.Strategy == "dfs" {
		return 1
	}
	return r.Workers
}

// Rate is the run's generated states per second.
func Rate[S, A any](res *checker.Result[S, A]) float64 {
	if s := res.Elapsed.Seconds(); s > 0 {
		return float64(res.Generated) / s
	}
	return 0
}
