// Package kv is the replicated key-value store served by cmd/raftkv: a
// StateMachine for impl/node whose commands are log entries, and its HTTP
// API. See impl/node/README.md and cmd/raftkv/README.md.
package kv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

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
	// OpAddress sets the addresses of server Key (its id in decimal) to
	// Value, "RAFT HTTP" (EncodeAddresses), or forgets them when Value is
	// empty. Membership changes replicate the address table through the
	// log so that every server, even one restored from a snapshot, can
	// reach a new member (see Store.OnAddresses).
	OpAddress Op = 'A'
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
	case OpAddress:
		return "address"
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
	Value  string // OpPut and OpAddress only
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
	if c.Op != OpPut && c.Op != OpDelete && c.Op != OpGet && c.Op != OpAddress {
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
	if c.Op != OpPut && c.Op != OpAddress && c.Value != "" {
		return Command{}, fmt.Errorf("%w: %v carries a value", ErrBadCommand, c.Op)
	}
	if c.Op == OpAddress {
		if _, err := addressTarget(c.Key); err != nil {
			return Command{}, err
		}
		if _, err := DecodeAddresses(c.Value); c.Value != "" && err != nil {
			return Command{}, err
		}
	}
	return c, nil
}

// Addresses are where a server is reached: its Raft (transport) address
// and its HTTP address, both host:port.
type Addresses struct {
	Raft string `json:"raft"`
	HTTP string `json:"http"`
}

// EncodeAddresses is the Value of an OpAddress command: "RAFT HTTP".
func EncodeAddresses(a Addresses) string { return a.Raft + " " + a.HTTP }

// DecodeAddresses is the inverse of EncodeAddresses; both addresses must
// be non-empty and free of spaces.
func DecodeAddresses(v string) (Addresses, error) {
	r, h, ok := strings.Cut(v, " ")
	if !ok || r == "" || h == "" || strings.Contains(h, " ") {
		return Addresses{}, fmt.Errorf("%w: addresses %q are not \"RAFT HTTP\"", ErrBadCommand, v)
	}
	return Addresses{Raft: r, HTTP: h}, nil
}

// addressTarget parses the key of an OpAddress command: a server id.
func addressTarget(key string) (spec.ServerID, error) {
	id, err := strconv.Atoi(key)
	if err != nil || id < 1 || id > spec.MaxServers || strconv.Itoa(id) != key {
		return spec.None, fmt.Errorf("%w: address key %q is not a server id in 1..%d", ErrBadCommand, key, spec.MaxServers)
	}
	return spec.ServerID(id), nil
}
