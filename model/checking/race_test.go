//go:build race

package checking

const raceEnabled = true
