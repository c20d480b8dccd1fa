package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/raftcheck/raftcheck/checker"
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/model/checking"
	"github.com/raftcheck/raftcheck/spec"
	"github.com/raftcheck/raftcheck/traces"
	"github.com/raftcheck/raftcheck/traces/replay"
	"github.com/raftcheck/raftcheck/traces/shrink"
)

// liveFlags are explore check's flags of model time and liveness.
type liveFlags struct {
	liveness  bool
	timers    bool
	synchrony bool
	fair      string
}

func addLiveFlags(fs *flag.FlagSet, f *liveFlags) {
	fs.BoolVar(&f.liveness, "liveness", false, "also check the liveness properties (leader-elected, proposals-committed, no-disruption); turns on --timers and --synchrony and, unless --max-term is given, raises max-term by --servers (the terms kept for the elections after the last fault)")
	fs.BoolVar(&f.timers, "timers", false, "model the election timers: Tick advances them, Timeout needs an expired one")
	fs.BoolVar(&f.synchrony, "synchrony", false, "the timing assumption after the last fault (spec/README.md, Liveness); on with --liveness, --synchrony=false for plain fairness only")
	fs.StringVar(&f.fair, "fair", checking.DefaultFair, "liveness: weakly fair action kinds, comma-separated; sf:KIND for strong fairness; none for no fairness")
}

// splitProperties splits an --invariants list into the spec properties
// (nil for all) and the liveness properties named in it.
func splitProperties(list string) (specNames, live []string, err error) {
	if list == "all" {
		return nil, nil, nil
	}
	var rest []string
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); checking.IsLiveness(n) {
			live = append(live, n)
		} else {
			rest = append(rest, n)
		}
	}
	if len(rest) == 0 {
		return []string{}, live, nil
	}
	specNames, err = spec.ParsePropertyList(strings.Join(rest, ","))
	return specNames, live, err
}

// applyTiming sets the timing switches of the bounds from the flags: a
// liveness run (--liveness, a liveness property named, or a seeded
// liveness bug) gets the timers and, unless --synchrony=false, the timing
// assumption, and its max-term the headroom the properties need.
func (f *checkFlags) applyTiming(set map[string]bool) error {
	cfg := &f.bounds.cfg
	_, live, err := splitProperties(f.invariants)
	if err != nil {
		return fmt.Errorf("--invariants: %w", err)
	}
	if b := f.bounds.bug; b != nil && b.Liveness {
		f.live.liveness = true
	}
	f.live.liveness = f.live.liveness || len(live) > 0
	cfg.Timers = cfg.Timers || f.live.timers || f.live.liveness || f.live.synchrony
	if f.live.liveness && !set["synchrony"] || f.live.synchrony {
		cfg.Synchrony = true
	} else if set["synchrony"] {
		cfg.Synchrony = false
	}
	if f.live.liveness && cfg.Synchrony && !set["max-term"] && f.bounds.bug == nil {
		cfg.MaxTerm = min(cfg.MaxTerm+cfg.Servers, model.MaxTerm)
		f.bounds.overridden = append(f.bounds.overridden, fmt.Sprintf("--liveness (max-term %d: %d terms for the faults, %d after the last)",
			cfg.MaxTerm, cfg.MaxTerm-cfg.Servers, cfg.Servers))
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("--%w", err)
	}
	if _, err := checking.ParseFair(f.live.fair); err != nil {
		return fmt.Errorf("--fair: %w", err)
	}
	return nil
}

// properties returns the checker's properties of the run: the spec ones
// named, and the liveness ones when the run checks liveness.
func (f *checkFlags) properties(m *model.Model) func() checker.Properties[model.State, model.Action] {
	specNames, live, _ := splitProperties(f.invariants)
	base := checking.Properties(m, specNames)
	if !f.live.liveness {
		return base
	}
	if specNames != nil && len(live) == 0 {
		live = slices.Clone(checking.LivenessNames) // --liveness with a list of spec properties
	}
	if specNames == nil {
		live = nil // all
	}
	fair, _ := checking.ParseFair(f.live.fair)
	return checking.WithLiveness(m, base, live, fair)
}

