//go:build !race

package checking

const raceEnabled = false
