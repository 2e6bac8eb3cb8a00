package boundstest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/sluicetest"
)

// amplifyingTemplate is the template that showed the amplification: 6.9 KB of JSON that copies the record's
// value 300 times, so that a 900 KB record would render 270 MB.
func amplifyingTemplate() string {
	var b strings.Builder
	b.WriteString("{")
	for i := range 300 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `"copy%03d": <$.value>`, i)
	}
	b.WriteString("}")
	return b.String()
}

// bigValue is a JSON record value of about n bytes.
func bigValue(n int) []byte {
	return []byte(`{"blob":"` + strings.Repeat("x", n) + `"}`)
}

// kafkaEvent is the Pipes event of a Kafka record with value v, as test-input-template takes it.
func kafkaEvent(v []byte) []byte {
	return []byte(`{"eventSource":"SelfManagedKafka","eventSourceKey":"t-0","topic":"t","partition":"0","offset":0,` +
		`"timestamp":1700000000000,"timestampType":"CREATE_TIME","value":"` + base64.StdEncoding.EncodeToString(v) + `","headers":[]}`)
}

// writeFile writes data to name in dir and returns its path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// definition is a CreatePipe document reading topic on c from the start, in consumer group group.
func definition(t *testing.T, c *kafkatest.Cluster, topic, group, target string, targetParams, smkExtra map[string]any) []byte {
	t.Helper()
	smk := map[string]any{"TopicName": topic, "StartingPosition": "TRIM_HORIZON", "ConsumerGroupID": group,
		"BatchSize": 10, "MaximumBatchingWindowInSeconds": 0}
	if len(c.Bootstrap) > 1 {
		smk["AdditionalBootstrapServers"] = c.Bootstrap[1:]
	}
	for k, v := range smkExtra {
		smk[k] = v
	}
	d := map[string]any{
		"Source":           "smk://" + c.Bootstrap[0],
		"SourceParameters": map[string]any{"SelfManagedKafkaParameters": smk},
		"Target":           target,
	}
	if targetParams != nil {
		d["TargetParameters"] = targetParams
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// maxRSSKiB is the peak resident set size of an exited process, in KiB, given the peak sampled from /proc while
// it ran. The kernel's figure (wait4's ru_maxrss) is exact for the child's own life but also counts the test
// process that started it: os/exec starts children sharing its address space until they exec (CLONE_VM), and
// exec records the high-water mark of the address space it leaves, which is the test process's (large under
// -race). When the kernel's figure is not above the test process's own peak it tells nothing about the
// child, and the sampled peak stands.
func maxRSSKiB(t *testing.T, p *sluicetest.Proc, sampled int64) int64 {
	t.Helper()
	ru, ok := p.Cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Fatalf("no rusage for %v", p.Cmd.Args)
	}
	if ru.Maxrss > selfPeakKiB(t) {
		return ru.Maxrss // KiB on Linux
	}
	return sampled
}

// selfPeakKiB is the test process's own peak RSS (VmHWM), in KiB.
func selfPeakKiB(t *testing.T) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var n int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &n); err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// watchRSS samples p's peak RSS until it exits or stop is closed, killing it when it passes limitKiB (so
// that the old code, which grows without bound, fails fast instead of exhausting the machine). It returns
// the highest peak seen.
func watchRSS(t *testing.T, p *sluicetest.Proc, limitKiB int64, stop <-chan struct{}) <-chan int64 {
	out := make(chan int64, 1)
	go func() {
		var peak int64
		defer func() { out <- peak }()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if kib, err := p.RSSPeakKiB(); err == nil && kib > peak {
				peak = kib
			}
			if peak > limitKiB {
				_ = p.Cmd.Process.Kill()
				return
			}
			select {
			case <-p.Done():
				return
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

// errorf is fmt.Errorf, for kafkatest.Eventually's conditions.
func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
