package conform

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"

	"github.com/raftcheck/raftcheck/spec"
)

// The process protocol lets a system under test run as a separate program,
// written in any language: the harness writes one JSON request per line to
// its standard input and reads one JSON response per line from its
// standard output. A program serves any number of systems one after the
// other, each a session:
//
//	→ {"setup": {"servers": 3, "max_copies": 1, "features": {…}}}   ← {"state": STATE}
//	→ {"apply": ACTION}                             ← {"state": STATE} or {"refused": "why"}
//	→ {"restore": {"state": STATE, "durable": [DURABLE, …]}}   ← {"state": STATE}
//	→ {"close": true}                               ← {}
//
// ACTION is an action as a trace writes it (traces/README.md), STATE a
// state as a trace records it (servers, network, partition; no history
// needed). "features" are the optional mechanisms switched on, as the
// trace's configuration names them (spec.Features); a program that lacks
// one answers the setup with an error. With membership changes on the
// setup also has "reconfigs": true and "joiners": J, the servers after
// "servers" that start outside the initial configuration (the cluster has
// servers + joiners servers); a program without membership changes
// answers such a setup with an error. "restore" (optional: only
// exhaustive transition conformance sends it) puts the system directly
// into a state, DURABLE being each server's stable storage (term,
// voted_for, log, snapshot_index); a program that cannot answers it with an
// error. Any request may instead be answered {"error": "what failed"},
// which ends the run. Serve implements the program's side for a Factory
// written in Go. The harness runs one program per system open at once
// (one per worker), so a program serves one session at a time.

// request is one line the harness writes.
type request struct {
	Setup   *Setup       `json:"setup,omitempty"`
	Apply   *spec.Action `json:"apply,omitempty"`
	Restore *restoreArgs `json:"restore,omitempty"`
	Close   bool         `json:"close,omitempty"`
}

// restoreArgs are a restore request's: the state and stable storage.
type restoreArgs struct {
	State   spec.State     `json:"state"`
	Durable []spec.Durable `json:"durable"`
}

// response is one line the program writes.
type response struct {
	State   *spec.State `json:"state,omitempty"`
	Refused string      `json:"refused,omitempty"`
	Error   string      `json:"error,omitempty"`
}

// setupJSON is a Setup with the protocol's field names.
type setupJSON struct {
	Servers   int           `json:"servers"`
	Joiners   int           `json:"joiners,omitempty"`
	Reconfigs bool          `json:"reconfigs,omitempty"`
	MaxCopies int           `json:"max_copies"`
	Features  spec.Features `json:"features"`
	Snapshots bool          `json:"snapshots,omitempty"`
}

// MarshalJSON writes a Setup with the protocol's field names.
func (s Setup) MarshalJSON() ([]byte, error) {
	return json.Marshal(setupJSON(s))
}

// UnmarshalJSON reads a Setup with the protocol's field names.
func (s *Setup) UnmarshalJSON(b []byte) error {
	var v setupJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = Setup(v)
	return nil
}

// Process returns a Factory of systems served by the program argv, which
// speaks the process protocol. The program is started at the first system
// and serves every later one; stop ends it. The program's standard error
// goes to stderr (nil: discarded).
func Process(argv []string, stderr io.Writer) (f Factory, stop func() error) {
	p := &pool{argv: argv, stderr: stderr}
	return p.system, p.stop
}

// pool runs the program once per system open at the same time: a session
// holds its process until Close, and the next session reuses an idle one.
type pool struct {
	argv   []string
	stderr io.Writer
	mu     sync.Mutex
	idle   []*process
	all    []*process
}

func (p *pool) system(s Setup) (System, error) {
	p.mu.Lock()
	var pr *process
	if n := len(p.idle); n > 0 {
		pr, p.idle = p.idle[n-1], p.idle[:n-1]
	} else {
		pr = &process{argv: p.argv, stderr: p.stderr}
		p.all = append(p.all, pr)
	}
	p.mu.Unlock()
	if err := pr.start(); err != nil {
		return nil, err // a process that failed to start is not reused
	}
	resp, err := pr.call(request{Setup: &s})
	if err == nil && resp.State == nil {
		err = fmt.Errorf("%s answered setup without a state", p.argv[0])
	}
	if err != nil {
		p.release(pr)
		return nil, err
	}
	return &session{p: pr, pool: p, state: *resp.State}, nil
}

// release makes pr idle again.
func (p *pool) release(pr *process) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.idle = append(p.idle, pr)
}

// stop ends every process, returning the first failure.
func (p *pool) stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for _, pr := range p.all {
		errs = append(errs, pr.stop())
	}
	p.all, p.idle = nil, nil
	return errors.Join(errs...)
}

// process is one running program.
type process struct {
	argv   []string
	stderr io.Writer
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Scanner
	failed error
}

