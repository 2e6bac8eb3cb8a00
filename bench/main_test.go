package bench

import (
	"os"
	"testing"

	"github.com/sluicehq/sluice/internal/sluicetest"
)

// TestMain removes the sluice binary that the Connect comparison builds (sluicetest.Binary).
func TestMain(m *testing.M) {
	code := m.Run()
	sluicetest.Cleanup()
	os.Exit(code)
}
