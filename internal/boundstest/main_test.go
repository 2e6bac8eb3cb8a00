// Package boundstest holds the regression tests of bounds and signals (template amplification, unbounded
// reads, signals that did not stop the process): they drive the built sluice binary (internal/sluicetest) the
// way a user runs it, and measure its memory and how long it takes to stop.
package boundstest

import (
	"os"
	"testing"

	"github.com/sluicehq/sluice/internal/sluicetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	sluicetest.Cleanup()
	os.Exit(code)
}
