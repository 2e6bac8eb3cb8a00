package boundstest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/sluicetest"
)

const mib = 1 << 10 // in KiB

// TestAmplificationRun is a regression test for template amplification: before rendering was bounded, a 6.9 KB
// template over two 900 KB records wrote 540 MB and peaked at 1.1 GB RSS. Now each record's payload stops
// rendering at the 6 MB Pipes limit, the records fail permanently and are dead-lettered, nothing reaches the
// target, and the process stays under 256 MB.
func TestAmplificationRun(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		topic := c.CreateTopic(t, 1)
		c.Produce(t, &kgo.Record{Topic: topic, Value: bigValue(900 << 10)}, &kgo.Record{Topic: topic, Value: bigValue(900 << 10)})
		dir := t.TempDir()
		out, dlq := filepath.Join(dir, "out.jsonl"), filepath.Join(dir, "dlq.jsonl")
		def := definition(t, c, topic, "sluice-amplify-"+topic, "file://"+out,
			map[string]any{"InputTemplate": amplifyingTemplate()},
			map[string]any{"DeadLetterConfig": map[string]any{"Arn": "file://" + dlq}})
		p := sluicetest.Start(t, "run", "--file", writeFile(t, dir, "pipe.json", def), "--drain-timeout", "5s")
		stop := make(chan struct{})
		rss := watchRSS(t, p, 768*mib, stop) // the old code passes 1 GB: stop it before it takes the machine

		deadline := time.Now().Add(90 * time.Second)
		for lines(t, dlq) < 2 && !p.Exited() && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		close(stop)
		peak := <-rss
		t.Logf("peak RSS of sluice run: %d MiB", peak/1024)
		if peak >= 256*mib {
			t.Errorf("peak RSS = %d MiB, want < 256 MiB", peak/1024)
		}
		if n := lines(t, dlq); n != 2 {
			t.Fatalf("dead letters = %d, want the 2 records; stderr:\n%s", n, sluicetest.Tail(p.Stderr.String(), 3000))
		}
		if fi, err := os.Stat(out); err == nil && fi.Size() > 0 {
			t.Errorf("target file has %d bytes, want nothing delivered", fi.Size())
		}
		// The dead-letter file is written before the log line that reports it: wait for the line.
		p.WaitFor(t, 10*time.Second, `record dead-lettered`)
		if s := p.Stderr.String(); !strings.Contains(s, "6291456-byte limit") {
			t.Errorf("stderr does not log the records as dead-lettered over the 6291456-byte limit:\n%s", sluicetest.Tail(s, 3000))
		}
		p.Signal(t, syscall.SIGTERM)
		if code := p.Wait(t, 30*time.Second); code != 0 {
			t.Errorf("sluice run exited %d after SIGTERM, want 0", code)
		}
	})
}

// lines counts the lines of a file that may not exist yet.
func lines(t *testing.T, path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(data, []byte("\n"))
}

// TestAmplificationTestInputTemplate is the template amplification test for test-input-template: the same
// template and record are refused at the payload limit, with an error naming it, in bounded memory.
func TestAmplificationTestInputTemplate(t *testing.T) {
	dir := t.TempDir()
	tmpl := writeFile(t, dir, "template.json", []byte(amplifyingTemplate()))
	ev := writeFile(t, dir, "event.json", kafkaEvent(bigValue(900<<10)))
	cmd := exec.Command(sluicetest.Binary(t), "test-input-template", "--input-template", "file://"+tmpl, "--event", "file://"+ev)
	cmd.Stdout = io.Discard // the old code prints 270 MB
	p := sluicetest.StartCmd(t, cmd)
	rss := watchRSS(t, p, 768*mib, nil)
	code := p.Wait(t, 60*time.Second)
	peak := maxRSSKiB(t, p, <-rss)
	t.Logf("peak RSS of test-input-template: %d MiB", peak/1024)
	if code != 1 || !strings.Contains(p.Stderr.String(), "6291456-byte limit") {
		t.Errorf("test-input-template exited %d, stderr %q; want 1 and an error naming the 6291456-byte limit", code, sluicetest.Tail(p.Stderr.String(), 500))
	}
	if peak >= 256*mib {
		t.Errorf("peak RSS = %d MiB, want < 256 MiB", peak/1024)
	}
}

