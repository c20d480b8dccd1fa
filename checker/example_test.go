package checker_test

import (
	"errors"
	"fmt"

	"github.com/raftcheck/raftcheck/checker"
)

// jugs is the Die Hard puzzle: a 3-gallon and a 5-gallon jug, each filled,
// emptied or poured into the other. An action that changes nothing is not
// enabled.
type jugs struct{}

type jstate struct{ Small, Big int }

func (jugs) Init() []jstate { return []jstate{{}} }

func (jugs) Actions(_ *jstate, dst []string) []string {
	return append(dst, "fill small", "fill big", "empty small", "empty big", "small to big", "big to small")
}

func (jugs) Next(s *jstate, a string, out *jstate) bool {
	*out = *s
	switch toBig, toSmall := min(s.Small, 5-s.Big), min(s.Big, 3-s.Small); a {
	case "fill small":
		out.Small = 3
	case "fill big":
		out.Big = 5
	case "empty small":
		out.Small = 0
	case "empty big":
		out.Big = 0
	case "small to big":
		out.Small, out.Big = s.Small-toBig, s.Big+toBig
	case "big to small":
		out.Small, out.Big = s.Small+toSmall, s.Big-toSmall
	}
	return *out != *s
}

func (jugs) Encode(dst []byte, s *jstate) []byte { return append(dst, byte(s.Small), byte(s.Big)) }

// Example explores the puzzle breadth-first with the invariant that the
// big jug never holds 4 gallons: the violation is the puzzle's shortest
// solution.
func Example() {
	props := func() checker.Properties[jstate, string] {
		return checker.Properties[jstate, string]{Invariants: []checker.Invariant[jstate]{{
			Name: "big-never-4",
			Check: func(s *jstate) error {
				if s.Big == 4 {
					return errors.New("the big jug holds 4 gallons")
				}
				return nil
			},
		}}}
	}
	res, err := checker.Check[jstate, string](jugs{}, props, checker.Options{})
	if err != nil {
		panic(err)
	}
	v := res.Violation
	fmt.Printf("%s: %s violated (%v)\n", res.Verdict(), v.Property, v.Err)
	fmt.Printf("start %+v\n", v.Path.Init)
	for _, st := range v.Path.Steps {
		fmt.Printf("%-12s -> %+v\n", st.Action, st.State)
	}
	// Output:
	// violation: big-never-4 violated (the big jug holds 4 gallons)
	// start {Small:0 Big:0}
	// fill big     -> {Small:0 Big:5}
	// big to small -> {Small:3 Big:2}
	// empty small  -> {Small:0 Big:2}
	// big to small -> {Small:2 Big:0}
	// fill big     -> {Small:2 Big:5}
	// big to small -> {Small:3 Big:4}
}
