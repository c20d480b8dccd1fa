//go:build raftfaults

package main

import (
	"flag"
	"fmt"
	"reflect"
	"strings"

	"github.com/raftcheck/raftcheck/impl/raft"
)

// faultFlag defines --fault NAME[,NAME...] in a build with -tags
// raftfaults: the seeded bugs of impl/raft (raft.Faults' field names) to
// switch on, for the fault-injection harness (cmd/raftkv-torture) to show
// that it catches them. It returns the parser, run after fs.Parse.
func faultFlag(fs *flag.FlagSet) func() (raft.Faults, error) {
	names := fs.String("fault", "", "")
	return func() (raft.Faults, error) {
		var f raft.Faults
		if *names == "" {
			return f, nil
		}
		v := reflect.ValueOf(&f).Elem()
		for _, name := range strings.Split(*names, ",") {
			fv := v.FieldByName(strings.TrimSpace(name))
			if !fv.IsValid() || fv.Kind() != reflect.Bool {
				return f, fmt.Errorf("--fault: %q is not a fault of impl/raft (%s)", name, faultNames())
			}
			fv.SetBool(true)
		}
		return f, nil
	}
}

// faultNames lists raft.Faults' switches.
func faultNames() string {
	t := reflect.TypeFor[raft.Faults]()
	var names []string
	for i := range t.NumField() {
		names = append(names, t.Field(i).Name)
	}
	return strings.Join(names, ", ")
}