// TestDefinitionReads is a regression test for unbounded reads: `sluice run --file /dev/zero` grew to 24 GB and
// ignored SIGTERM. Definition files and the test commands' files are read up to a limit, and a signal ends
// a read that blocks.
func TestDefinitionReads(t *testing.T) {
	dir := t.TempDir()
	big := writeFile(t, dir, "big.json", append(append([]byte("{"), bytes.Repeat([]byte(" "), 2<<20)...), '}'))
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"run /dev/zero", []string{"run", "--file", "/dev/zero"}, "/dev/zero: larger than the limit of 1048576 bytes"},
		{"run oversized file", []string{"run", "--file", big}, big + ": larger than the limit of 1048576 bytes"},
		{"test-input-template event /dev/zero", []string{"test-input-template", "--input-template", "<$.x>", "--event", "file:///dev/zero"},
			"/dev/zero: larger than the limit of 6291456 bytes"},
		{"test-input-template template /dev/zero", []string{"test-input-template", "--input-template", "file:///dev/zero", "--event", "{}"},
			"/dev/zero: larger than the limit of 1048576 bytes"},
		{"test-event-pattern /dev/zero", []string{"test-event-pattern", "--event-pattern", "file:///dev/zero", "--event", "{}"},
			"/dev/zero: larger than the limit of"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := sluicetest.Start(t, c.args...)
			// The bound is the binary's own footprint plus the read limit with room to spare (the AWS SDK
			// services made the binary ~42 MB, and the race detector adds its shadow memory); an unbounded
			// read of /dev/zero would pass it within a fraction of a second.
			rss := watchRSS(t, p, 128*mib, nil)
			code := p.Wait(t, 20*time.Second)
			if peak := maxRSSKiB(t, p, <-rss); peak >= 128*mib {
				t.Errorf("peak RSS = %d MiB, want < 128 MiB", peak/1024)
			}
			if code != 1 || !strings.Contains(p.Stderr.String(), c.want) {
				t.Errorf("%v exited %d, stderr %q; want 1 and %q", c.args, code, sluicetest.Tail(p.Stderr.String(), 500), c.want)
			}
		})
	}

	t.Run("SIGTERM ends a blocked read", func(t *testing.T) {
		fifo := filepath.Join(t.TempDir(), "pipe.json")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		p := sluicetest.Start(t, "run", "--file", fifo)
		waitBlockedInFIFO(t, p)
		start := time.Now()
		p.Signal(t, syscall.SIGTERM)
		code := p.Wait(t, 10*time.Second)
		t.Logf("sluice run exited %v after SIGTERM", time.Since(start).Round(time.Millisecond))
		if code != 1 || !strings.Contains(p.Stderr.String(), fifo+": interrupted") {
			t.Errorf("sluice run exited %d, stderr %q; want 1 and the read interrupted", code, p.Stderr.String())
		}
	})
}

// waitBlockedInFIFO waits until a thread of p sleeps opening a FIFO that has no writer, or reading one
// (/proc/PID/task/*/wchan).
func waitBlockedInFIFO(t *testing.T, p *sluicetest.Proc) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/wchan", p.Cmd.Process.Pid))
		for _, w := range tasks {
			if b, err := os.ReadFile(w); err == nil && (strings.Contains(string(b), "wait_for_partner") || strings.Contains(string(b), "pipe_read")) {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("sluice did not block on the FIFO within 10s; stderr:\n%s", p.Stderr.String())
}

// TestSecondSignalExits is a regression test for a second SIGTERM that did nothing: while the drain waits for a
// target that never answers, a second SIGTERM now ends the process at once.
func TestSecondSignalExits(t *testing.T) {
	c := kafkatest.Kfake(t)
	topic := c.CreateTopic(t, 1)
	c.Produce(t, &kgo.Record{Topic: topic, Value: []byte(`{"n":1}`)})
	got := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- struct{}{}:
		default:
		}
		select { // never answers while the test runs
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	dir := t.TempDir()
	def := definition(t, c, topic, "sluice-2nd-signal-"+topic, srv.URL+"/in", nil, map[string]any{"BatchSize": 1})
	p := sluicetest.Start(t, "run", "--file", writeFile(t, dir, "pipe.json", def), "--drain-timeout", "120s")
	select {
	case <-got:
	case <-time.After(30 * time.Second):
		t.Fatalf("the target got no request; stderr:\n%s", sluicetest.Tail(p.Stderr.String(), 3000))
	}
	p.Signal(t, syscall.SIGTERM)
	time.Sleep(500 * time.Millisecond) // the drain is waiting for the target (120 s)
	if p.Exited() {
		t.Fatalf("sluice run exited on the first SIGTERM while a delivery was in flight; stderr:\n%s", p.Stderr.String())
	}
	start := time.Now()
	p.Signal(t, syscall.SIGTERM)
	p.Wait(t, 10*time.Second)
	took := time.Since(start)
	t.Logf("second SIGTERM: exited after %v", took.Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("second SIGTERM took %v to end sluice run, want at once", took)
	}
	if ws, ok := p.Cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Errorf("sluice run ended with %v, want killed by SIGTERM (exit status 143 in a shell)", p.Cmd.ProcessState)
	}
}
