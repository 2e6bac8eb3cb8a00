// Package boundstest holds the regression tests of issue 10's bounds and signals ("What was observed" 4 and
// 5): they drive the built sluice binary (internal/sluicetest) the way a user runs it, and measure its memory
// and how long it takes to stop.
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
