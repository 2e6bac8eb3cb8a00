package kafkatest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// How sharing one broker between test binaries works. Every test that uses
// the real broker holds a shared flock on $SLUICE_KAFKA_DIR/use.lock (one
// descriptor per process, reference-counted by the tests using it). A test
// that stops, kills or restarts the broker takes that lock exclusively, so it
// waits until no test of another package is using the broker, and keeps it
// until the broker serves again (StartBroker, or the end of the test), so no
// other package's test starts against a stopped broker. To keep a stream of
// new tests from starving it, a restarter first takes intent.lock
// exclusively, and a process that starts using the broker passes through
// intent.lock (shared) before taking use.lock.
//
// Deadlock freedom: intent.lock is only ever held by a restarter, which first
// drops its own process's shared use.lock, so two packages restarting at once
// queue on intent.lock instead of waiting for each other's use.lock; and only
// a restarter waits for a lock while holding use.mu, and then only for other
// processes.
//
// The state below is process-wide because flock is: it belongs to the test
// binary, not to one test.
var use struct {
	mu     sync.Mutex
	n      int      // tests of this process currently using the broker
	f      *os.File // use.lock: locked shared while n > 0, exclusive while excl
	excl   bool     // this process holds use.lock exclusively (broker under a fault test)
	intent *os.File // intent.lock, held exclusively while excl
}

func openLock(t testing.TB, dir, name string) *os.File {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatalf("opening the broker lock %s: %v", name, err)
	}
	return f
}

// holdShared registers t as a user of the real broker until it ends, waiting
// while another process has the broker under a fault test.
func holdShared(t testing.TB) {
	t.Helper()
	dir := os.Getenv(envDir)
	if dir == "" {
		return // started by hand without ctl.sh env: nothing to coordinate with
	}
	use.mu.Lock()
	if use.n > 0 || use.excl {
		use.n++
		use.mu.Unlock()
		t.Cleanup(releaseShared)
		return
	}
	use.mu.Unlock()

	// Let a restart that another process has queued go first.
	intent := openLock(t, dir, "intent.lock")
	err := flock(intent, lockShared)
	intent.Close()
	if err != nil {
		t.Fatalf("waiting for a broker restart by another test: %v", err)
	}

	use.mu.Lock()
	defer use.mu.Unlock()
	if use.f == nil {
		f := openLock(t, dir, "use.lock")
		if err := flock(f, lockShared); err != nil {
			f.Close()
			t.Fatalf("taking the broker use lock: %v", err)
		}
		use.f = f
	}
	use.n++
	t.Cleanup(releaseShared)
}

func releaseShared() {
	use.mu.Lock()
	defer use.mu.Unlock()
	use.n--
	if use.n == 0 && !use.excl && use.f != nil {
		_ = flock(use.f, lockUnlock)
		use.f.Close()
		use.f = nil
	}
}

// acquireExclusive waits until no test of another process uses the broker and
// keeps it that way until releaseExclusive. It reports whether it took the
// lock (false: this process already held it, or there is no lock directory).
func acquireExclusive(t testing.TB) bool {
	t.Helper()
	dir := os.Getenv(envDir)
	if dir == "" {
		return false
	}
	use.mu.Lock()
	defer use.mu.Unlock()
	if use.excl {
		return false
	}
	if use.f == nil {
		use.f = openLock(t, dir, "use.lock")
	} else if err := flock(use.f, lockUnlock); err != nil {
		t.Fatalf("dropping the shared broker lock: %v", err)
	}
	intent := openLock(t, dir, "intent.lock")
	if err := flock(intent, lockExclusive); err != nil {
		intent.Close()
		t.Fatalf("taking the broker intent lock: %v", err)
	}
	t.Logf("waiting until no other test binary uses the real broker")
	if err := flock(use.f, lockExclusive); err != nil {
		intent.Close()
		t.Fatalf("taking the broker use lock exclusively: %v", err)
	}
	use.excl, use.intent = true, intent
	return true
}

// releaseExclusive lets other processes' tests use the broker again.
func releaseExclusive() {
	use.mu.Lock()
	defer use.mu.Unlock()
	if !use.excl {
		return
	}
	_ = flock(use.f, lockUnlock)
	use.intent.Close() // releases intent.lock
	use.excl, use.intent = false, nil
	if use.n > 0 {
		_ = flock(use.f, lockShared)
	} else {
		use.f.Close()
		use.f = nil
	}
}

// StopBroker stops the real broker (its data is kept). Until StartBroker, or
// the end of the test, which starts it again, tests of other packages wait
// for it. It needs the real broker (see Real); tests calling it must not run
// in parallel with other real-broker tests of the same package.
func StopBroker(t testing.TB) {
	t.Helper()
	down(t, "stop")
}

// KillBroker kills the real broker with SIGKILL, as a crash would, keeping
// its data; otherwise like StopBroker.
func KillBroker(t testing.TB) {
	t.Helper()
	down(t, "kill")
}

func down(t testing.TB, command string) {
	t.Helper()
	Real(t)
	took := acquireExclusive(t)
	t.Cleanup(func() {
		if dialCheck(os.Getenv(envPlaintext)) != nil {
			ctl(t, "start")
		}
		if took {
			releaseExclusive() // a no-op after StartBroker
		}
	})
	ctl(t, command)
}

// StartBroker starts the real broker after StopBroker or KillBroker, waits
// until all its listeners serve, and lets other packages' tests in again.
func StartBroker(t testing.TB) {
	t.Helper()
	acquireExclusive(t)
	ctl(t, "start")
	releaseExclusive()
}

// RestartBroker stops and starts the real broker, keeping its data, and
// waits until all its listeners serve again.
func RestartBroker(t testing.TB) {
	t.Helper()
	Real(t)
	acquireExclusive(t)
	ctl(t, "restart")
	releaseExclusive()
}

// ctl runs $SLUICE_KAFKA_CTL with one command.
func ctl(t testing.TB, command string) {
	t.Helper()
	script := requireEnv(t, envCtl, envKafkaRequired, "the broker control script")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, script, command)
	if os.Getenv(envDir) != "" {
		// This process holds the broker lock exclusively; ctl.sh must not wait for it.
		cmd.Env = append(os.Environ(), "SLUICE_KAFKA_LOCKED=1")
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", script, command, err, out)
	}
	t.Logf("broker %s took %v", command, time.Since(start).Round(time.Millisecond))
}
