package runtime_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenEnrichment is the enrichment endpoint of the golden pipe. It is deterministic: an order from
// "Nowhere" is dropped ([] skips the target), a "split" order becomes two events, any other one event.
func goldenEnrichment(r request) (int, string) {
	var in struct {
		Order     map[string]any  `json:"order"`
		Key       json.RawMessage `json:"key"`
		Offset    json.RawMessage `json:"offset"`
		Partition json.RawMessage `json:"partition"`
		Stage     string          `json:"stage"`
	}
	if err := json.Unmarshal([]byte(r.Body), &in); err != nil {
		return http.StatusBadRequest, fmt.Sprintf(`{"message":%q}`, err.Error())
	}
	if in.Order["city"] == "Nowhere" {
		return http.StatusOK, `[]`
	}
	tier := "standard"
	if amt, _ := in.Order["amount"].(float64); amt >= 100 {
		tier = "gold"
	}
	parts := 1
	if in.Order["split"] == true {
		parts = 2
	}
	var out []map[string]any
	for p := 1; p <= parts; p++ {
		out = append(out, map[string]any{"order": in.Order, "key": in.Key, "offset": in.Offset, "stage": in.Stage, "tier": tier, "part": p})
	}
	var b []byte
	if parts == 1 {
		b, _ = json.Marshal(out[0])
	} else {
		b, _ = json.Marshal(out)
	}
	return http.StatusOK, string(b)
}

// TestGolden runs the definition in testdata/golden/pipe.json (the CreatePipe shape: filter, enrichment
// template, HTTP enrichment, target template) over testdata/golden/records.json and compares the exact
// bytes the target receives with testdata/golden/target.golden (one payload per line).
func TestGolden(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		dir := filepath.Join("testdata", "golden")
		tmpl, err := os.ReadFile(filepath.Join(dir, "pipe.json"))
		if err != nil {
			t.Fatal(err)
		}
		var records []struct {
			Key   *string `json:"key"`
			Value string  `json:"value"`
		}
		data, err := os.ReadFile(filepath.Join(dir, "records.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &records); err != nil {
			t.Fatal(err)
		}
		topic := c.CreateTopic(t, 1)
		var recs []*kgoRecord
		for _, r := range records {
			kr := &kgoRecord{value: r.Value}
			if r.Key != nil {
				kr.key = *r.Key
			}
			recs = append(recs, kr)
		}
		produce(t, c, topic, recs)

		enr := &httpRecorder{reply: goldenEnrichment}
		srv := httptest.NewServer(enr)
		defer srv.Close()
		raw := strings.NewReplacer("{{BROKER}}", c.Bootstrap[0], "{{TOPIC}}", topic, "{{ENRICHMENT}}", srv.URL+"/enrich").Replace(string(tmpl))
		// The pipe name is fixed so that <aws.pipes.pipe-name> and the ARN are stable; the file carries
		// none, as a CreatePipe body does.
		var m map[string]any
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			t.Fatal(err)
		}
		m["Name"] = "golden-orders"
		named, _ := json.Marshal(m)
		def := decodeDefinition(t, named)
		// Each run uses a fresh group: the fixed name would otherwise resume the real broker's group.
		def.SourceParameters.SelfManagedKafkaParameters.ConsumerGroupID = pipeName(t)

		rec := &recorder{}
		start(t, def, deps(t, rec.registry()))
		waitCommitted(t, c, groupOf(def), topic, map[int32]int64{0: int64(len(records))})

		var got bytes.Buffer
		for _, ev := range rec.events() {
			if strings.ContainsAny(ev, "\n\r") {
				t.Fatalf("payload contains a line break: %q", ev)
			}
			got.WriteString(ev)
			got.WriteByte('\n')
		}
		golden := filepath.Join(dir, "target.golden")
		if *update && c.Name == "kfake" {
			if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if diff := cmp.Diff(string(want), got.String()); diff != "" {
			t.Fatalf("target payloads differ from %s (-want +got):\n%s", golden, diff)
		}
		for _, line := range strings.Split(strings.TrimSpace(got.String()), "\n") {
			if !json.Valid([]byte(line)) {
				t.Errorf("payload is not JSON: %s", line)
			}
		}
		if n := len(enr.requests()); n != 7 {
			t.Errorf("enrichment called %d times, want 7 (the records passing the filter)", n)
		}
	})
}
