// Package kv is the replicated key-value store served by cmd/raftkv: a
// StateMachine for impl/node whose commands are log entries, and its HTTP
// API. See impl/node/README.md and cmd/raftkv/README.md.
package kv

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/raftcheck/raftcheck/spec"
)

// Op is a command's operation.
type Op byte

// The operations. Get is a read barrier: it changes nothing, and the
// value is read when the entry is applied, which makes the read
// linearizable (see Store).
const (
	OpPut    Op = 'P'
	OpDelete Op = 'D'
	OpGet    Op = 'G'
)

// String names the operation (put, delete, get).
func (o Op) String() string {
	switch o {
	case OpPut:
		return "put"
	case OpDelete:
		return "delete"
	case OpGet:
		return "get"
	}
	return fmt.Sprintf("op(%d)", byte(o))
}

// Command is one replicated operation. Client and Seq identify the
// request: Client is never 0, and a Seq above 0 turns on deduplication (a
// client's commands with Seq at or below the last applied one are not
// applied again; a client numbers its requests 1, 2, ... and retries with
// the same number). Seq 0 is a one-off request that is never deduplicated.
type Command struct {
	Op     Op
	Client uint64
	Seq    uint64
	Key    string
	Value  string // OpPut only
}

// commandVersion is the first byte of every encoded command, so that the
// format can change without misreading old logs.
const commandVersion = 1

// Encode renders c as a log entry value: a version byte, the op byte, the
// client id, the sequence number and the key length as uvarints, the key,
// then the value (the rest). Keys and values are arbitrary bytes; the
// result is never empty.
func (c *Command) Encode() spec.Value {
	b := make([]byte, 0, 2+3*binary.MaxVarintLen64+len(c.Key)+len(c.Value))
	b = append(b, commandVersion, byte(c.Op))
	b = binary.AppendUvarint(b, c.Client)
	b = binary.AppendUvarint(b, c.Seq)
	b = binary.AppendUvarint(b, uint64(len(c.Key)))
	b = append(b, c.Key...)
	b = append(b, c.Value...)
	return spec.Value(b)
}

// ErrBadCommand is wrapped by every decoding error.
var ErrBadCommand = errors.New("bad command")

// DecodeCommand is the inverse of Encode. It is strict: a wrong version
// or op, a client id of 0, a truncated field, or a value on anything but
// a put is an error.
func DecodeCommand(v spec.Value) (Command, error) {
	b := []byte(v)
	if len(b) < 2 || b[0] != commandVersion {
		return Command{}, fmt.Errorf("%w: missing or unknown version byte", ErrBadCommand)
	}
	c := Command{Op: Op(b[1])}
	if c.Op != OpPut && c.Op != OpDelete && c.Op != OpGet {
		return Command{}, fmt.Errorf("%w: unknown op %d", ErrBadCommand, b[1])
	}
	b = b[2:]
	var fields [3]uint64
	for k, name := range [...]string{"client", "seq", "key length"} {
		x, n := binary.Uvarint(b)
		if n <= 0 {
			return Command{}, fmt.Errorf("%w: %s: truncated or overlong varint", ErrBadCommand, name)
		}
		fields[k], b = x, b[n:]
	}
	c.Client, c.Seq = fields[0], fields[1]
	if c.Client == 0 {
		return Command{}, fmt.Errorf("%w: client id 0", ErrBadCommand)
	}
	if fields[2] > uint64(len(b)) {
		return Command{}, fmt.Errorf("%w: key of %d bytes in %d remaining", ErrBadCommand, fields[2], len(b))
	}
	c.Key, c.Value = string(b[:fields[2]]), string(b[fields[2]:])
	if c.Op != OpPut && c.Value != "" {
		return Command{}, fmt.Errorf("%w: %v carries a value", ErrBadCommand, c.Op)
	}
	return c, nil
}
