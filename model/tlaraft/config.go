package tlaraft

import (
	"errors"
	"fmt"
)

// Limits of the packed representation.
const (
	// MaxServers bounds Config.Servers (symmetry tries every permutation).
	MaxServers = 5
	// MaxValues bounds Config.Values.
	MaxValues = 8
	// MaxTermLimit bounds Config.MaxTerm (message terms take 4 bits).
	MaxTermLimit = 15
	// MaxLogLenLimit bounds Config.MaxLogLen (log indexes take 3 bits).
	MaxLogLenLimit = 7
	// MaxCopiesLimit bounds Config.MaxCopies (a count, one over the bound
	// included, takes 3 bits).
	MaxCopiesLimit = 6
	// MaxInFlightLimit bounds Config.MaxInFlight.
	MaxInFlightLimit = 31
	// BagCapacity is how many distinct messages the bag can hold: a message
	// leaves the bag's domain when its count drops to 0 and a step adds at
	// most one message, so a generated state, even one just outside the
	// constraint, has at most MaxInFlight + 1.
	BagCapacity = MaxInFlightLimit + 1
)

// Config is the model's parameters: the constants of raft.tla (Server is
// 1..Servers, Value is 1..Values), the state constraint's bounds and
// which of the optional actions are part of Next.
type Config struct {
	Servers, Values int
	// The state constraint: every currentTerm[i] <= MaxTerm, every
	// Len(log[i]) <= MaxLogLen, every message count <= MaxCopies, and the
	// sum of all counts <= MaxInFlight.
	MaxTerm, MaxLogLen, MaxCopies, MaxInFlight int
	// Restart, Duplicate and Drop include Restart(i), DuplicateMessage(m)
	// and DropMessage(m) in Next.
	Restart, Duplicate, Drop bool
}

// DefaultConfig is the configuration of the pinned TLC figures' first row:
// 3 servers, 1 value, MaxTerm 2, MaxLogLen 1, MaxCopies 1, MaxInFlight 1,
// no Restart, DuplicateMessage or DropMessage.
func DefaultConfig() Config {
	return Config{Servers: 3, Values: 1, MaxTerm: 2, MaxLogLen: 1, MaxCopies: 1, MaxInFlight: 1}
}

// Validate reports every parameter out of its range.
func (c Config) Validate() error {
	var errs []error
	check := func(name string, v, lo, hi int) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("%s = %d, want %d..%d", name, v, lo, hi))
		}
	}
	check("servers", c.Servers, 1, MaxServers)
	check("values", c.Values, 1, MaxValues)
	check("max-term", c.MaxTerm, 1, MaxTermLimit)
	check("max-log", c.MaxLogLen, 0, MaxLogLenLimit)
	check("max-copies", c.MaxCopies, 1, MaxCopiesLimit)
	check("max-msgs (in flight)", c.MaxInFlight, 1, MaxInFlightLimit)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("tlaraft config: %w", err)
	}
	return nil
}

// String renders c as the flags of explore check.
func (c Config) String() string {
	s := fmt.Sprintf("servers=%d values=%d max-term=%d max-log=%d max-copies=%d max-msgs=%d",
		c.Servers, c.Values, c.MaxTerm, c.MaxLogLen, c.MaxCopies, c.MaxInFlight)
	for _, f := range []struct {
		on   bool
		name string
	}{{c.Restart, "restart"}, {c.Duplicate, "dup"}, {c.Drop, "drop"}} {
		if f.on {
			s += " " + f.name
		}
	}
	return s
}
