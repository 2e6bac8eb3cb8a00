package awstest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/internal/plugin"
)

// ValidateCase is one row of a target's Validate table.
type ValidateCase struct {
	Name, Target, Params string
	BatchSize            int
	Want                 []plugin.FieldError
}

// CheckValidate runs a target's Validate on each case and compares every FieldError. A message
// starting "is not a valid JSON path" is compared on those words only (the rest is the path parser's
// position report).
func CheckValidate(t *testing.T, validate func(plugin.Check) []plugin.FieldError, cases []ValidateCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.Name, " ", "_"), func(t *testing.T) {
			got := validate(plugin.Check{Endpoint: tc.Target, Params: json.RawMessage(tc.Params), BatchSize: tc.BatchSize})
			for i := range got {
				if strings.HasPrefix(got[i].Message, "is not a valid JSON path") {
					got[i].Message = "is not a valid JSON path"
				}
			}
			if d := cmp.Diff(tc.Want, got); d != "" {
				t.Errorf("Validate(%s, %s) (-want +got):\n%s", tc.Target, tc.Params, d)
			}
		})
	}
}

// KafkaEvent is the Pipes event of a Kafka record whose value is value (base64 on the wire, as Sluice
// encodes it), for the Inputs of a target's test batch.
func KafkaEvent(value string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"eventSource":"SelfManagedKafka","topic":"t","partition":0,"offset":0,"value":%q}`,
		base64.StdEncoding.EncodeToString([]byte(value))))
}
