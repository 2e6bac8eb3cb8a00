package faults_test

import (
	"os"
	"testing"

	"github.com/sluicehq/sluice/internal/sluicetest"
)

// TestMain removes the sluice binary the tests built (sluicetest.Binary builds it on first use).
func TestMain(m *testing.M) {
	code := m.Run()
	sluicetest.Cleanup()
	os.Exit(code)
}
