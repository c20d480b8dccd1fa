package main

import (
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/spec"
)

// boundFlags are the flags that set the model's bounds, in the order the
// header prints them.
var boundFlags = []string{"servers", "max-term", "max-values", "max-msgs", "max-copies", "max-restarts", "max-partitions", "max-drops", "max-dups", "max-snapshots", "max-reconfigs", "joiners"}

// membershipFlags are the bound flags of membership changes, rendered
// only when set so that every other command line reads as before.
var membershipFlags = map[string]bool{"max-reconfigs": true, "joiners": true}

// boundField returns the field of c that bound flag name sets.
func boundField(c *model.Config, name string) *int {
	switch name {
	case "servers":
		return &c.Servers
	case "max-term":
		return &c.MaxTerm
	case "max-values":
		return &c.MaxValues
	case "max-msgs":
		return &c.MaxMsgs
	case "max-copies":
		return &c.MaxCopies
	case "max-restarts":
		return &c.MaxRestarts
	case "max-partitions":
		return &c.MaxPartitions
	case "max-drops":
		return &c.MaxDrops
	case "max-dups":
		return &c.MaxDups
	case "max-snapshots":
		return &c.MaxSnapshots
	case "max-reconfigs":
		return &c.MaxReconfigs
	case "joiners":
		return &c.Joiners
	}
	panic("unknown bound flag " + name)
}

// addBoundFlags defines the flags of the model's bounds on fs. Their
// values are only what the user gave: resolveBounds lays them over the
// base configuration.
func addBoundFlags(fs *flag.FlagSet, cfg *model.Config) {
	def := model.DefaultConfig()
	fs.IntVar(&cfg.Servers, "servers", def.Servers, "number of servers (3 to 7)")
	fs.IntVar(&cfg.MaxTerm, "max-term", def.MaxTerm, "highest term a server may reach (a Timeout at it is disabled)")
	fs.IntVar(&cfg.MaxValues, "max-values", def.MaxValues, "client values, each proposed once (ClientRequest actions per run)")
	fs.IntVar(&cfg.MaxMsgs, "max-msgs", 0, "messages in flight, copies included (default: the number of servers)")
	fs.IntVar(&cfg.MaxCopies, "max-copies", def.MaxCopies, "copies of one message in flight")
	fs.IntVar(&cfg.MaxRestarts, "max-restarts", def.MaxRestarts, "Restart actions per run (crash and recover)")
	fs.IntVar(&cfg.MaxPartitions, "max-partitions", def.MaxPartitions, "Partition actions per run (each healed by a Heal)")
	fs.IntVar(&cfg.MaxDrops, "max-drops", def.MaxDrops, "Drop actions per run (lost message copies)")
	fs.IntVar(&cfg.MaxDups, "max-dups", def.MaxDups, "Duplicate actions per run (needs --max-copies 2)")
	fs.IntVar(&cfg.MaxSnapshots, "max-snapshots", def.MaxSnapshots, "Compact actions per run (a server snapshots its committed log, §7)")
	fs.IntVar(&cfg.MaxReconfigs, "max-reconfigs", 0, "membership changes per run (AddServer, RemoveServer, AddLearner, EnterJoint; thesis §4.2-4.3; 0: off)")
	fs.IntVar(&cfg.Joiners, "joiners", 0, "servers beyond --servers that start outside the configuration (needs --max-reconfigs)")
	fs.StringVar(&cfg.Reconfig, "reconfig", model.ReconfigSingle, "kind of membership change: single (AddServer/RemoveServer, thesis §4.2) or joint (EnterJoint/LeaveJoint, paper §6); needs --max-reconfigs")
	fs.BoolVar(&cfg.Learners, "learners", false, "non-voting learners: AddLearner, and AddServer only of a caught-up learner (thesis §4.2.1); needs --max-reconfigs")
	fs.BoolVar(&cfg.ConflictHint, "conflict-hint", false, "feature: a refusal hints past the follower's whole conflicting term (§5.3)")
	fs.BoolVar(&cfg.ReplicateOnPropose, "replicate-on-propose", false, "feature: a leader sends AppendEntries as soon as it appends a client's value")
	fs.IntVar(&cfg.MaxBatch, "max-batch", 0, "feature: entries per AppendEntries (0: the whole suffix)")
	fs.IntVar(&cfg.MaxInflight, "max-inflight", 0, "feature: pipelining, unacknowledged AppendEntries per follower (0: off, at most 2)")
}

// featureFlags are the flags of the protocol's optional mechanisms, with
// the field of spec.Features each sets.
var featureFlags = map[string]func(dst, src *model.Config){
	"conflict-hint":        func(d, s *model.Config) { d.ConflictHint = s.ConflictHint },
	"replicate-on-propose": func(d, s *model.Config) { d.ReplicateOnPropose = s.ReplicateOnPropose },
	"max-batch":            func(d, s *model.Config) { d.MaxBatch = s.MaxBatch },
	"max-inflight":         func(d, s *model.Config) { d.MaxInflight = s.MaxInflight },
}

