// Command serve runs tinyraft as a system under test over the process
// protocol of package conform, for explore --system:
//
//	go run ./cmd/explore conform --abstraction core --system "go run ./conform/tinyraft/serve -vote-without-log-check"
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/raftcheck/raftcheck/conform"
	"github.com/raftcheck/raftcheck/conform/tinyraft"
)

func main() {
	var opts tinyraft.Options
	flag.BoolVar(&opts.VoteWithoutLogCheck, "vote-without-log-check", false, "grant votes without the election restriction (a seeded bug)")
	flag.BoolVar(&opts.ProposeAnywhere, "propose-anywhere", false, "append client values on a follower or candidate too (a seeded bug)")
	flag.Parse()
	if err := conform.Serve(tinyraft.Factory(opts), os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "tinyraft: %v\n", err)
		os.Exit(1)
	}
}
