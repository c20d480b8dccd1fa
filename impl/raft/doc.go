// Package raft is the production Raft core of raftcheck: a deterministic,
// single-threaded state machine for one server, in the shape of etcd raft's
// Step/Ready/Advance but written from spec/README.md and the Raft paper.
//
// A Node has no goroutines, clocks, randomness (beyond the injected
// Config.Rand) or I/O. Its inputs are Tick (logical time), Step (a message),
// Propose (a client value), and the explicit triggers Campaign and
// Heartbeat, which are the spec actions Timeout and Heartbeat. Its outputs
// are collected in a Ready: the hard state and log entries to persist, the
// messages to send once they are persisted, and the committed entries to
// apply; the caller hands the Ready back with Advance.
//
// With the production features of Config off (the zero value) the node
// follows spec/README.md rule by rule, so its View can be compared field by
// field with the model's: that is the replay path used by impl/cluster.
// Where the node differs from the specification, impl/CONFORMANCE.md says
// so.
//
// This package never imports the model: the two are independent readings
// of one protocol, and replay exists to find where they disagree.
package raft
