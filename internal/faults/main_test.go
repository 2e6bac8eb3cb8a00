package faults_test

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMain removes the sluice binary the tests built (sluiceBinary builds it on first use).
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}
