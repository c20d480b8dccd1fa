package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/raftcheck/raftcheck/checker"
	"github.com/raftcheck/raftcheck/checker/report"
	"github.com/raftcheck/raftcheck/traces"
)

// writeTraces writes a trace for every violation of r under dir, and
// its path into r.TracePaths: for BFS and
// DFS the one counterexample as NAME.json (the same run gives the same
// file), for random walks each distinct violation as NAME-K.json with the
// first K not yet taken, so that no run overwrites another's.
func writeTraces[S, A any](r *report.Report[S, A], dir string, trace func(*checker.Violation[S, A]) *traces.Trace) error {
	for _, v := range r.Result.Violations {
		p, err := writeCounterexample(dir, trace(v), r.Strategy == "random")
		if err != nil {
			return err
		}
		r.TracePaths = append(r.TracePaths, p)
	}
	return nil
}

func commandLine(args []string) string {
	return strings.TrimSpace("explore check " + strings.Join(withoutCheckpointFlags(args), " "))
}

// withoutCheckpointFlags drops --checkpoint, --checkpoint-every and
// --resume (and their values) from args: they say where a run was saved,
// not what it checks, so a trace's command leaves them out.
func withoutCheckpointFlags(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		name, _, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if strings.HasPrefix(args[i], "-") && (name == "checkpoint" || name == "checkpoint-every" || name == "resume") {
			if !hasValue {
				i++
			}
			continue
		}
		out = append(out, args[i])
	}
	return out
}

// writeCounterexample writes the trace under dir, named after the bug (if
// any) and the property, numbered if asked, and returns its path.
func writeCounterexample(dir string, t *traces.Trace, numbered bool) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("--out: %w", err)
	}
	name := t.Violation.Property
	if t.Config.Bug != "" {
		name = t.Config.Bug + "-" + name
	}
	b, err := t.Marshal()
	if err != nil {
		return "", err
	}
	if !numbered {
		path := filepath.Join(dir, name+".json")
		return path, os.WriteFile(path, b, 0o644)
	}
	for k := 1; ; k++ {
		path := filepath.Join(dir, fmt.Sprintf("%s-%d.json", name, k))
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if os.IsExist(err) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("--out: %w", err)
		}
		_, err = f.Write(b)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", fmt.Errorf("writing trace: %w", err)
		}
		return path, nil
	}
}