// memberOptions are the non-numeric options of membership changes, with
// the field of model.Config each sets.
var memberOptions = map[string]func(dst, src *model.Config){
	"reconfig": func(d, s *model.Config) { d.Reconfig = s.Reconfig },
	"learners": func(d, s *model.Config) { d.Learners = s.Learners },
}

// bounds is the outcome of resolving the bound flags.
type bounds struct {
	cfg model.Config
	// bug is the seeded bug whose documented bounds were the base, if any.
	bug *model.Bug
	// overridden lists the bound flags given on the command line.
	overridden []string
}

// resolveBounds returns the effective bounds: the base — a seeded bug's
// documented bounds, or the defaults for the cluster size — with each bound
// flag given on the command line overriding only itself.
func resolveBounds(fs *flag.FlagSet, given *model.Config, bugName string) (bounds, error) {
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	var b bounds
	if bugName != "" {
		bug, ok := model.LookupBug(bugName)
		if !ok {
			return b, fmt.Errorf("--bug: unknown seeded bug %q (known: %s)", bugName, strings.Join(model.BugNames(), ", "))
		}
		b.bug, b.cfg = &bug, bug.Bounds
	} else {
		b.cfg = model.DefaultConfigFor(given.Servers)
	}
	for _, name := range boundFlags {
		if set[name] {
			*boundField(&b.cfg, name) = *boundField(given, name)
			b.overridden = append(b.overridden, "--"+name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(featureFlags)) {
		if set[name] {
			featureFlags[name](&b.cfg, given)
			b.overridden = append(b.overridden, "--"+name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(memberOptions)) {
		if set[name] {
			memberOptions[name](&b.cfg, given)
			b.overridden = append(b.overridden, "--"+name)
		}
	}
	if b.cfg.Reconfig == model.ReconfigSingle {
		b.cfg.Reconfig = "" // the default kind, so that configurations compare equal
	}
	b.cfg.Bug, b.cfg.Values = bugName, given.Values
	if err := b.cfg.Validate(); err != nil {
		return b, fmt.Errorf("--%w", err)
	}
	if err := b.cfg.Exercisable(); err != nil {
		return b, fmt.Errorf("--%w", err)
	}
	return b, nil
}

// describe says where the bounds come from, for the report's header.
func (b *bounds) describe() string {
	base := "the defaults"
	if b.bug != nil {
		base = "the documented bounds of " + b.bug.Name
	}
	if len(b.overridden) == 0 {
		return "bounds: " + base
	}
	return fmt.Sprintf("bounds: %s, overridden by %s", base, strings.Join(b.overridden, " "))
}

// bugNote says what became of the seeded bug of a run that completed
// without finding a violation ("" when there is nothing to say).
func (b *bounds) bugNote() string {
	if b.bug == nil {
		return ""
	}
	if b.bug.Breaks == "" {
		return fmt.Sprintf("as expected: %s is the negative control and breaks no safety property", b.bug.Name)
	}
	return fmt.Sprintf("the seeded bug %s was not found at these bounds (its documented bounds find it in %d steps: %s)",
		b.bug.Name, b.bug.MaxLength, flagsOf(b.bug.Bounds))
}

// flagsOf renders bounds as the bound flags that reproduce them, with the
// flags of the features switched on.
func flagsOf(c model.Config) string {
	var parts []string
	for _, name := range boundFlags {
		if v := *boundField(&c, name); v != 0 || !membershipFlags[name] {
			parts = append(parts, fmt.Sprintf("--%s %d", name, v))
		}
	}
	parts = append(parts, memberArgs(c)...)
	return strings.Join(append(parts, featureArgs(c.Features)...), " ")
}

// memberArgs renders the membership options that differ from their
// defaults as flags.
func memberArgs(c model.Config) []string {
	var out []string
	if c.Reconfig != "" && c.Reconfig != model.ReconfigSingle {
		out = append(out, "--reconfig "+c.Reconfig)
	}
	if c.Learners {
		out = append(out, "--learners")
	}
	return out
}

// featureArgs renders the features switched on as flags.
func featureArgs(f spec.Features) []string {
	var out []string
	if f.ConflictHint {
		out = append(out, "--conflict-hint")
	}
	if f.ReplicateOnPropose {
		out = append(out, "--replicate-on-propose")
	}
	if f.MaxBatch > 0 {
		out = append(out, fmt.Sprintf("--max-batch %d", f.MaxBatch))
	}
	if f.MaxInflight > 0 {
		out = append(out, fmt.Sprintf("--max-inflight %d", f.MaxInflight))
	}
	return out
}
