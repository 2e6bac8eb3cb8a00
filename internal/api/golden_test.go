package api

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// TestWireGolden pins the JSON the API sends for each response shape: CreatePipe, DescribePipe,
// ListPipes, ListTagsForResource and an error. Refresh with -update after a deliberate change.
func TestWireGolden(t *testing.T) {
	fixed := time.Date(2026, 11, 25, 12, 0, 0, 250_000_000, time.UTC)
	h := newHarness(t, func(c *setup) { c.Manager.Now = func() time.Time { return fixed } })

	body := `{"Description":"golden","DesiredState":"STOPPED","Source":"smk://broker-1.example:9092",` +
		`"SourceParameters":{"FilterCriteria":{"Filters":[{"Pattern":"{\"value\":{\"status\":[\"PAID\"]}}"}]},` +
		`"SelfManagedKafkaParameters":{"TopicName":"orders","StartingPosition":"TRIM_HORIZON","BatchSize":25,` +
		`"Credentials":{"SaslScram512Auth":"arn:aws:secretsmanager:us-east-1:000000000000:secret:kafka-AbCdEf"},` +
		`"ServerRootCaCertificate":"arn:aws:secretsmanager:us-east-1:000000000000:secret:ca-AbCdEf"}},` +
		`"Target":"file:///var/lib/sluice/orders.jsonl","TargetParameters":{"InputTemplate":"{\"id\": <$.value.id>}"},` +
		`"RoleArn":"arn:aws:iam::000000000000:role/sluice","Tags":{"team":"payments"}}`
	responses := map[string][]byte{}
	r := h.raw("POST", "/v1/pipes/golden", body)
	responses["create"] = r.raw
	h.waitState("golden", "STOPPED")
	responses["describe"] = h.raw("GET", "/v1/pipes/golden", "").raw
	responses["list"] = h.raw("GET", "/v1/pipes?Limit=1", "").raw
	responses["tags"] = h.raw("GET", "/tags/arn%3Aaws%3Apipes%3Aus-east-1%3A000000000000%3Apipe%2Fgolden", "").raw
	responses["error-validation"] = h.raw("POST", "/v1/pipes/x", `{"Source":1,"Bogus":true}`).raw
	responses["error-conflict"] = h.raw("POST", "/v1/pipes/golden", body).raw

	for name, got := range responses {
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, got, "", "  "); err != nil {
			t.Fatalf("%s response is not JSON: %s", name, got)
		}
		pretty.WriteByte('\n')
		path := filepath.Join("testdata", name+".golden.json")
		if *update {
			if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("reading %s (run with -update to create it): %v", path, err)
		}
		if diff := cmp.Diff(string(want), pretty.String()); diff != "" {
			t.Errorf("%s response differs from %s (-want +got):\n%s", name, path, diff)
		}
	}
}
