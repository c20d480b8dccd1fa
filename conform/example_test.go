package conform_test

import (
	"fmt"

	"github.com/raftcheck/raftcheck/conform"
	"github.com/raftcheck/raftcheck/conform/tinyraft"
	"github.com/raftcheck/raftcheck/model"
)

// Plug a second implementation into the seam — tinyraft, a deliberately
// small Raft written for this example, with the classic bug of granting
// votes without the election restriction — and let conformance replay
// every model path of up to 12 steps on it until it finds where the
// implementation does what the model never does.
func Example() {
	cfg := model.Config{Servers: 3, MaxTerm: 2, MaxValues: 1, MaxMsgs: 3, MaxCopies: 1}
	res, err := conform.Run(conform.Options{
		Config:      cfg,
		System:      tinyraft.Factory(tinyraft.Options{VoteWithoutLogCheck: true}),
		Abstraction: conform.Core, // tinyraft reports no nextIndex, matchIndex or tallies
		Depth:       12,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	d := res.Replay.Divergence
	fmt.Printf("after %d paths: diverges at step %d, %v (%v)\n", res.Paths, d.Step, d.Action, d.Kind)
	for _, line := range d.Lines() {
		fmt.Println(" ", line)
	}
	// Output:
	// after 235 paths: diverges at step 6, Deliver(RequestVote S2->S1 t2 last=0/0) (different state)
	//   S1 voted_for: model - | impl S2
	//   message missing: RequestVoteResponse S1->S2 t2 refused (x1 vs x0)
	//   message unexpected: RequestVoteResponse S1->S2 t2 granted (x0 vs x1)
}
