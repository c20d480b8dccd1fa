package main

import (
	"runtime/debug"
	"strings"
)

// version describes this build from the module's build info, in the same
// form as raftkv --version: the module path and version, then the commit
// (7 characters), its time and "dirty" when the work tree had changes, as
// far as the build recorded its VCS information.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "explore (no build information)"
	}
	vcs := map[string]string{}
	for _, s := range bi.Settings {
		vcs[s.Key] = s.Value
	}
	rev := vcs["vcs.revision"]
	words := []string{"explore", bi.Main.Path, bi.Main.Version, rev[:min(len(rev), 7)], vcs["vcs.time"]}
	if vcs["vcs.modified"] == "true" {
		words = append(words, "dirty")
	}
	return strings.Join(strings.Fields(strings.Join(words, " ")), " ")
}
