package transport

import (
	"testing"
	"time"

	"github.com/raftcheck/raftcheck/spec"
)

// benchAppend is an AppendEntries carrying 16 entries of 100 bytes.
func benchAppend() spec.Message {
	m := spec.Message{Type: spec.AppendEntries, From: 1, To: 2, Term: 7, PrevLogIndex: 1000, PrevLogTerm: 7, LeaderCommit: 990}
	for range 16 {
		m.Entries = append(m.Entries, spec.Entry{Term: 7, Value: spec.Value(make([]byte, 100))})
	}
	return m
}

func BenchmarkEncode(b *testing.B) {
	m := benchAppend()
	for b.Loop() {
		if _, err := Encode(&m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	m := benchAppend()
	enc, err := Encode(&m)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if _, err := Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoopback sends heartbeat-sized and 16-entry AppendEntries from
// one Transport to another over loopback TCP, keeping at most half a queue
// in flight so that nothing is dropped.
func BenchmarkLoopback(b *testing.B) {
	for _, c := range []struct {
		name string
		m    spec.Message
	}{
		{"heartbeat", spec.Message{Type: spec.AppendEntries, From: 1, To: 2, Term: 7, PrevLogIndex: 1000, PrevLogTerm: 7, LeaderCommit: 990}},
		{"16x100B", benchAppend()},
	} {
		b.Run(c.name, func(b *testing.B) {
			const queue = 4096
			got := make(chan struct{}, queue)
			rx, err := New(Config{ID: 2, Listen: "127.0.0.1:0", Handler: func(Frame) { got <- struct{}{} }, Logf: b.Logf})
			if err != nil {
				b.Fatal(err)
			}
			defer rx.Close()
			tx, err := New(Config{ID: 1, Listen: "127.0.0.1:0", QueueSize: queue,
				Peers: map[spec.ServerID]string{2: rx.Addr().String()}, Handler: func(Frame) {}, Logf: b.Logf})
			if err != nil {
				b.Fatal(err)
			}
			defer tx.Close()
			if err := rx.SetPeer(1, tx.Addr().String()); err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			inFlight := 0
			for b.Loop() {
				for inFlight >= queue/2 {
					<-got
					inFlight--
				}
				if err := tx.Send(c.m); err != nil {
					b.Fatal(err)
				}
				inFlight++
			}
			for ; inFlight > 0; inFlight-- {
				<-got
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
			if s := tx.Stats(); s.QueueFull+s.Unsent != 0 {
				b.Fatalf("dropped frames: %+v", s)
			}
		})
	}
}
