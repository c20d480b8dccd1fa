package spec

import (
	"fmt"
	"strconv"
)

// Text encodings, so that traces and JSON output name kinds, message types
// and roles instead of numbering them. A decoding error names the field,
// since encoding/json does not for text values.

// MarshalText encodes the kind by name; the zero kind (no action, as in a
// replay's initial frame) as "".
func (k ActionKind) MarshalText() ([]byte, error) {
	if k == 0 {
		return nil, nil
	}
	return []byte(k.String()), nil
}

// UnmarshalText parses a kind name; "" is the zero kind.
func (k *ActionKind) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*k = 0
		return nil
	}
	v, err := ParseActionKind(string(b))
	if err != nil {
		return fmt.Errorf("kind: %w", err)
	}
	*k = v
	return nil
}

// MarshalText encodes the message type by name.
func (t MsgType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText parses a message type name.
func (t *MsgType) UnmarshalText(b []byte) error {
	v, err := ParseMsgType(string(b))
	if err != nil {
		return fmt.Errorf("type: %w", err)
	}
	*t = v
	return nil
}

// MarshalText encodes the role by name.
func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText parses a role name.
func (r *Role) UnmarshalText(b []byte) error {
	v, err := ParseRole(string(b))
	if err != nil {
		return fmt.Errorf("role: %w", err)
	}
	*r = v
	return nil
}

// MarshalJSON encodes a server id as a number. Having it also makes
// []ServerID (votes, partition groups, the leader history) a JSON array of
// numbers rather than the base64 string encoding/json uses for []uint8.
func (id ServerID) MarshalJSON() ([]byte, error) { return strconv.AppendUint(nil, uint64(id), 10), nil }

// UnmarshalJSON parses a server id, a number from 0 to 255.
func (id *ServerID) UnmarshalJSON(b []byte) error {
	v, err := strconv.ParseUint(string(b), 10, 8)
	if err != nil {
		return fmt.Errorf("server id %s: not a number from 0 to 255", b)
	}
	*id = ServerID(v)
	return nil
}
