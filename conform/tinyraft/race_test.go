//go:build race

package tinyraft

const raceEnabled = true
