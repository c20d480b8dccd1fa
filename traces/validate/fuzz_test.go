package validate_test

import (
	"bytes"
	"testing"

	"github.com/raftcheck/raftcheck/traces/validate"
	"github.com/raftcheck/raftcheck/traces/validate/sim"
)

// FuzzValidate: any bytes as the logs of a 2-server run are refused with
// an error or validated, never a panic.
func FuzzValidate(f *testing.F) {
	logs, err := sim.Run(sim.Options{Servers: 2, Events: 40, Seed: 1, Snapshots: true, Restarts: true})
	if err != nil {
		f.Fatal(err)
	}
	var texts [2][]byte
	for i := range logs {
		var b bytes.Buffer
		w := validate.NewWriter(&b)
		for k := range logs[i] {
			if err := w.Write(&logs[i][k]); err != nil {
				f.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			f.Fatal(err)
		}
		texts[i] = b.Bytes()
	}
	f.Add(texts[0], texts[1])
	f.Add([]byte(`{"server":1,"seq":1,"kind":"Timeout"}`), []byte(`{"server":2,"seq":1,"kind":"Receive","msg":{"id":"S1#1","type":"RequestVote","from":1,"to":2,"term":1}}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var ls [][]validate.Event
		for _, text := range [][]byte{a, b} {
			evs, err := validate.Read(bytes.NewReader(text), "f.ndjson")
			if err != nil {
				return
			}
			ls = append(ls, evs)
		}
		_, _ = validate.Validate(ls, validate.Options{CheckEvery: 1})
	})
}
