package faults_test

import (
	"os"
	"testing"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

// cluster is the real broker when the environment names one (scripts/test.sh, or a developer who
// started it), else the in-process kfake: the fault tests run everywhere and are real under make test.
func cluster(t *testing.T) *kafkatest.Cluster {
	t.Helper()
	if os.Getenv("SLUICE_KAFKA_PLAINTEXT") != "" || os.Getenv("SLUICE_KAFKA_REQUIRED") == "1" {
		return kafkatest.Real(t)
	}
	return kafkatest.Kfake(t)
}