// assumptions says what the liveness verdicts assume, for the report.
func (f *checkFlags) assumptions() []string {
	if !f.live.liveness {
		return nil
	}
	cfg := f.bounds.cfg
	fair := f.live.fair
	if fair == "" || fair == "none" {
		fair = "none"
	}
	out := []string{"fairness: " + fairText(fair)}
	if cfg.Synchrony {
		out = append(out,
			fmt.Sprintf("before the last fault: time not modelled (any server may time out at any moment), terms up to %d (max-term - servers)", cfg.MaxTerm-cfg.Servers),
			"the properties start after the last fault: every fault of the budget used, the network whole, "+fmt.Sprintf("%d terms of the bound left", cfg.Servers),
			fmt.Sprintf("timing after the last fault (synchrony): election timeout %d ticks, a leader heartbeats at every tick; no tick while a message is in flight; every server ticks once a round; no timer expires while another's has", model.ElectionTicks))
	} else {
		out = append(out, "timing: none (timers only, no synchrony: timers of different servers may expire in lock-step forever)")
	}
	return out
}

// fairText renders a --fair list as WF(...)/SF(...).
func fairText(list string) string {
	if list == "none" {
		return "none (a behaviour may stop anywhere)"
	}
	var parts []string
	for _, k := range strings.Split(list, ",") {
		k = strings.TrimSpace(k)
		if s, ok := strings.CutPrefix(k, "sf:"); ok {
			parts = append(parts, "SF("+s+")")
		} else {
			parts = append(parts, "WF("+strings.TrimPrefix(k, "wf:")+")")
		}
	}
	return strings.Join(parts, ", ") + " (each over all servers)"
}

// lassoVerdict is the OK line's account of a lasso that replays.
func lassoVerdict(t *traces.Trace) string {
	k, n, v := t.LoopStart(), len(t.Steps), t.Violation
	how := fmt.Sprintf("the loop closes (the state after step %d is the state after step %d) and steps %d-%d repeat forever", n, k, k+1, n)
	if k == n {
		how = fmt.Sprintf("after step %d no fair action is enabled, so the behaviour stutters forever", n)
	}
	return fmt.Sprintf("%s; %s fails on it under fairness %s", how, v.Property, fairText(v.Fair))
}

// shrinkLasso is explore shrink on a lasso: the prefix and the cycle are
// shortened while the trace stays a fair lasso violating its property;
// the result is written with the model's states recorded.
func shrinkLasso(stdout, stderr io.Writer, t *traces.Trace, out, file string, args []string) int {
	small, stats, err := shrink.ShrinkLasso(t)
	if err != nil {
		fmt.Fprintf(stderr, "explore shrink: %s: %v\n", file, err)
		return exitViolation
	}
	r, err := replay.Model(small)
	if err != nil || !r.OK() {
		fmt.Fprintf(stderr, "explore shrink: internal error: the shrunk lasso does not replay: %v %v\n", err, r.Failures)
		return exitViolation
	}
	for i := range small.Steps {
		small.Steps[i].State = &r.Frames[i+1].Model
	}
	if err := replay.RecaptionTimers(small); err != nil {
		fmt.Fprintf(stderr, "explore shrink: internal error: %v\n", err)
		return exitViolation
	}
	small.Title = fmt.Sprintf("%s violated: a lasso of %d steps, then %d repeated forever", small.Violation.Property, small.LoopStart(), len(small.Steps)-small.LoopStart())
	small.Producer = traces.Producer{Tool: "explore shrink", Command: strings.TrimSpace("explore shrink " + strings.Join(args, " "))}
	if out == "" {
		out = strings.TrimSuffix(file, filepath.Ext(file)) + ".min.json"
	}
	if err := small.WriteFile(out); err != nil {
		fmt.Fprintf(stderr, "explore shrink: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "shrunk the lasso (violation of %s) from %d to %d steps: prefix %d -> %d, cycle %d -> %d (%d candidates checked): %s\n",
		small.Violation.Property, stats.From, stats.To, t.LoopStart(), small.LoopStart(), len(t.Steps)-t.LoopStart(), len(small.Steps)-small.LoopStart(), stats.Candidates, out)
	return exitOK
}

// livenessDocs describes the liveness properties for explore bugs
// -properties (name, kind, what it says; spec/README.md, "Liveness").
var livenessDocs = [][3]string{
	{checking.StableLeader, "liveness", "after the last fault, eventually a leader of the highest term that every server follows (--liveness)"},
	{checking.ProposalsCommitted, "liveness", "after the last fault, what is proposed to an established leader is eventually committed (--liveness)"},
	{checking.NoDisruption, "transition", "after the last fault, a follower that has heard from the leader of its term does not time out (--liveness)"},
}
