//go:build !race

package traces_test

const raceEnabled = false
