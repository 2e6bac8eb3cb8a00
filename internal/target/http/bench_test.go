package httptarget

import (
	"context"
	"testing"
)

// BenchmarkRequest measures building one request (path, query and header parameters from a Kafka
// record), the per-event work besides the network.
func BenchmarkRequest(b *testing.B) {
	c, err := NewClient(context.Background(), Config{
		URL: "https://api.example.com/customers/*/orders",
		HTTP: &HttpParameters{
			PathParameterValues:   []string{"$.value.customer"},
			HeaderParameters:      map[string]string{"X-Status": "$.value.status", "X-Static": "s"},
			QueryStringParameters: map[string]string{"amount": "$.value.amount"},
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	source := kafkaRecord(`{"customer":"c-1","status":"paid","amount":12.5}`)
	body := []byte(`{"x":1}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.request(context.Background(), body, source); err != nil {
			b.Fatal(err)
		}
	}
}
