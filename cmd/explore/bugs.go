package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/spec"
)

func cmdBugs(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explore bugs", flag.ContinueOnError)
	props := fs.Bool("properties", false, "list the properties instead")
	verbose := fs.Bool("v", false, "also print the rule each bug breaks and where it was seen")
	if err := parseFlags(fs, args, stdout, 0); err != nil {
		return usageError(stderr, fs, err)
	}
	if *props {
		for _, p := range spec.Properties() {
			fmt.Fprintf(stdout, "%-22s %-11s %s\n", p.Name, p.Kind, p.Doc)
			if *verbose {
				fmt.Fprintf(stdout, "    source: %s\n", p.Paper)
			}
		}
		return exitOK
	}
	for _, b := range model.Bugs {
		found := "breaks " + b.Breaks
		if b.Breaks == "" {
			found = "negative control: safety holds"
		}
		fmt.Fprintf(stdout, "%-31s %s; %s\n", b.Name, found, boundsLine(b))
		if *verbose {
			fmt.Fprintf(stdout, "    rule:     %s\n    mutation: %s\n    seen:     %s\n", b.Rule, b.Mutation, b.Seen)
			if b.Mirrored {
				fmt.Fprintf(stdout, "    mirrored: by the implementation's fault switch (--impl-faults %s, with -tags raftfaults)\n", b.Name)
			}
		}
	}
	return exitOK
}

// boundsLine renders a bug's bounds as the flags that reproduce them: every
// flag whose default differs from the bound is written out.
func boundsLine(b model.Bug) string {
	c := b.Bounds
	flags := []string{
		fmt.Sprintf("--servers %d --max-term %d --max-values %d --max-msgs %d", c.Servers, c.MaxTerm, c.MaxValues, c.MaxMsgs),
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"max-copies", c.MaxCopies}, {"max-restarts", c.MaxRestarts}, {"max-partitions", c.MaxPartitions}, {"max-drops", c.MaxDrops}, {"max-dups", c.MaxDups},
		{"max-reconfigs", c.MaxReconfigs}, {"joiners", c.Joiners}} {
		if def := defaultBound(f.name); f.v != def {
			flags = append(flags, fmt.Sprintf("--%s %d", f.name, f.v))
		}
	}
	flags = append(flags, memberArgs(c)...)
	flags = append(flags, featureArgs(c.Features)...)
	if b.Strategy != "" {
		flags = append(flags, "--strategy "+b.Strategy)
	}
	s := "bounds " + strings.Join(flags, " ")
	if b.MaxLength > 0 {
		s += fmt.Sprintf(" (counterexample <= %d steps)", b.MaxLength)
	}
	return s
}

// defaultBound is the default of a fault-bound flag of explore check (0
// for the membership bounds).
func defaultBound(name string) int {
	d := model.DefaultConfig()
	return map[string]int{"max-copies": d.MaxCopies, "max-restarts": d.MaxRestarts,
		"max-partitions": d.MaxPartitions, "max-drops": d.MaxDrops, "max-dups": d.MaxDups}[name]
}
