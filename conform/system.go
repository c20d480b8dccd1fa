// Package conform checks a Raft implementation against raftcheck's model,
// through a seam any deterministic implementation can plug into.
//
// A System is a whole cluster of the implementation under test, driven
// one action of the shared vocabulary (package spec) at a time: it applies
// the action — or refuses it with an error wrapping ErrNotEnabled — and
// reports its state as a spec.State (each server's view, the messages in
// flight, the partition). A Factory builds a fresh System for a
// configuration. raftcheck's own implementation plugs in through
// conform/implcluster; another implementation, in Go or not, plugs in
// in-process (implement System) or as a separate program that speaks the
// JSON-lines protocol of Serve and Process.
//
// An Abstraction says what must agree: by default (Exact) every field of
// every server's view and every message in flight, exactly; Core compares
// only terms, votes, roles, logs and commit indices, and messages without
// the hints of refusals; a user can project views and messages as they
// need.
//
// Lockstep runs the model and a System side by side; Replay replays a
// trace through it, checking everything the trace claims on the model
// and reporting the first Divergence; Run replays many model paths
// (exhaustively up to a depth, or seeded random walks) and stops at the
// first divergence.
package conform

import (
	"github.com/raftcheck/raftcheck/model"
	"github.com/raftcheck/raftcheck/spec"
)

// ErrNotEnabled is what a System's Apply wraps when it cannot take an
// action in its current state (the server is not a leader, the message is
// not in flight or crosses the partition, the core refused it). The
// harness reports it as a missing action. Any other error is a failure of
// the system itself (its storage, its process) and ends the run.
// It is spec.ErrNotEnabled, which spec.Network's methods wrap.
var ErrNotEnabled = spec.ErrNotEnabled

// System is a deterministic Raft cluster under test. Its servers are
// 1..Setup.Size() (the initial members, then the joiners); it starts with every server fresh (term 0, no vote,
// empty log) and an empty, whole network.
type System interface {
	// Apply takes one action of the shared vocabulary: Timeout, Heartbeat,
	// ClientRequest, Deliver, Drop, Duplicate, Partition, Heal, Restart
	// (spec/README.md gives each one's meaning). A Deliver names the
	// message as State reported it. Apply returns an error wrapping
	// ErrNotEnabled, and changes nothing, when the system cannot take it.
	Apply(a spec.Action) error
	// State reports the cluster after the last action: Servers[i] is
	// server i+1's view, Network the messages in flight with their counts,
	// Partition the groups (nil when whole). The history is kept by the
	// harness (spec.History.Observe), so State need not fill it.
	State() spec.State
	// Close releases what the system holds.
	Close() error
}

// Setup is what a Factory builds a System for.
type Setup struct {
	// Servers is the number of initial members, S1..SServers.
	Servers int
	// Joiners are the servers after them, S(Servers+1)..S(Servers+Joiners),
	// which exist from the start outside the initial configuration (model
	// --joiners); the system has Servers+Joiners servers.
	Joiners int
	// Reconfigs says that the model may change the membership
	// (AddServer, RemoveServer, ...: --max-reconfigs above 0), which the
	// system must then replay too; its initial configuration is
	// S1..SServers.
	Reconfigs bool
	// MaxCopies bounds the copies of one message in flight: a message sent
	// while MaxCopies copies of it are in flight is lost, as in the model
	// (0: no bound). spec.Network implements this.
	MaxCopies int
	// Features are the optional mechanisms switched on in the model, which
	// the system must switch on too (or refuse to be built).
	Features spec.Features
	// Snapshots says that the model may take Compact actions and send
	// InstallSnapshot messages, which the system must then replay too.
	Snapshots bool
}

// SetupOf is the Setup a system for the model configuration cfg is built
// with.
func SetupOf(cfg model.Config) Setup {
	return Setup{Servers: cfg.Servers, Joiners: cfg.Joiners, Reconfigs: cfg.MaxReconfigs > 0, MaxCopies: cfg.MaxCopies,
		Features: cfg.Features, Snapshots: cfg.MaxSnapshots > 0}
}

// Size is the number of servers of the system: the initial members and
// the joiners.
func (s Setup) Size() int { return s.Servers + s.Joiners }

// Factory builds a fresh System.
type Factory func(Setup) (System, error)

// DurableSystem is a System that can also report what each server holds on
// stable storage. When a system implements it, the harness compares it
// with the model's persistent state after every step (a DurableState
// divergence), so a vote or entry acted on before it is persisted is
// caught at once, not only when a restart happens to expose it.
type DurableSystem interface {
	System
	// Durable returns each server's stable storage: Durable()[i] is
	// server i+1's.
	Durable() ([]spec.Durable, error)
}
