package report

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
)

// ByteSize is a flag of a number of bytes with an optional unit: B, KiB,
// MiB, GiB, TiB (powers of 1024; K, M, G, T mean the same) or KB, MB, GB,
// TB (powers of 1000), e.g. 512MiB or 1GiB.
type ByteSize int64

var byteUnits = []struct {
	suffix string
	factor int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40}, {"b", 1},
}

// Set parses a size.
func (b *ByteSize) Set(s string) error {
	num, factor := strings.ToLower(strings.TrimSpace(s)), int64(1)
	for _, u := range byteUnits {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, factor = strings.TrimSpace(n), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 1 || n > (1<<62)/factor {
		return fmt.Errorf("%q is not a positive size such as 512MiB or 1GiB", s)
	}
	*b = ByteSize(n * factor)
	return nil
}

// String renders the size in the largest binary unit that divides it.
func (b *ByteSize) String() string {
	n := int64(*b)
	for _, u := range []struct {
		name   string
		factor int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.factor && n%u.factor == 0 {
			return fmt.Sprintf("%d%s", n/u.factor, u.name)
		}
	}
	return strconv.FormatInt(n, 10)
}

// InterruptOnSignal returns a channel closed at the first SIGINT (Ctrl-C),
// so that a run stops and reports what it covered (it is a
// checker.Options.Interrupt), and a function that stops listening.
func InterruptOnSignal() (<-chan struct{}, func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	interrupt, done := make(chan struct{}), make(chan struct{})
	go func() {
		select {
		case <-sig:
			close(interrupt)
		case <-done:
		}
	}()
	return interrupt, func() {
		signal.Stop(sig)
		close(done)
	}
}
