package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/raftcheck/raftcheck/checker"
	"github.com/raftcheck/raftcheck/checker/report"
	"github.com/raftcheck/raftcheck/model"
)

// shardFlag is --shard I/N.
type shardFlag struct{ i, n int }

func (s *shardFlag) String() string {
	if s.n == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.i, s.n)
}

func (s *shardFlag) Set(v string) error {
	a, b, ok := strings.Cut(v, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 2 || i < 0 || i >= n {
		return fmt.Errorf("%q is not I/N with N at least 2 and I in 0..N-1", v)
	}
	s.i, s.n = i, n
	return nil
}

// shardFile is the shard's result file with suffix ext (".json", ".fps").
func (f *checkFlags) shardFile(ext string) string {
	return filepath.Join(f.shardOut, fmt.Sprintf("shard-%d-of-%d%s", f.shard.i, f.shard.n, ext))
}

// prepareShard creates the shard's output directory; a shard keeps its
// counterexamples apart from the other shards' (they may share --out).
func (f *checkFlags) prepareShard() error {
	if f.shard.n == 0 {
		return nil
	}
	if err := os.MkdirAll(f.shardOut, 0o755); err != nil {
		return fmt.Errorf("--shard-out: %w", err)
	}
	f.out = filepath.Join(f.out, fmt.Sprintf("shard-%d-of-%d", f.shard.i, f.shard.n))
	return nil
}

// writeShard writes a shard's JSON result beside its fingerprints. A
// shard's goals are judged by the merge (a goal may be reached in another
// shard's part), so its own exit status does not call it vacuous.
func (f *checkFlags) writeShard(rep *report.Report[model.State, model.Action]) error {
	if f.shard.n == 0 {
		return nil
	}
	rep.AllowVacuous = true
	rep.ShardFingerprints = filepath.Base(f.shardFile(".fps"))
	rep.ShardID = f.searchID()
	rep.Note = strings.TrimSpace(rep.Note + fmt.Sprintf("\nshard %s of a search: combine the shards with explore merge %s", f.shard.String(), filepath.Join(f.shardOut, "shard-*-of-"+strconv.Itoa(f.shard.n)+".json")))
	out, err := os.Create(f.shardFile(".json"))
	if err != nil {
		return fmt.Errorf("--shard-out: %w", err)
	}
	err = rep.PrintJSON(out)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("--shard-out: %w", err)
	}
	return nil
}

// shardResult is one shard's result file, read back.
type shardResult struct {
	path string
	report.JSONResult
}

func cmdMerge(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explore merge", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print one JSON object on stdout")
	if err := parseFlags(fs, args, stdout, -1); err != nil {
		return usageError(stderr, fs, err)
	}
	shards, err := readShards(fs.Args())
	if err == nil {
		var merged *report.JSONResult
		if merged, err = mergeShards(shards); err == nil {
			return printMerged(stdout, merged, len(shards), *asJSON)
		}
	}
	fmt.Fprintf(stderr, "explore merge: %v\n", err)
	return exitUsage
}

// readShards reads the result files and checks they are the shards
// 0..N-1 of one search, each once.
func readShards(paths []string) ([]shardResult, error) {
	if len(paths) == 0 {
		return nil, errors.New("want the result files of the shards (shard-*-of-N.json)")
	}
	var out []shardResult
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		r := shardResult{path: p}
		if err := json.Unmarshal(b, &r.JSONResult); err != nil {
			return nil, fmt.Errorf("%s: not a shard result: %v", p, err)
		}
		if r.Shard == nil {
			return nil, fmt.Errorf("%s: not a shard's result (no \"shard\"; run explore check --shard I/N)", p)
		}
		out = append(out, r)
	}
	n, id := out[0].Shard.Count, out[0].Shard.ID
	seen := make([]string, n)
	for _, r := range out {
		switch {
		case r.Shard.Count != n || r.Shard.ID != id:
			return nil, fmt.Errorf("%s is a shard of another search than %s", r.path, out[0].path)
		case seen[r.Shard.Index] != "":
			return nil, fmt.Errorf("%s and %s are both shard %d", seen[r.Shard.Index], r.path, r.Shard.Index)
		}
		seen[r.Shard.Index] = r.path
	}
	for i, p := range seen {
		if p == "" {
			return nil, fmt.Errorf("shard %d of %d is missing", i, n)
		}
	}
	return out, nil
}

