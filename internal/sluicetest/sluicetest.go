// Package sluicetest drives the built sluice binary from tests: it builds cmd/sluice once per test
// binary, starts commands with their output captured, waits for log lines, signals and kills them. The
// regression tests of observed defects use it so that they exercise what a user runs, not a mock.
package sluicetest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds cmd/sluice once per test process and returns its path. The binary lives in a temporary
// directory that the process leaves behind only if it dies; call Cleanup from TestMain to remove it.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sluicetest-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "sluice")
		_, here, _, _ := goruntime.Caller(0)
		root := filepath.Join(filepath.Dir(here), "..", "..")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/sluice")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/sluice: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// Cleanup removes the built binary; call it from TestMain after m.Run.
func Cleanup() {
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
}

// Buffer is a goroutine-safe bytes.Buffer for a process's output.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Proc is one sluice process.
type Proc struct {
	Cmd            *exec.Cmd
	Stdout, Stderr *Buffer
	done           chan struct{}
	err            error
}

// Start runs the sluice binary with args (stdin empty) and kills it when the test ends if it still runs.
func Start(t testing.TB, args ...string) *Proc {
	t.Helper()
	return StartCmd(t, exec.Command(Binary(t), args...))
}

// StartCmd starts a prepared command of the sluice binary (to set Env, Dir or Stdin), capturing its
// output unless the caller set Stdout or Stderr.
func StartCmd(t testing.TB, cmd *exec.Cmd) *Proc {
	t.Helper()
	p := &Proc{Cmd: cmd, Stdout: &Buffer{}, Stderr: &Buffer{}, done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = p.Stdout
	}
	if cmd.Stderr == nil {
		cmd.Stderr = p.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %v: %v", cmd.Args, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits up to d for the process to exit and returns its exit code (-1 when killed by a signal).
// It fails the test when the process is still running after d.
func (p *Proc) Wait(t testing.TB, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		t.Fatalf("%v still running after %v; stderr:\n%s", p.Cmd.Args, d, Tail(p.Stderr.String(), 4000))
	}
	return p.Cmd.ProcessState.ExitCode()
}

// Signal sends sig to the process.
func (p *Proc) Signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := p.Cmd.Process.Signal(sig); err != nil && !p.Exited() {
		t.Fatalf("signal %v to %v: %v", sig, p.Cmd.Args, err)
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Proc) Kill(t testing.TB) {
	t.Helper()
	p.Signal(t, syscall.SIGKILL)
	<-p.done
}

// WaitFor waits up to d for re to match the process's stderr and returns the submatches. It fails the
// test when the process exits first or d passes.
func (p *Proc) WaitFor(t testing.TB, d time.Duration, re string) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(d)
	for {
		if m := rx.FindStringSubmatch(p.Stderr.String()); m != nil {
			return m
		}
		if p.Exited() {
			t.Fatalf("%v exited (%v) before stderr matched %q; stderr:\n%s", p.Cmd.Args, p.err, re, Tail(p.Stderr.String(), 4000))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v: stderr did not match %q within %v; stderr:\n%s", p.Cmd.Args, re, d, Tail(p.Stderr.String(), 4000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Serve starts `sluice serve --data-dir dataDir --listen 127.0.0.1:0` plus extra flags, waits until the
// API answers its address line and returns the process and the API's base URL (http://127.0.0.1:PORT).
func Serve(t testing.TB, dataDir string, extra ...string) (*Proc, string) {
	t.Helper()
	args := append([]string{"serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0"}, extra...)
	p := Start(t, args...)
	m := p.WaitFor(t, 30*time.Second, `Pipes API on (https?://\S+)`)
	return p, m[1]
}

// RSSPeakKiB returns the process's peak resident set size (VmHWM) in KiB, read from /proc while it runs.
func (p *Proc) RSSPeakKiB() (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var n int64
			_, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &n)
			return n, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", p.Cmd.Process.Pid)
}

// Tail returns at most the last n bytes of s.
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// Node is one node of a cluster started by ServeCluster.
type Node struct {
	*Proc
	// ID is the node's --node-id; URL the API's base URL.
	ID, URL string
}

// ServeCluster starts n `sluice serve --cluster` nodes (IDs node1..nodeN) on loopback, sharing the
// cluster name on the Kafka brokers, each with extra flags, and waits until every API answers.
func ServeCluster(t testing.TB, n int, brokers, cluster string, extra ...string) []*Node {
	t.Helper()
	nodes := make([]*Node, n)
	for i := range n {
		nodes[i] = ServeNode(t, fmt.Sprintf("node%d", i+1), brokers, cluster, extra...)
	}
	return nodes
}

// ServeNode starts one `sluice serve --cluster brokers --cluster-name cluster --node-id id` on loopback.
func ServeNode(t testing.TB, id, brokers, cluster string, extra ...string) *Node {
	t.Helper()
	args := append([]string{"serve", "--cluster", brokers, "--cluster-name", cluster, "--node-id", id, "--listen", "127.0.0.1:0"}, extra...)
	p := Start(t, args...)
	m := p.WaitFor(t, 60*time.Second, `Pipes API on (https?://\S+)`)
	return &Node{Proc: p, ID: id, URL: m[1]}
}
