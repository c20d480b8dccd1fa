package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/anishathalye/porcupine"
)

// opTimeout bounds one client operation; an operation that times out (or
// fails ambiguously) is unknown: it may or may not have taken effect.
const opTimeout = time.Second

// kvInput and kvOutput are one operation of the history.
type kvInput struct {
	Put   bool   `json:"put"`
	Key   string `json:"key"`
	Value string `json:"value,omitempty"`
}

type kvOutput struct {
	Value   string `json:"value"`
	Unknown bool   `json:"unknown,omitempty"`
}

// history is the clients' operations.
type history struct {
	mu  sync.Mutex
	ops []porcupine.Operation
	t0  time.Time
}

func (h *history) now() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.t0.IsZero() {
		h.t0 = time.Now()
	}
	return time.Since(h.t0).Nanoseconds()
}

func (h *history) add(op porcupine.Operation) {
	h.mu.Lock()
	h.ops = append(h.ops, op)
	h.mu.Unlock()
}

// client runs operations until ctx ends or the budget is spent: writes of
// unique values and reads, on a few keys, at random servers.
func (h *history) client(ctx context.Context, c *cluster, id int, budget *atomic.Int64) {
	rng := rand.New(rand.NewPCG(c.o.seed, uint64(id)))
	cl := &http.Client{Timeout: opTimeout}
	for n := 0; ctx.Err() == nil && budget.Add(-1) >= 0; n++ {
		in := kvInput{Key: fmt.Sprintf("k%d", rng.IntN(c.o.keys)), Put: rng.IntN(2) == 0}
		if in.Put {
			in.Value = fmt.Sprintf("c%d-%d", id, n)
		}
		h.do(cl, c.http[rng.IntN(len(c.http))], id, in)
	}
}

// do runs one operation and records it: a definite answer, an unknown
// write (return time: never), or nothing for a failed read or a write
// that certainly did not happen.
func (h *history) do(cl *http.Client, server string, id int, in kvInput) bool {
	call := h.now()
	out, definite, err := request(cl, server, in)
	ret := h.now()
	switch {
	case err == nil:
	case !in.Put || definite:
		return false
	default:
		out, ret = kvOutput{Unknown: true}, math.MaxInt64
	}
	h.add(porcupine.Operation{ClientId: id, Input: in, Call: call, Output: out, Return: ret})
	return err == nil
}

// request sends one operation. definite reports an error after which the
// write certainly did not happen.
func request(cl *http.Client, server string, in kvInput) (kvOutput, bool, error) {
	method, body := http.MethodGet, io.Reader(nil)
	if in.Put {
		method, body = http.MethodPut, strings.NewReader(in.Value)
	}
	req, err := http.NewRequest(method, "http://"+server+"/kv/"+in.Key, body)
	if err != nil {
		return kvOutput{}, true, err
	}
	resp, err := cl.Do(req)
	if err != nil {
		return kvOutput{}, errors.Is(err, syscall.ECONNREFUSED), err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		return kvOutput{}, false, err
	case in.Put && resp.StatusCode == http.StatusNoContent:
		return kvOutput{}, false, nil
	case !in.Put && resp.StatusCode == http.StatusOK:
		return kvOutput{Value: string(data)}, false, nil
	case !in.Put && resp.StatusCode == http.StatusNotFound:
		return kvOutput{}, false, nil
	}
	refused := resp.StatusCode == http.StatusServiceUnavailable &&
		(bytes.Contains(data, []byte("no leader known")) || bytes.Contains(data, []byte("not a member")))
	return kvOutput{}, refused, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(data))
}

