package sluicetest

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RunPipe writes def (a CreatePipe definition, marshalled as JSON) to a file and starts
// `sluice run --file FILE --metrics-listen 127.0.0.1:0` plus args, with env added to the test's
// environment, and waits until it serves metrics.
func RunPipe(t testing.TB, def any, env []string, args ...string) *Proc {
	t.Helper()
	data, err := json.MarshalIndent(def, "", "  ")
	if err != nil {
		t.Fatalf("encoding the pipe definition: %v", err)
	}
	path := filepath.Join(t.TempDir(), "pipe.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(Binary(t), append([]string{"run", "--file", path, "--metrics-listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	p := StartCmd(t, cmd)
	p.WaitFor(t, 30*time.Second, `"msg":"serving metrics"`)
	return p
}

// Metric returns the sum of the samples of the metric name (all label sets) that the process serves on
// the /metrics address it logged; 0 when the metric has no sample.
func (p *Proc) Metric(t testing.TB, name string) float64 {
	t.Helper()
	m := p.WaitFor(t, time.Second, `"msg":"serving metrics"[^\n]*"address":"([^"]+)"`)
	resp, err := http.Get(m[1])
	if err != nil {
		t.Fatalf("GET %s: %v", m[1], err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d: %v", m[1], resp.StatusCode, err)
	}
	var sum float64
	for line := range strings.SplitSeq(string(body), "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

// KafkaPipe returns a CreatePipe definition named name reading topic from the broker at bootstrap from
// the start (TRIM_HORIZON) in batches of batchSize; the caller adds the Target and the rest.
func KafkaPipe(name, bootstrap, topic string, batchSize int) map[string]any {
	return map[string]any{
		"Name":   name,
		"Source": "smk://" + bootstrap,
		"SourceParameters": map[string]any{"SelfManagedKafkaParameters": map[string]any{
			"TopicName": topic, "StartingPosition": "TRIM_HORIZON", "BatchSize": batchSize,
		}},
	}
}