func (p *process) start() error {
	if p.cmd != nil {
		return p.failed
	}
	if len(p.argv) == 0 {
		return errors.New("no program to run")
	}
	p.cmd = exec.Command(p.argv[0], p.argv[1:]...)
	p.cmd.Stderr = p.stderr
	var err error
	if p.in, err = p.cmd.StdinPipe(); err != nil {
		return err
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	p.out = bufio.NewScanner(out)
	p.out.Buffer(make([]byte, 1<<16), 1<<26)
	if err := p.cmd.Start(); err != nil {
		p.failed = fmt.Errorf("starting %s: %w", p.argv[0], err)
	}
	return p.failed
}

// call sends one request and reads its response.
func (p *process) call(req request) (response, error) {
	var resp response
	if p.failed != nil {
		return resp, p.failed
	}
	b, err := json.Marshal(req)
	if err != nil {
		return resp, err
	}
	if _, err := p.in.Write(append(b, '\n')); err != nil {
		p.failed = fmt.Errorf("writing to %s: %w", p.argv[0], err)
		return resp, p.failed
	}
	if !p.out.Scan() {
		p.failed = fmt.Errorf("%s ended without answering %.200s (%v)", p.argv[0], b, p.out.Err())
		return resp, p.failed
	}
	if err := json.Unmarshal(p.out.Bytes(), &resp); err != nil {
		p.failed = fmt.Errorf("%s answered %.200q: not a response: %w", p.argv[0], p.out.Bytes(), err)
		return resp, p.failed
	}
	if resp.Error != "" {
		return resp, fmt.Errorf("%s: %s", p.argv[0], resp.Error)
	}
	return resp, nil
}

func (p *process) stop() error {
	if p.cmd == nil || p.cmd.Process == nil {
		return nil
	}
	p.in.Close()
	err := p.cmd.Wait()
	p.cmd = nil
	return err
}

// session is one system served by a program.
type session struct {
	p      *process
	pool   *pool
	state  spec.State
	closed bool
}

func (s *session) Apply(a spec.Action) error {
	resp, err := s.p.call(request{Apply: &a})
	switch {
	case err != nil:
		return err
	case resp.Refused != "":
		return fmt.Errorf("%w: %s", ErrNotEnabled, resp.Refused)
	case resp.State == nil:
		return fmt.Errorf("%s answered %v without a state", s.p.argv[0], a)
	}
	s.state = *resp.State
	return nil
}

// Restore sends a restore request; a program that cannot restore answers
// with an error, which ends a transition conformance run.
func (s *session) Restore(st *spec.State, durable []spec.Durable) error {
	resp, err := s.p.call(request{Restore: &restoreArgs{State: *st, Durable: durable}})
	switch {
	case err != nil:
		return err
	case resp.State == nil:
		return fmt.Errorf("%s answered a restore without a state", s.p.argv[0])
	}
	s.state = *resp.State
	return nil
}

func (s *session) State() spec.State { return s.state.Clone() }

func (s *session) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	defer s.pool.release(s.p)
	_, err := s.p.call(request{Close: true})
	return err
}

// Serve is the program's side of the process protocol: it answers the
// requests read from r on w, building each session's system with f, until
// r ends. A Go implementation becomes a program the harness can drive with
// a main of one line: conform.Serve(myFactory, os.Stdin, os.Stdout).
func Serve(f Factory, r io.Reader, w io.Writer) error {
	in := bufio.NewScanner(r)
	in.Buffer(make([]byte, 1<<16), 1<<26)
	enc := json.NewEncoder(w)
	var sys System
	for in.Scan() {
		var req request
		resp := response{}
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			resp.Error = fmt.Sprintf("not a request: %v", err)
		} else {
			sys, resp = serveOne(f, sys, req)
		}
		if err := enc.Encode(resp); err != nil {
			return fmt.Errorf("writing a response: %w", err)
		}
	}
	if sys != nil {
		sys.Close()
	}
	return in.Err()
}

// serveOne answers one request of a session.
func serveOne(f Factory, sys System, req request) (System, response) {
	var resp response
	switch {
	case req.Setup != nil:
		if sys != nil {
			sys.Close()
		}
		s, err := f(*req.Setup)
		if err != nil {
			resp.Error = err.Error()
			return nil, resp
		}
		st := s.State()
		resp.State = &st
		return s, resp
	case sys == nil:
		resp.Error = "no system: the session has not been set up"
	case req.Apply != nil:
		if err := sys.Apply(*req.Apply); errors.Is(err, ErrNotEnabled) {
			resp.Refused = err.Error()
		} else if err != nil {
			resp.Error = err.Error()
		} else {
			st := sys.State()
			resp.State = &st
		}
	case req.Restore != nil:
		resp = serveRestore(sys, req.Restore)
	case req.Close:
		if err := sys.Close(); err != nil {
			resp.Error = err.Error()
		}
		return nil, resp
	default:
		resp.Error = "empty request"
	}
	return sys, resp
}

// serveRestore answers a restore request.
func serveRestore(sys System, args *restoreArgs) response {
	r, ok := sys.(Restorer)
	if !ok {
		return response{Error: "this system cannot be restored to a state (it is not a conform.Restorer): use --depth or --walks"}
	}
	if err := r.Restore(&args.State, args.Durable); err != nil {
		return response{Error: err.Error()}
	}
	st := sys.State()
	return response{State: &st}
}
