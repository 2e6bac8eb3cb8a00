package main

import (
	"os"
	"testing"

	"github.com/sluicehq/sluice/internal/sluicetest"
)

// TestMain removes the sluice binary that the tests driving the built binary made (sluicetest).
func TestMain(m *testing.M) {
	code := m.Run()
	sluicetest.Cleanup()
	os.Exit(code)
}
