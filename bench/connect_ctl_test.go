package bench

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConnectConfig guards the Connect row's fairness: the worker the script configures passes values
// through as text (FileStreamSinkTask prints value.toString(), so a byte-array converter would print
// "[B@..."), reads from the given bootstrap from the earliest offset, keeps its offsets in the run's
// directory, and the sink copies the given topic to the given file. It runs bash only, no java.
func TestConnectConfig(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skipf("bash is not on PATH: %v", err)
	}
	dir := t.TempDir()
	cmd := exec.Command("bash", filepath.Join("..", "scripts", "connect", "ctl.sh"), "config", dir, "orders", filepath.Join(dir, "out.txt"))
	cmd.Env = append(os.Environ(), "SLUICE_KAFKA_PLAINTEXT=127.0.0.1:19092", "SLUICE_CONNECT_GROUP=g1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ctl.sh config: %v\n%s", err, out)
	}
	props := func(name string) map[string]string {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, l := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
				m[k] = v
			}
		}
		return m
	}
	want := map[string]map[string]string{
		"worker.properties": {
			"bootstrap.servers":            "127.0.0.1:19092",
			"value.converter":              "org.apache.kafka.connect.storage.StringConverter",
			"key.converter":                "org.apache.kafka.connect.converters.ByteArrayConverter",
			"offset.storage.file.filename": filepath.Join(dir, "connect.offsets"),
			"consumer.auto.offset.reset":   "earliest",
		},
		"sink.properties": {
			"name":            "g1",
			"connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
			"topics":          "orders",
			"file":            filepath.Join(dir, "out.txt"),
			"tasks.max":       "1",
		},
	}
	for file, kv := range want {
		got := props(file)
		for k, v := range kv {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q", file, k, got[k], v)
			}
		}
	}
}

// TestConnectConfigNeedsBootstrap: without SLUICE_KAFKA_PLAINTEXT the script refuses to write a worker that
// would fall back to some default broker.
func TestConnectConfigNeedsBootstrap(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skipf("bash is not on PATH: %v", err)
	}
	dir := t.TempDir()
	cmd := exec.Command("bash", filepath.Join("..", "scripts", "connect", "ctl.sh"), "config", dir, "orders", filepath.Join(dir, "out.txt"))
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "SLUICE_KAFKA_PLAINTEXT=") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "SLUICE_KAFKA_PLAINTEXT is unset") {
		t.Fatalf("ctl.sh config without SLUICE_KAFKA_PLAINTEXT: err %v, output %q; want a failure naming the variable", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "worker.properties")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("worker.properties written anyway (stat: %v)", err)
	}
}

// TestWatchLines checks the timing every row is measured by: start-up runs to the first line seen, the
// steady part counts only the lines after that first sight, and a writer that stops fails the watch.
func TestWatchLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out")
	start := time.Now()
	go func() {
		time.Sleep(50 * time.Millisecond)
		f, err := os.Create(path)
		if err != nil {
			return
		}
		defer f.Close()
		f.WriteString("a\nb\n")
		time.Sleep(50 * time.Millisecond)
		for range 8 {
			f.WriteString("line\n")
			time.Sleep(5 * time.Millisecond)
		}
	}()
	res, err := watchLines(context.Background(), path, 10, start, func() error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if res.startup < 50*time.Millisecond || res.firstLines != 2 || res.lines != 10 {
		t.Errorf("watch = %+v, want start-up >= 50ms, 2 lines at the first sight, 10 at the end", res)
	}
	if res.steady < 50*time.Millisecond || res.rate() <= 0 || res.rate() > 8/0.05 {
		t.Errorf("steady %v, rate %.0f/s: want at least the 50ms pause and 8 lines in it", res.steady, res.rate())
	}

	stopped := errors.New("writer exited")
	_, err = watchLines(context.Background(), filepath.Join(t.TempDir(), "never"), 1, time.Now(), func() error { return stopped })
	if !errors.Is(err, stopped) {
		t.Errorf("watch of a stopped writer: %v, want %v", err, stopped)
	}
}
