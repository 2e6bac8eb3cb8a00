// Package faults holds Sluice's fault tests: `sluice run` processes killed with SIGKILL, a
// broker restarted under a running pipe, targets that fail, reject poison records or are slow. Each
// test ends by checking that every produced record was delivered or dead-lettered and that per-key
// order was kept. The package has no code of its own; the tests build cmd/sluice and drive it.
//
// Sizes: `go test` runs scaled-down versions (flags -fault.records, -fault.kills); the full-size
// kill test is
//
//	go test ./internal/faults -run TestKill9 -fault.records 200000 -fault.kills 10 -v -timeout 30m
//
// and a longer slow-target run is -run TestSlowTarget -fault.slow 60s.
package faults
