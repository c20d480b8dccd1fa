package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/raftcheck/raftcheck/spec"
	"github.com/raftcheck/raftcheck/traces/validate"
)

func init() { positional["explore validate"] = " FILE... | --runs DIR..." }

// validateReport is the JSON of one run's validation.
type validateReport struct {
	OK      bool            `json:"ok"`
	Files   []string        `json:"files"`
	Result  validate.Result `json:"result"`
	Failure *failureReport  `json:"failure,omitempty"`
	Error   string          `json:"error,omitempty"`
}

// failureReport is a *validate.Failure in JSON.
type failureReport struct {
	File     string `json:"file,omitempty"`
	Line     int    `json:"line,omitempty"`
	Event    string `json:"event,omitempty"`
	Rule     string `json:"rule"`
	Field    string `json:"field,omitempty"`
	Expected string `json:"expected,omitempty"`
	Got      string `json:"got,omitempty"`
	Detail   string `json:"detail,omitempty"`
	Message  string `json:"message"`
}

// cmdValidate is `explore validate FILE...` (one run, one event log per
// server) or `explore validate --runs DIR...` (many runs, each directory
// holding one run's *.ndjson logs, validated on --workers goroutines).
// Exit 0 when every run is a behaviour of the specification, 1 when one
// is not, 2 for unreadable or malformed input.
func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explore validate", flag.ContinueOnError)
	runs := fs.Bool("runs", false, "the arguments are run directories, each holding one run's *.ndjson event logs")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "runs validated in parallel (with --runs)")
	jsonOut := fs.Bool("json", false, "print the result as JSON")
	voters := fs.Int("voters", 0, "servers 1..N are the initial voters, the others join by membership changes (0: every server of the run)")
	every := fs.Int("check-every", 0, "also evaluate spec's invariants on the reconstructed cluster every K events (0: at the end only)")
	if err := parseFlags(fs, args, stdout, -1); err != nil {
		return usageError(stderr, fs, err)
	}
	if fs.NArg() == 0 || *workers < 1 || *every < 0 || *voters < 0 || *voters > spec.MaxServers {
		fmt.Fprintf(stderr, "explore validate: want event logs (FILE... or --runs DIR...), --workers >= 1, --check-every >= 0, --voters in 0..%d\n", spec.MaxServers)
		return exitUsage
	}
	opts := validate.Options{CheckEvery: *every, Initial: spec.Configuration{Voters: spec.AllServers(*voters)}}
	var sets [][]string
	if *runs {
		for _, dir := range fs.Args() {
			files, err := validate.RunFiles(dir)
			if err != nil {
				fmt.Fprintf(stderr, "explore validate: %v\n", err)
				return exitUsage
			}
			sets = append(sets, files)
		}
	} else {
		sets = [][]string{fs.Args()}
	}
	if os.Getenv("GOGC") == "" {
		// Decoding makes short-lived garbage only: a larger heap target
		// saves a fifth of the CPU time of 3,000 runs (51 against 63
		// CPU-seconds, docs/bench-validate.txt) for 125 MB of memory.
		debug.SetGCPercent(400)
	}
	start := time.Now()
	outs := validate.RunMany(sets, *workers, opts)
	return reportValidation(outs, *runs, *jsonOut, time.Since(start), stdout, stderr)
}

// reportValidation prints the outcomes and returns the exit status.
func reportValidation(outs []validate.Outcome, many, jsonOut bool, took time.Duration, stdout, stderr io.Writer) int {
	status, events := exitOK, 0
	var reps []validateReport
	for _, o := range outs {
		rep := toReport(o)
		events += o.Result.Events
		switch {
		case rep.Failure != nil:
			status = max(status, exitViolation)
		case rep.Error != "":
			status = exitUsage
		}
		reps = append(reps, rep)
		if jsonOut {
			continue
		}
		name := ""
		if many && len(o.Files) > 0 {
			name = " " + filepath.Dir(o.Files[0])
		}
		switch {
		case rep.OK:
			r := o.Result
			fmt.Fprintf(stdout, "OK%s: %d servers, %d events, %d messages sent and %d receptions matched, %d state fields compared\n",
				name, r.Servers, r.Events, r.Sent, r.Received, r.Fields)
		case rep.Failure != nil:
			fmt.Fprintf(stdout, "FAIL%s: %s\n", name, rep.Failure.Message)
		default:
			fmt.Fprintf(stderr, "explore validate:%s %s\n", name, rep.Error)
		}
	}
	if jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		var v any = reps[0]
		if many {
			v = reps
		}
		if err := enc.Encode(v); err != nil {
			fmt.Fprintf(stderr, "explore validate: %v\n", err)
			return exitUsage
		}
	} else if many {
		fmt.Fprintf(stdout, "%d runs, %d events in %.2fs (%.0f events/s)\n", len(outs), events, took.Seconds(), float64(events)/max(took.Seconds(), 1e-9))
	}
	return status
}

func toReport(o validate.Outcome) validateReport {
	rep := validateReport{OK: o.Err == nil, Files: o.Files, Result: o.Result}
	var f *validate.Failure
	switch {
	case errors.As(o.Err, &f):
		fr := &failureReport{Rule: f.Rule, Field: f.Field, Detail: f.Detail, Message: f.Error()}
		if f.Event != nil {
			fr.File, fr.Line, fr.Event = f.Event.File, f.Event.Line, f.Event.String()
		}
		if f.Field != "" {
			fr.Expected, fr.Got = fmt.Sprint(f.Expected), fmt.Sprint(f.Got)
		}
		rep.Failure = fr
	case o.Err != nil:
		rep.Error = o.Err.Error()
	}
	return rep
}
