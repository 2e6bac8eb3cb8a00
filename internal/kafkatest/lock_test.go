package kafkatest

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestExclusiveWaitsForOtherProcess proves the cross-package coordination: a
// restart (acquireExclusive) waits until another test binary's test that uses the
// broker has ended.
func TestExclusiveWaitsForOtherProcess(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(envDir, dir)
	marker := filepath.Join(dir, "released")

	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SLUICE_LOCK_HELPER="+marker)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "held\n" {
		t.Fatalf("helper said %q, %v; want held", line, err)
	}

	done := make(chan bool)
	go func() {
		// The helper holds the shared lock until its stdin closes.
		time.Sleep(200 * time.Millisecond)
		stdin.Close()
	}()
	go func() {
		acquireExclusive(t)
		_, err := os.Stat(marker)
		releaseExclusive()
		done <- err == nil
	}()
	select {
	case released := <-done:
		if !released {
			t.Error("acquireExclusive returned before the other process released the broker")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("acquireExclusive did not get the lock within 30s of the other process releasing it")
	}
}

// TestSharedWaitsForExclusive proves that a test of another package does not
// start against a broker that a fault test has stopped: holdShared waits
// until the exclusive lock is released.
func TestSharedWaitsForExclusive(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(envDir, dir)
	marker := filepath.Join(dir, "acquired")

	if !acquireExclusive(t) {
		t.Fatal("acquireExclusive did not take the lock")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SLUICE_LOCK_HELPER="+marker, "SLUICE_LOCK_HELPER_MODE=wait")
	if err := cmd.Start(); err != nil {
		releaseExclusive()
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // give a broken lock the chance to let the helper through
	_, err := os.Stat(marker)
	releaseExclusive()
	if err == nil {
		t.Error("the other process took the shared lock while this one held it exclusively")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the other process never took the shared lock: %v", err)
	}
}

// TestLockHelper is the other process of the lock tests: in mode "wait" it
// takes the shared lock and leaves a marker; otherwise it takes it, says
// "held", and holds it until its stdin closes.
func TestLockHelper(t *testing.T) {
	marker := os.Getenv("SLUICE_LOCK_HELPER")
	if marker == "" {
		t.Skip("only run as the helper process of the lock tests")
	}
	if os.Getenv("SLUICE_LOCK_HELPER_MODE") == "wait" {
		holdShared(t)
		if err := os.WriteFile(marker, nil, 0o644); err != nil {
			t.Error(err)
		}
		return
	}
	t.Run("hold", func(t *testing.T) {
		holdShared(t)
		os.Stdout.WriteString("held\n")
		if _, err := io.Copy(io.Discard, os.Stdin); err != nil && !errors.Is(err, os.ErrClosed) {
			t.Error(err)
		}
		if err := os.WriteFile(marker, nil, 0o644); err != nil {
			t.Error(err)
		}
	})
	// The subtest's cleanup has released the lock here.
}