// finalReads reads every key once the cluster is healed (retrying for
// up to 20s per key); the reads are part of the history.
func (h *history) finalReads(c *cluster, keys int) error {
	cl := &http.Client{Timeout: 2 * time.Second}
	for k := range keys {
		key := fmt.Sprintf("k%d", k)
		deadline := time.Now().Add(20 * time.Second)
		for i := 0; !h.do(cl, c.http[i%len(c.http)], c.o.clients, kvInput{Key: key}); i++ {
			if time.Now().After(deadline) {
				return fmt.Errorf("final read of %s: no answer within 20s after healing", key)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

func (h *history) counts() (ops, unknown int) {
	for _, op := range h.ops {
		if op.Output.(kvOutput).Unknown {
			unknown++
		}
	}
	return len(h.ops), unknown
}

// kvModel is a register per key; an unknown write may take effect or not
// (its return time is never, so it can be placed after every read).
var kvModel = porcupine.Model{
	Partition: func(ops []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		for _, op := range ops {
			k := op.Input.(kvInput).Key
			by[k] = append(by[k], op)
		}
		var keys []string
		for k := range by {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out [][]porcupine.Operation
		for _, k := range keys {
			out = append(out, by[k])
		}
		return out
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in, out := input.(kvInput), output.(kvOutput)
		if in.Put {
			return true, in.Value
		}
		return out.Value == state.(string), state
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(kvInput), output.(kvOutput)
		switch {
		case in.Put && out.Unknown:
			return fmt.Sprintf("put(%s, %s) -> unknown", in.Key, in.Value)
		case in.Put:
			return fmt.Sprintf("put(%s, %s)", in.Key, in.Value)
		}
		return fmt.Sprintf("get(%s) -> %q", in.Key, out.Value)
	},
	DescribeState: func(state any) string { return fmt.Sprintf("%q", state) },
}

// check writes the history (history.json, history.html) and checks it
// for linearizability.
func (h *history) check(out string, stdout io.Writer) []string {
	if data, err := json.Marshal(h.ops); err == nil {
		_ = os.WriteFile(filepath.Join(out, "history.json"), data, 0o644)
	}
	res, info := porcupine.CheckOperationsVerbose(kvModel, h.ops, 60*time.Second)
	html := filepath.Join(out, "history.html")
	if err := porcupine.VisualizePath(kvModel, info, html); err != nil {
		fmt.Fprintf(stdout, "history.html: %v\n", err)
	}
	switch res {
	case porcupine.Illegal:
		return []string{fmt.Sprintf("linearizability: the history of %d operations is not linearizable (see %s)", len(h.ops), html)}
	case porcupine.Unknown:
		fmt.Fprintf(stdout, "linearizability: inconclusive (porcupine timed out after 60s); %s\n", html)
	default:
		fmt.Fprintf(stdout, "linearizability: OK (%s)\n", html)
	}
	return nil
}

// lostWrites checks the final reads: the value read last on each key is
// a written one, and no acknowledged write that began after that value's
// write had returned is missing (it would have overwritten it).
func (h *history) lostWrites() []string {
	writes := map[string]porcupine.Operation{} // by value
	final := map[string]porcupine.Operation{}  // last read per key
	for _, op := range h.ops {
		in := op.Input.(kvInput)
		if in.Put {
			writes[in.Value] = op
		} else if f, ok := final[in.Key]; !ok || op.Call > f.Call {
			final[in.Key] = op
		}
	}
	var out []string
	for key, rd := range final {
		v := rd.Output.(kvOutput).Value
		x, found := writes[v]
		if v != "" && !found {
			out = append(out, fmt.Sprintf("lost write: %s reads %q, a value never written", key, v))
			continue
		}
		for _, w := range writes {
			in := w.Input.(kvInput)
			acked := !w.Output.(kvOutput).Unknown
			if in.Key == key && acked && w.Return < rd.Call && (v == "" || w.Call > x.Return) {
				out = append(out, fmt.Sprintf("lost write: put(%s, %s) was acknowledged, but the final read gives %q", key, in.Value, v))
			}
		}
	}
	sort.Strings(out)
	if len(out) > 5 {
		out = append(out[:5], fmt.Sprintf("lost write: %d more", len(out)-5))
	}
	return out
}
