package spec

// Text encodings, so that traces and JSON output name kinds, message types
// and roles instead of numbering them.

// MarshalText encodes the kind by name.
func (k ActionKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText parses a kind name.
func (k *ActionKind) UnmarshalText(b []byte) error {
	v, err := ParseActionKind(string(b))
	*k = v
	return err
}

// MarshalText encodes the message type by name.
func (t MsgType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText parses a message type name.
func (t *MsgType) UnmarshalText(b []byte) error {
	v, err := ParseMsgType(string(b))
	*t = v
	return err
}

// MarshalText encodes the role by name.
func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText parses a role name.
func (r *Role) UnmarshalText(b []byte) error {
	v, err := ParseRole(string(b))
	*r = v
	return err
}
