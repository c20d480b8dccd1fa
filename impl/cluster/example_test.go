package cluster_test

import (
	"fmt"

	"github.com/raftcheck/raftcheck/impl/cluster"
	"github.com/raftcheck/raftcheck/spec"
)

// One election as spec actions: S1 times out and S2's vote makes it leader.
func Example() {
	c, err := cluster.New(3, cluster.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	_ = c.Apply(spec.Action{Kind: spec.Timeout, Server: 1})
	for _, f := range c.InFlight() {
		fmt.Println(f.Message)
	}
	vote := spec.Message{Type: spec.RequestVote, From: 1, To: 2, Term: 1}
	_ = c.Deliver(vote)
	_ = c.Deliver(spec.Message{Type: spec.RequestVoteResponse, From: 2, To: 1, Term: 1, Granted: true})
	fmt.Println(c.Views()[0])
	fmt.Println(c.Deliver(vote))
	// Output:
	// RequestVote S1->S2 t1 last=0/0
	// RequestVote S1->S3 t1 last=0/0
	// S1 leader    t1 voted=S1 log=[] commit=0 next=[0 1 1] match=[0 0 0]
	// cluster: Deliver(RequestVote S1->S2 t1 last=0/0): action not enabled: message not in flight
}
