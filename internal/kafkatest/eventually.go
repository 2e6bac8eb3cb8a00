package kafkatest

import (
	"testing"
	"time"
)

// Eventually calls f until it returns nil, failing the test with f's last
// error when timeout passes first. It replaces sleeps in tests: it returns as
// soon as the condition holds and polls every 25ms at first, backing off to
// 250ms.
func Eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	wait := 25 * time.Millisecond
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v: %v", timeout, err)
		}
		time.Sleep(wait)
		if wait < 250*time.Millisecond {
			wait *= 2
		}
	}
}
