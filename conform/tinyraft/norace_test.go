//go:build !race

package tinyraft

const raceEnabled = false
