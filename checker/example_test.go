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

// lamp is a light that a "flip" action switches on and off; while it is
// off, "wait" leaves it off.
type lamp struct{}

func (lamp) Init() []bool { return []bool{false} }

func (lamp) Actions(on *bool, dst []string) []string {
	if *on {
		return append(dst, "flip")
	}
	return append(dst, "flip", "wait")
}

func (lamp) Next(on *bool, a string, out *bool) bool {
	*out = *on != (a == "flip")
	return true
}

func (lamp) Encode(dst []byte, on *bool) []byte {
	if *on {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// Example_liveness checks that the lamp is eventually on: not if waiting
// is all that is fair (the lasso waits forever), but under weak fairness
// of flipping.
func Example_liveness() {
	isOn := func(on *bool) bool { return *on }
	props := func() checker.Properties[bool, string] {
		return checker.Properties[bool, string]{Liveness: []checker.Liveness[bool, string]{
			checker.Eventually("on-if-wait-fair", isOn, checker.WF("wait", func(a string) bool { return a == "wait" })),
			checker.Eventually("on-if-flip-fair", isOn, checker.WF("flip", func(a string) bool { return a == "flip" })),
		}}
	}
	res, err := checker.Check[bool, string](lamp{}, props, checker.Options{})
	if err != nil {
		panic(err)
	}
	for _, l := range res.Liveness {
		fmt.Printf("%s: holds %v\n", l.Name, l.Holds)
		if v := l.Violation; v != nil {
			stem := v.Path.Len() - v.Loop
			fmt.Printf("  %v\n  stem of %d steps from %v, then forever:", v.Err, stem, v.Path.Init)
			for _, st := range v.Path.Steps[stem:] {
				fmt.Printf(" %s -> %v", st.Action, st.State)
			}
			fmt.Println()
		}
	}
	fmt.Println(res.Verdict())
	// Output:
	// on-if-wait-fair: holds false
	//   no state of a fair behaviour satisfies the goal: from step 0 on the behaviour repeats a fair cycle of length 1 forever
	//   stem of 0 steps from false, then forever: wait -> false
	// on-if-flip-fair: holds true
	// violation
}
