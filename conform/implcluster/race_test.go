//go:build race

package implcluster

const raceEnabled = true
