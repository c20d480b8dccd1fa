// Command raftkv-torture is a fault-injection harness for raftkv: it
// starts N real raftkv processes on 127.0.0.1, each Raft link through a
// TCP proxy of its own (one per ordered pair, so that a partition can cut
// one direction only), drives concurrent clients, injects faults from a
// seeded schedule (kill -9 and restart, SIGSTOP/SIGCONT pauses,
// symmetric and asymmetric partitions, heals), and checks the run: the
// client history for linearizability (porcupine, with its HTML
// visualisation), the final reads for lost acknowledged writes, and every
// server's event log (raftkv --trace) with traces/validate.
//
//	raftkv-torture --servers 3 --duration 20s --seed 7 --out /tmp/torture
//
// Exit status: 0 every check passed; 1 a violation (each printed with
// what failed); 2 bad flags or a setup failure. README.md, "Checking a
// real run", describes it.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

const (
	exitOK        = 0
	exitViolation = 1
	exitSetup     = 2
)

const usage = `usage: raftkv-torture [flags]

flags:
  --raftkv PATH     the raftkv binary (default: go build ./cmd/raftkv into a temp dir, with
                    -tags raftfaults when --fault is given)
  --servers N       cluster size, 3 or 5 (default 3)
  --duration D      how long clients run and faults are injected (default 20s)
  --ops N           stop the clients after N operations in all (default 5000)
  --clients N       concurrent clients (default 4)
  --keys N          keys the clients use (default 3)
  --faults LIST     fault kinds, comma-separated, of kill,pause,partition,asym (default all)
  --fault NAME      switch on a seeded bug of impl/raft in every server (raftkv --fault)
  --seed N          seed of the fault schedule and the workload (default: from the clock; printed)
  --out DIR         output directory: history, history.html, traces, logs (default: a temp dir)
  --tick D          raftkv --tick (default 10ms)
`

type options struct {
	raftkv   string
	servers  int
	duration time.Duration
	ops      int
	clients  int
	keys     int
	kinds    []string
	fault    string
	seed     uint64
	out      string
	tick     time.Duration
}

var allKinds = []string{"kill", "pause", "partition", "asym"}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "raftkv-torture: %v (raftkv-torture -h for usage)\n", err)
		return exitSetup
	}
	if err := setup(o); err != nil {
		fmt.Fprintf(stderr, "raftkv-torture: %v\n", err)
		return exitSetup
	}
	rep, err := torture(o, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "raftkv-torture: %v\n", err)
		return exitSetup
	}
	if len(rep.violations) > 0 {
		for _, v := range rep.violations {
			fmt.Fprintf(stdout, "VIOLATION %s\n", v)
		}
		fmt.Fprintf(stdout, "FAIL (seed %d, output in %s)\n", o.seed, o.out)
		return exitViolation
	}
	fmt.Fprintf(stdout, "OK (seed %d, output in %s)\n", o.seed, o.out)
	return exitOK
}

func parseFlags(args []string) (*options, error) {
	fs := flag.NewFlagSet("raftkv-torture", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := &options{}
	fs.StringVar(&o.raftkv, "raftkv", "", "")
	fs.IntVar(&o.servers, "servers", 3, "")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "")
	fs.IntVar(&o.ops, "ops", 5000, "")
	fs.IntVar(&o.clients, "clients", 4, "")
	fs.IntVar(&o.keys, "keys", 3, "")
	kinds := fs.String("faults", strings.Join(allKinds, ","), "")
	fs.StringVar(&o.fault, "fault", "", "")
	fs.Uint64Var(&o.seed, "seed", uint64(time.Now().UnixNano()%1e9), "")
	fs.StringVar(&o.out, "out", "", "")
	fs.DurationVar(&o.tick, "tick", 10*time.Millisecond, "")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q: raftkv-torture takes only flags", fs.Arg(0))
	case o.servers != 3 && o.servers != 5:
		return nil, fmt.Errorf("--servers: %d (want 3 or 5)", o.servers)
	case o.duration <= 0 || o.ops <= 0 || o.clients <= 0 || o.keys <= 0 || o.tick <= 0:
		return nil, errors.New("--duration, --ops, --clients, --keys and --tick must be positive")
	}
	for _, k := range strings.Split(*kinds, ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		ok := false
		for _, a := range allKinds {
			ok = ok || a == k
		}
		if !ok {
			return nil, fmt.Errorf("--faults: %q is not one of %s", k, strings.Join(allKinds, ","))
		}
		o.kinds = append(o.kinds, k)
	}
	return o, nil
}

// setup makes the output directory and, without --raftkv, builds raftkv.
func setup(o *options) error {
	var err error
	if o.out == "" {
		if o.out, err = os.MkdirTemp("", "raftkv-torture-"); err != nil {
			return fmt.Errorf("output dir: %w", err)
		}
	} else if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("output dir: %w", err)
	}
	if o.raftkv != "" {
		if _, err := os.Stat(o.raftkv); err != nil {
			return fmt.Errorf("--raftkv: %w", err)
		}
		return nil
	}
	o.raftkv = filepath.Join(o.out, "raftkv")
	args := []string{"build", "-o", o.raftkv}
	if o.fault != "" {
		args = append(args, "-tags", "raftfaults")
	}
	cmd := exec.Command("go", append(args, "github.com/raftcheck/raftcheck/cmd/raftkv")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build raftkv: %v: %s", err, out)
	}
	return nil
}
