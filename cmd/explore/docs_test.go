package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/spec"
)

// The README's seeded-bugs table lists exactly the registry's bugs, each
// with the property it breaks and its counterexample's length; the README
// and spec/README.md name every registered property. The docs cannot
// drift from the registries.
func TestDocsFollowTheRegistries(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repo, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z0-9-]+)` \\| ([a-z-]+|nothing \\(negative control\\)) \\| [^|]+ \\| ([0-9]+|–) \\|$")
	rows := row.FindAllStringSubmatch(string(readme), -1)
	if len(rows) != len(model.Bugs) {
		t.Fatalf("README's bug table has %d rows, the registry %d bugs", len(rows), len(model.Bugs))
	}
	for i, b := range model.Bugs {
		r := rows[i]
		breaks, steps := b.Breaks, "–"
		if breaks == "" {
			breaks = "nothing (negative control)"
		} else {
			steps = strconv.Itoa(b.MaxLength)
		}
		if r[1] != b.Name || r[2] != breaks || r[3] != steps {
			t.Errorf("README row %d: %s %s %s; registry %s %s %s", i+1, r[1], r[2], r[3], b.Name, breaks, steps)
		}
	}
	specReadme, err := os.ReadFile(filepath.Join(repo, "spec", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range spec.Properties() {
		for name, doc := range map[string][]byte{"README.md": readme, "spec/README.md": specReadme} {
			if !strings.Contains(string(doc), p.Name) {
				t.Errorf("%s does not name the property %s", name, p.Name)
			}
		}
	}
}
