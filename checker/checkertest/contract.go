// Package checkertest has test helpers for models of the checker package:
// CheckValueContract reports a model that breaks the value contract of
// its states (see the checker package doc), and AssertProperties,
// AssertDiscovery and AssertNoDiscovery run the checker from a test and
// fail it with a readable counterexample or path.
//
// Every helper reports through t.Errorf and returns, so a test may call
// several; none calls t.Fatal.
package checkertest

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/raftcheck/raftcheck/checker"
)

// Option configures CheckValueContract.
type Option func(*config)

type config struct{ maxStates int }

// MaxStates sets how many distinct states CheckValueContract explores
// (default 200): the contract is local to a step, so a few hundred states
// from the initial ones usually reach every kind of step.
func MaxStates(n int) Option { return func(c *config) { c.maxStates = n } }

// CheckValueContract explores up to MaxStates states of m breadth-first
// and checks, on every step, that states behave as values: Encode is
// deterministic; Next leaves its source state unchanged, is
// deterministic, does not depend on what out held, does not write into
// the memory of an earlier successor passed as out, and returns a
// successor sharing no mutable memory with the source (every slice
// element, map entry and pointed-to value of a copy of the successor is
// overwritten and the source re-encoded); Decode, when m has it, inverts
// Encode and Canonical and keeps no reference into its input; Canonical,
// when m has it, is a fixed point on its representative. At the end it
// re-encodes every state explored, so a write by a later step into an
// earlier state's memory is caught too. It reports the first breach.
func CheckValueContract[S, A any](t testing.TB, m checker.Model[S, A], opts ...Option) {
	t.Helper()
	cfg := config{maxStates: 200}
	for _, o := range opts {
		o(&cfg)
	}
	if err := valueContract(m, cfg); err != nil {
		t.Errorf("value contract: %v", err)
	}
}

// contract is one exploration of CheckValueContract.
type contract[S, A any] struct {
	m    checker.Model[S, A]
	dec  checker.Decoder[S]
	sym  checker.Symmetric[S]
	kept []S      // every state explored, in the order found
	encs [][]byte // and its encoding when found
	seen map[string]bool
}

func valueContract[S, A any](m checker.Model[S, A], cfg config) error {
	c := &contract[S, A]{m: m, seen: map[string]bool{}}
	c.dec, _ = m.(checker.Decoder[S])
	c.sym, _ = m.(checker.Symmetric[S])
	for _, s := range m.Init() {
		if err := c.add(s); err != nil {
			return fmt.Errorf("initial state %+v: %w", s, err)
		}
	}
	for i := 0; i < len(c.kept) && len(c.kept) < cfg.maxStates; i++ {
		if err := c.expand(i); err != nil {
			return err
		}
	}
	for i := range c.kept {
		if enc := m.Encode(nil, &c.kept[i]); !bytes.Equal(enc, c.encs[i]) {
			return fmt.Errorf("state %d (%+v) changed after later steps: some Next wrote into its memory", i, c.kept[i])
		}
	}
	return nil
}

// add keeps s if it is new, after checking its encodings.
func (c *contract[S, A]) add(s S) error {
	enc := c.m.Encode(nil, &s)
	if again := c.m.Encode(nil, &s); !bytes.Equal(enc, again) {
		return fmt.Errorf("the encoding is not deterministic: Encode gave %x then %x", enc, again)
	}
	if err := c.decodes(enc, c.m.Encode); err != nil {
		return err
	}
	if c.sym != nil {
		if err := c.canonical(&s); err != nil {
			return err
		}
	}
	if !c.seen[string(enc)] {
		c.seen[string(enc)] = true
		c.kept, c.encs = append(c.kept, s), append(c.encs, enc)
	}
	return nil
}

// decodes checks that Decode, if any, turns enc back into a state that
// encode maps to enc again, and keeps nothing of enc's buffer.
func (c *contract[S, A]) decodes(enc []byte, encode func([]byte, *S) []byte) error {
	if c.dec == nil {
		return nil
	}
	buf := bytes.Clone(enc)
	var d S
	if err := c.dec.Decode(buf, &d); err != nil {
		return fmt.Errorf("decoding %x: %w", enc, err)
	}
	if back := encode(nil, &d); !bytes.Equal(back, enc) {
		return fmt.Errorf("decoding does not invert the encoding: %x decodes to %+v, which encodes as %x", enc, d, back)
	}
	for i := range buf {
		buf[i] ^= 0xa5
	}
	if back := encode(nil, &d); !bytes.Equal(back, enc) {
		return fmt.Errorf("the decoded state keeps references into Decode's input (the checker reuses that buffer): %+v changed when it was overwritten", d)
	}
	return nil
}

// canonical checks that the representative of s's class is its own
// representative.
func (c *contract[S, A]) canonical(s *S) error {
	can := c.sym.Canonical(nil, s)
	if c.dec == nil {
		return nil
	}
	if err := c.decodes(can, c.sym.Canonical); err != nil {
		return fmt.Errorf("of a canonical encoding: %w", err)
	}
	return nil
}

// expand checks every step from state i and keeps its new successors.
func (c *contract[S, A]) expand(i int) error {
	s := c.kept[i]
	enc := c.encs[i]
	var prev S // an earlier successor of s, handed to Next as out
	havePrev := false
	for _, a := range c.m.Actions(&s, nil) {
		var out S
		if !c.m.Next(&s, a, &out) {
			continue
		}
		where := fmt.Sprintf("from %+v by %+v", s, a)
		if err := c.unchanged(&s, enc, "Next modified its source state"); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if err := c.step(&s, a, &out, &prev, havePrev); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if err := c.unchanged(&s, enc, "the successor shares memory with its source state"); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if err := c.add(out); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		prev, havePrev = out, true
	}
	return nil
}

// step checks Next(s, a) against a second and a third call: the same
// successor whatever out held (a zero value, or prev, an earlier
// successor of s, whose copy must stay intact); then it overwrites
// everything the second successor refers to, for the caller to re-encode
// s.
func (c *contract[S, A]) step(s *S, a A, out, prev *S, havePrev bool) error {
	want := c.m.Encode(nil, out)
	var fresh S
	c.m.Next(s, a, &fresh)
	if got := c.m.Encode(nil, &fresh); !bytes.Equal(got, want) {
		return fmt.Errorf("the successor is not deterministic: Next gave %x then %x", want, got)
	}
	if havePrev {
		held := *prev // the checker's copy of the earlier successor
		heldEnc := c.m.Encode(nil, &held)
		slot := *prev
		c.m.Next(s, a, &slot)
		if got := c.m.Encode(nil, &slot); !bytes.Equal(got, want) {
			return fmt.Errorf("the successor depends on what out held: %x, want %x", got, want)
		}
		if err := c.unchanged(&held, heldEnc, "Next wrote into the memory of the earlier successor passed as out"); err != nil {
			return err
		}
	}
	scribble(&fresh)
	return nil
}

// unchanged checks that s still encodes as enc; what explains a change.
// A panic of Encode on a state whose memory was overwritten counts as a
// change.
func (c *contract[S, A]) unchanged(s *S, enc []byte, what string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s (Encode then panicked: %v)", what, p)
		}
	}()
	if got := c.m.Encode(nil, s); !bytes.Equal(got, enc) {
		return fmt.Errorf("%s: it encoded as %x, now %x", what, enc, got)
	}
	return nil
}
