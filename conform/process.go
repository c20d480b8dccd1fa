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
//	→ {"close": true}                               ← {}
//
// ACTION is an action as a trace writes it (traces/README.md), STATE a
// state as a trace records it (servers, network, partition; no history
// needed). "features" are the optional mechanisms switched on, as the
// trace's configuration names them (spec.Features); a program that lacks
// one answers the setup with an error. Any request may instead be answered {"error": "what failed"},
// which ends the run. Serve implements the program's side for a Factory
// written in Go.

// request is one line the harness writes.
type request struct {
	Setup *Setup       `json:"setup,omitempty"`
	Apply *spec.Action `json:"apply,omitempty"`
	Close bool         `json:"close,omitempty"`
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
	p := &process{argv: argv, stderr: stderr}
	return p.system, p.stop
}

// process is a running program that serves systems.
type process struct {
	argv   []string
	stderr io.Writer
	mu     sync.Mutex
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
		p.failed = fmt.Errorf("%s ended without answering %s (%v)", p.argv[0], b, p.out.Err())
		return resp, p.failed
	}
	if err := json.Unmarshal(p.out.Bytes(), &resp); err != nil {
		p.failed = fmt.Errorf("%s answered %q: not a response: %w", p.argv[0], p.out.Bytes(), err)
		return resp, p.failed
	}
	if resp.Error != "" {
		return resp, fmt.Errorf("%s: %s", p.argv[0], resp.Error)
	}
	return resp, nil
}

func (p *process) system(s Setup) (System, error) {
	p.mu.Lock()
	if err := p.start(); err != nil {
		p.mu.Unlock()
		return nil, err
	}
	resp, err := p.call(request{Setup: &s})
	if err == nil && resp.State == nil {
		err = fmt.Errorf("%s answered setup without a state", p.argv[0])
	}
	if err != nil {
		p.mu.Unlock()
		return nil, err
	}
	// The session holds the program until Close.
	return &session{p: p, state: *resp.State}, nil
}

func (p *process) stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return nil
	}
	p.in.Close()
	err := p.cmd.Wait()
	p.cmd = nil
	return err
}

// session is one system served by the program.
type session struct {
	p      *process
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

func (s *session) State() spec.State { return s.state.Clone() }

func (s *session) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	defer s.p.mu.Unlock()
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
