//go:build !unix

package kafka

import (
	"testing"
	"time"
)

// cpuTime is not measured here; the cpu-ns/record metrics read 0.
func cpuTime(*testing.B) time.Duration { return 0 }
