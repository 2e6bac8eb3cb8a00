package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/sluicetest"
)

// TestRunBinaryNullValueAndHealthz runs the built binary on a kfake broker with the README's filter
// {"value": {"status": ["PAID"]}}: a record whose value is the JSON text null has no status and is not
// delivered (a JSON null value used to pass any field filter), and the metrics listener answers /healthz.
func TestRunBinaryNullValueAndHealthz(t *testing.T) {
	c := kafkatest.Kfake(t)
	topic := c.CreateTopic(t, 1)
	// One partition keeps the order: once the last record is delivered, the null one has been filtered.
	c.Produce(t,
		&kgo.Record{Topic: topic, Key: []byte("n"), Value: []byte("null")},
		&kgo.Record{Topic: topic, Key: []byte("p"), Value: []byte(`{"id":"last","status":"PAID"}`)},
	)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	def := writeFile(t, "pipe.json", fmt.Sprintf(`{"Source": "smk://%s",
	  "SourceParameters": {"FilterCriteria": {"Filters": [{"Pattern": "{\"value\": {\"status\": [\"PAID\"]}}"}]},
	    "SelfManagedKafkaParameters": {"TopicName": %q, "StartingPosition": "TRIM_HORIZON"}},
	  "Target": "file://%s?fsync=never",
	  "TargetParameters": {"InputTemplate": "{\"key\":<$.key>,\"value\":<$.value>}"}}`, c.Bootstrap[0], topic, out))
	p := sluicetest.Start(t, "run", "--file", def, "--name", fmt.Sprintf("null-%d", time.Now().UnixNano()), "--metrics-listen", "127.0.0.1:0")
	metricsURL := p.WaitFor(t, 60*time.Second, `"msg":"serving metrics","address":"(http://[^"]+)/metrics"`)[1]

	resp, err := http.Get(metricsURL + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok\n" {
		t.Errorf("GET %s/healthz = %d %q, want 200 \"ok\\n\"", metricsURL, resp.StatusCode, body)
	}

	kafkatest.Eventually(t, 60*time.Second, func() error {
		if p.Exited() {
			t.Fatalf("sluice run exited:\n%s", p.Stderr.String())
		}
		data, _ := os.ReadFile(out)
		if !bytes.Contains(data, []byte(`"last"`)) {
			return fmt.Errorf("the PAID record is not delivered yet (%q)", data)
		}
		return nil
	})
	data, _ := os.ReadFile(out)
	if n := bytes.Count(data, []byte("\n")); n != 1 || bytes.Contains(data, []byte(`"value":null`)) {
		t.Errorf("delivered:\n%s\nwant only the PAID record: a JSON null value has no status field", data)
	}
	p.Signal(t, syscall.SIGTERM)
	if code := p.Wait(t, 30*time.Second); code != 0 {
		t.Errorf("sluice run exit after SIGTERM = %d, want 0; stderr:\n%s", code, sluicetest.Tail(p.Stderr.String(), 3000))
	}
}
