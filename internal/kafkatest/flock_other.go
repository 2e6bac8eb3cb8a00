//go:build !unix

package kafkatest

import "os"

// Without flock there is no cross-process coordination; the real broker
// scripts only run on unix systems anyway.
const (
	lockShared = iota
	lockExclusive
	lockUnlock
)

func flock(*os.File, int) error { return nil }
