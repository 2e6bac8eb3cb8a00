//go:build race

package transform

// raceEnabled: the race detector instruments and sometimes allocates, so allocation counts are meaningless.
const raceEnabled = true