// mergeShards combines the shards' results into the whole search's: the
// distinct states are the union of their fingerprints; generated states
// and coverage count the shared prefix once and every shard's own part
// (a state reachable from two parts counts in both: work done); goals
// are reached when one shard reached them, in its fewest steps; the
// violation is the shortest one (the lowest shard on a tie).
func mergeShards(shards []shardResult) (*report.JSONResult, error) {
	first := shards[0]
	for _, r := range shards {
		if r.Shard.SplitDepth != first.Shard.SplitDepth {
			return nil, fmt.Errorf("shards %d and %d split at levels %d and %d: one stopped before the split (%s); run it again",
				first.Shard.Index, r.Shard.Index, first.Shard.SplitDepth, r.Shard.SplitDepth, stoppedOf(first, r))
		}
	}
	m := &report.JSONResult{Config: first.Config, Strategy: first.Strategy, Symmetry: first.Symmetry, Complete: true,
		Coverage: report.JSONCoverage{Actions: map[string]report.JSONAction{}, Goals: map[string]report.JSONGoal{}},
		Shard: &report.JSONShard{Count: first.Shard.Count, SplitDepth: first.Shard.SplitDepth, ID: first.Shard.ID,
			PrefixGenerated: first.Shard.PrefixGenerated, PrefixDistinct: first.Shard.PrefixDistinct, PrefixCoverage: first.Shard.PrefixCoverage}}
	var fps []string
	m.GeneratedStates = first.Shard.PrefixGenerated
	for k, a := range first.Shard.PrefixCoverage {
		m.Coverage.Actions[k] = a
	}
	never := map[string]int{}
	for _, r := range shards {
		fps = append(fps, filepath.Join(filepath.Dir(r.path), r.Shard.Fingerprints))
		m.GeneratedStates += r.GeneratedStates - r.Shard.PrefixGenerated
		for k, a := range r.Coverage.Actions {
			p, t := r.Shard.PrefixCoverage[k], m.Coverage.Actions[k]
			m.Coverage.Actions[k] = report.JSONAction{Enabled: t.Enabled + a.Enabled - p.Enabled,
				Fired: t.Fired + a.Fired - p.Fired, New: t.New + a.New - p.New}
		}
		mergeGoals(m, &r)
		for _, k := range r.NeverEnabled {
			never[k]++
		}
		m.Depth = max(m.Depth, r.Depth)
		m.ElapsedSeconds = max(m.ElapsedSeconds, r.ElapsedSeconds)
		m.Complete = m.Complete && r.Complete
		if m.Stopped == "" && r.Stopped != "" && r.Stopped != "violation" {
			m.Stopped = fmt.Sprintf("shard %d: %s", r.Shard.Index, r.Stopped)
		}
		if v := r.Violation; v != nil && (m.Violation == nil || v.Length < m.Violation.Length) {
			vc := *v
			vc.Message = fmt.Sprintf("shard %d: %s", r.Shard.Index, v.Message)
			m.Violation = &vc
		}
	}
	for k, c := range never {
		if c == len(shards) {
			m.NeverEnabled = append(m.NeverEnabled, k)
		}
	}
	var err error
	if m.DistinctStates, err = checker.MergeFingerprints(fps); err != nil {
		return nil, fmt.Errorf("fingerprints: %w", err)
	}
	finishMerged(m)
	return m, nil
}

func stoppedOf(a, b shardResult) string {
	for _, r := range []shardResult{a, b} {
		if r.Stopped != "" {
			return fmt.Sprintf("shard %d: %s", r.Shard.Index, r.Stopped)
		}
	}
	return "no shard says why"
}

// mergeGoals adds r's goals to m's.
func mergeGoals(m *report.JSONResult, r *shardResult) {
	for name, g := range r.Coverage.Goals {
		t, ok := m.Coverage.Goals[name]
		if !ok {
			t = report.JSONGoal{Expected: g.Expected}
		}
		if g.Reached && (!t.Reached || g.Steps < t.Steps) {
			t.Reached, t.Steps = true, g.Steps
		}
		m.Coverage.Goals[name] = t
	}
}

// finishMerged sets the verdict, exit status and unreached goals.
func finishMerged(m *report.JSONResult) {
	m.UnreachedGoals = []string{}
	for name, g := range m.Coverage.Goals {
		if g.Expected && !g.Reached {
			m.UnreachedGoals = append(m.UnreachedGoals, name)
		}
	}
	slices.Sort(m.UnreachedGoals)
	slices.Sort(m.NeverEnabled)
	if m.NeverEnabled == nil {
		m.NeverEnabled = []string{}
	}
	switch {
	case m.Violation != nil:
		m.Verdict, m.ExitStatus, m.Complete, m.Stopped = checker.VerdictViolation, exitViolation, false, "violation"
	case !m.Complete:
		m.Verdict, m.ExitStatus = checker.VerdictIncomplete, exitLimit
	case len(m.UnreachedGoals) > 0:
		m.Verdict, m.ExitStatus = checker.VerdictVacuous, exitVacuous
	default:
		m.Verdict, m.ExitStatus = checker.VerdictOK, exitOK
	}
}

// printMerged prints the merged result and returns its exit status.
func printMerged(w io.Writer, m *report.JSONResult, n int, asJSON bool) int {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(m)
		return m.ExitStatus
	}
	cfg, _ := json.Marshal(m.Config)
	fmt.Fprintf(w, "explore merge: %d shards of %s (split at level %d)\n", n, cfg, m.Shard.SplitDepth)
	fmt.Fprintf(w, "%s distinct states (the union of the shards' fingerprints), %s generated (the shared prefix once), deepest shard level %d, slowest shard %.2fs\n",
		report.Commas(m.DistinctStates), report.Commas(m.GeneratedStates), m.Depth, m.ElapsedSeconds)
	switch m.Verdict {
	case checker.VerdictViolation:
		v := m.Violation
		fmt.Fprintf(w, "VIOLATION of %s after %d steps (%s)\ncounterexample: %s\n", v.Property, v.Length, v.Message, v.Trace)
	case checker.VerdictIncomplete:
		fmt.Fprintf(w, "INCOMPLETE: %s; the shards together did not cover the bounds\n", m.Stopped)
	case checker.VerdictVacuous:
		fmt.Fprintf(w, "VACUOUS: no shard reached %s, which the bounds promise\n", strings.Join(m.UnreachedGoals, ", "))
	default:
		fmt.Fprintf(w, "OK: every property holds in every reachable state within the bounds (all %d shards complete)\n", n)
	}
	return m.ExitStatus
}
