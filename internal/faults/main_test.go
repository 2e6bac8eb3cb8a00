package faults_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicehq/sluice/internal/sluicetest"
)

// TestMain removes the sluice binary the tests built (sluiceBinary builds it on first use).
func TestMain(m *testing.M) {
	code := m.Run()
	sluicetest.Cleanup()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}
