package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// A checkpointed run keeps the flags it was started with in its
// directory, so that `explore check --resume DIR` needs nothing else:
// the resumed run parses them again, followed by the flags of the resume
// command (which may change --workers, --progress, --json, --out,
// --time-limit or --checkpoint-every; a flag that changes what is
// checked makes the checkpoint's identity differ, and the resume is
// refused).

// commandFile is the file of a checkpoint directory holding the flags.
const commandFile = "command.json"

type savedCommand struct {
	Args []string `json:"args"`
}

// resumeArgs returns args with a --resume DIR expanded: the saved flags of
// DIR, then --checkpoint DIR, then the other flags given.
func resumeArgs(args []string) ([]string, error) {
	dir, rest, err := takeResume(args)
	if err != nil || dir == "" {
		return args, err
	}
	b, err := os.ReadFile(filepath.Join(dir, commandFile))
	if err != nil {
		return nil, fmt.Errorf("--resume: %w", err)
	}
	var c savedCommand
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("--resume: %s: %w", filepath.Join(dir, commandFile), err)
	}
	out := append(c.Args, "--checkpoint", dir, "--resume", dir)
	return append(out, rest...), nil
}

// takeResume removes --resume DIR (or --resume=DIR) from args.
func takeResume(args []string) (dir string, rest []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--resume" || a == "-resume":
			if i+1 == len(args) {
				return "", nil, errors.New("--resume: needs a directory")
			}
			dir = args[i+1]
			i++
		case strings.HasPrefix(a, "--resume=") || strings.HasPrefix(a, "-resume="):
			dir = a[strings.Index(a, "=")+1:]
		default:
			rest = append(rest, a)
		}
	}
	if dir == "" && len(rest) != len(args) {
		return "", nil, errors.New("--resume: needs a directory")
	}
	return dir, rest, nil
}

// saveCommand writes the flags of a new checkpointed run to its
// directory (a resumed run keeps the file it was started with).
func (f *checkFlags) saveCommand(args []string) error {
	if f.checkpoint == "" || f.resume != "" {
		return nil
	}
	if err := os.MkdirAll(f.checkpoint, 0o755); err != nil {
		return fmt.Errorf("--checkpoint: %w", err)
	}
	if _, err := os.Stat(filepath.Join(f.checkpoint, "checkpoint.json")); err == nil {
		return fmt.Errorf("--checkpoint: %s already holds a checkpoint; continue it with --resume %s, or choose another directory", f.checkpoint, f.checkpoint)
	}
	b, err := json.MarshalIndent(savedCommand{Args: args}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(f.checkpoint, commandFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("--checkpoint: %w", err)
	}
	return nil
}

// checkpointID is what a checkpoint of this run must match to be resumed:
// the search (searchID) and the shard.
func (f *checkFlags) checkpointID() string {
	return f.searchID() + " shard " + f.shard.String()
}

// searchID identifies the search: the model's configuration and the
// options that change what is explored. Every shard of one search has it.
func (f *checkFlags) searchID() string {
	id := struct {
		Config     any    `json:"config"`
		Symmetry   bool   `json:"symmetry"`
		MaxDepth   int    `json:"max_depth"`
		MaxStates  int64  `json:"max_states"`
		Invariants string `json:"invariants"`
		Bug        string `json:"bug"`
	}{f.bounds.cfg, f.symmetry, f.maxDepth, f.maxStates, f.invariants, f.bug}
	b, _ := json.Marshal(id)
	return string(b)
}
