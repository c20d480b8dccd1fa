// Command explore is raftcheck's command line: it explores the Raft model
// exhaustively or by random walks and checks the safety properties
// (explore check), lists the seeded bugs (explore bugs), and works with
// trace files.
//
// Exit status: 0 every property holds; 1 a property is violated (or a
// replay diverges or fails); 2 bad flags, configuration or input file; 3 a
// limit ended the run before it was complete; 4 the run was vacuous (a
// goal its bounds promise was never reached); 130 interrupted by Ctrl-C.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/raftcheck/raftcheck/checker/report"
)

// Exit codes.
const (
	exitOK          = report.ExitOK
	exitViolation   = report.ExitViolation
	exitUsage       = report.ExitUsage
	exitLimit       = report.ExitLimit
	exitVacuous     = report.ExitVacuous
	exitInterrupted = report.ExitInterrupted
)

const usage = `usage: explore <command> [flags]

commands:
  check    explore the model and check the safety properties
  bugs     list the seeded bugs and the bounds at which check finds each
  replay   replay a trace file on the model (--impl: and on the implementation)
  show     print a trace as a step list (--html OUT: as an animated page)
  serve    the interactive explorer: step through the model in the browser
  shrink   minimise a violating or diverging trace
  conform  replay many model paths on the implementation, report the first divergence
  merge    combine the results of the shards of a search (check --shard I/N)
  validate check a real run's event logs (one per server) against the specification

Run "explore help <command>" or "explore <command> -h" for a command's flags,
"explore --version" for the build.

exit status: 0 OK; 1 a violation, divergence or failed replay; 2 bad flags or
input; 3 incomplete (a limit ended the run); 4 vacuous (a goal the bounds
promise was never reached); 130 interrupted.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole command, testable: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "check":
		return cmdCheck(args[1:], stdout, stderr)
	case "bugs":
		return cmdBugs(args[1:], stdout, stderr)
	case "replay":
		return cmdReplay(args[1:], stdout, stderr)
	case "serve":
		return cmdServe(args[1:], stdout, stderr)
	case "show":
		return cmdShow(args[1:], stdout, stderr)
	case "shrink":
		return cmdShrink(args[1:], stdout, stderr)
	case "conform":
		return cmdConform(args[1:], stdout, stderr)
	case "merge":
		return cmdMerge(args[1:], stdout, stderr)
	case "validate":
		return cmdValidate(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		if len(args) > 1 && args[0] == "help" {
			return run([]string{args[1], "-h"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return exitOK
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, version())
		return exitOK
	}
	fmt.Fprintf(stderr, "explore: unknown command %q\n%s", args[0], usage)
	return exitUsage
}

// positional names the arguments after the flags, for the usage line.
var positional = map[string]string{"explore serve": " [TRACE]", "explore replay": " FILE", "explore show": " FILE", "explore shrink": " FILE", "explore merge": " RESULT.json..."}

// parseFlags parses a command's flags and checks that exactly nargs
// arguments follow them (nargs -1: any number, the caller checks). A bad flag gives only the flag package's one-line
// message, not the whole usage; -h prints the usage on stdout and returns
// flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer, nargs int) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stdout, "usage: %s [flags]%s\n", fs.Name(), positional[fs.Name()])
		fs.SetOutput(stdout)
		fs.PrintDefaults()
	}
	switch {
	case err != nil:
		return err
	case nargs == 0 && fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case nargs == 1 && fs.NArg() != 1:
		return errors.New("want exactly one trace file")
	}
	return nil
}

// usageError turns an error of parseFlags into the exit status: 0 after -h,
// otherwise 2 with the error on one line of stderr.
func usageError(stderr io.Writer, fs *flag.FlagSet, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintf(stderr, "%s: %s\n", fs.Name(), strings.ReplaceAll(err.Error(), "\n", "; "))
	return exitUsage
}
