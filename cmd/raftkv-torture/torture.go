package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/raftcheck/raftcheck/traces/validate"
)

// report is what a run found.
type report struct {
	violations []string
	ops        int
	unknown    int
	faults     int
}

// fault is one entry of the schedule: inject at start, heal after hold.
type fault struct {
	kind string
	a, b []int // kill/pause: a[0]; partition: sides a and b; asym: a cannot reach b
	hold time.Duration
}

func (f fault) String() string {
	ids := func(s []int) string {
		var w []string
		for _, i := range s {
			w = append(w, fmt.Sprintf("S%d", i+1))
		}
		return strings.Join(w, ",")
	}
	switch f.kind {
	case "partition":
		return fmt.Sprintf("partition {%s} | {%s} for %v", ids(f.a), ids(f.b), f.hold)
	case "asym":
		return fmt.Sprintf("asym {%s} -/-> {%s} for %v", ids(f.a), ids(f.b), f.hold)
	}
	return fmt.Sprintf("%s %s for %v", f.kind, ids(f.a), f.hold)
}

// schedule draws the faults of a run from the seed.
func schedule(o *options) []fault {
	rng := rand.New(rand.NewPCG(o.seed, 0xfa17))
	var out []fault
	for t := time.Duration(0); t < o.duration && len(o.kinds) > 0; {
		f := fault{kind: o.kinds[rng.IntN(len(o.kinds))], hold: time.Duration(300+rng.IntN(1200)) * time.Millisecond}
		perm := rng.Perm(o.servers)
		switch f.kind {
		case "kill", "pause":
			f.a = perm[:1]
		default:
			k := 1 + rng.IntN(o.servers/2) // a minority side
			f.a, f.b = perm[:k], perm[k:]
		}
		out = append(out, f)
		t += f.hold + 500*time.Millisecond
	}
	return out
}

func (c *cluster) inject(f fault, on bool) error {
	switch f.kind {
	case "kill":
		if on {
			c.kill(f.a[0])
			return nil
		}
		return c.start(f.a[0])
	case "pause":
		sig := syscall.SIGCONT
		if on {
			sig = syscall.SIGSTOP
		}
		c.signal(f.a[0], sig)
	case "partition", "asym":
		for _, i := range f.a {
			for _, j := range f.b {
				c.block(i, j, on)
				if f.kind == "partition" {
					c.block(j, i, on)
				}
			}
		}
	}
	return nil
}

// torture runs the whole thing and checks it.
func torture(o *options, stdout io.Writer) (*report, error) {
	plan := schedule(o)
	fmt.Fprintf(stdout, "seed %d: %d servers, %v, %d faults scheduled, output %s\n", o.seed, o.servers, o.duration, len(plan), o.out)
	c, err := newCluster(o)
	if err != nil {
		return nil, err
	}
	defer c.stop()
	if err := c.waitLeader(20 * time.Second); err != nil {
		return nil, err
	}
	h := &history{}
	ctx, cancel := context.WithTimeout(context.Background(), o.duration)
	defer cancel()
	var wg sync.WaitGroup
	var budget atomic.Int64
	budget.Store(int64(o.ops))
	for k := range o.clients {
		wg.Add(1)
		go func() { defer wg.Done(); h.client(ctx, c, k, &budget) }()
	}
	rep := &report{}
	sched, err := os.Create(filepath.Join(o.out, "schedule.txt"))
	if err != nil {
		return nil, err
	}
	defer sched.Close()
	start := time.Now()
	for _, f := range plan {
		if ctx.Err() != nil {
			break
		}
		fmt.Fprintf(sched, "%8.3fs %v\n", time.Since(start).Seconds(), f)
		if err := c.inject(f, true); err != nil {
			return nil, err
		}
		rep.faults++
		sleep(ctx, f.hold)
		if err := c.inject(f, false); err != nil {
			return nil, err
		}
		sleep(ctx, 500*time.Millisecond)
	}
	<-ctx.Done()
	wg.Wait()
	if err := c.heal(); err != nil {
		return nil, err
	}
	if err := c.waitLeader(30 * time.Second); err != nil {
		rep.violations = append(rep.violations, fmt.Sprintf("liveness: %v after healing", err))
	} else if err := h.finalReads(c, o.keys); err != nil {
		rep.violations = append(rep.violations, fmt.Sprintf("liveness: %v", err))
	}
	c.stop()
	rep.ops, rep.unknown = h.counts()
	fmt.Fprintf(stdout, "%d faults injected; %d operations (%d unknown)\n", rep.faults, rep.ops, rep.unknown)
	rep.violations = append(rep.violations, h.check(o.out, stdout)...)
	rep.violations = append(rep.violations, h.lostWrites()...)
	rep.violations = append(rep.violations, validateTraces(c, stdout)...)
	return rep, nil
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// statusJSON is the part of raftkv's GET /status the harness reads.
type statusJSON struct {
	Role string `json:"role"`
	Term uint64 `json:"term"`
}

// waitLeader waits until every server answers and one is leader.
func (c *cluster) waitLeader(d time.Duration) error {
	cl := &http.Client{Timeout: 500 * time.Millisecond}
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		leaders, up := 0, 0
		for i := range c.o.servers {
			resp, err := cl.Get("http://" + c.http[i] + "/status")
			if err != nil {
				continue
			}
			var st statusJSON
			err = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if err == nil {
				up++
				if st.Role == "leader" {
					leaders++
				}
			}
		}
		if up == c.o.servers && leaders >= 1 {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("no leader with every server up within %v", d)
}

// validateTraces validates the servers' event logs.
func validateTraces(c *cluster, stdout io.Writer) []string {
	var files []string
	for i := range c.o.servers {
		files = append(files, c.tracePath(i))
	}
	t0 := time.Now()
	res, err := validate.Run(files, validate.Options{})
	if err != nil {
		return []string{"trace validation: " + err.Error()}
	}
	fmt.Fprintf(stdout, "traces: OK, %d events, %d messages received, %d state fields, validated in %v\n",
		res.Events, res.Received, res.Fields, time.Since(t0).Round(time.Millisecond))
	return nil
}
