package transform_test

import (
	"encoding/base64"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/transform"
)

func ExampleTemplate_Render() {
	// A Pipes Kafka record whose value is the JSON {"orderId":"o-1","total":9.5}.
	value := base64.StdEncoding.EncodeToString([]byte(`{"orderId":"o-1","total":9.5}`))
	event := []byte(`{"eventSource":"SelfManagedKafka","topic":"orders","partition":"0","offset":3,"key":null,"value":"` + value + `"}`)

	t, err := transform.Parse(`{"id": <$.value.orderId>, "total": <$.value.total>, "note": "order <$.value.orderId> on <$.topic>", "pipe": <aws.pipes.pipe-name>, "at": <aws.pipes.event.ingestion-time>}`)
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := t.Render(nil, event, &transform.Vars{PipeName: "orders", IngestionTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(out))
	// Output: {"id": "o-1", "total": 9.5, "note": "order o-1 on orders", "pipe": "orders", "at": "2026-01-02T03:04:05.000Z"}
}

func ExampleParse_error() {
	_, err := transform.Parse(`{"id": <$.value..orderId>}`)
	fmt.Println(err)
	// Output: input template: line 1, column 17: unexpected '.' in json path "$.value..orderId": names may hold letters, digits, '_', '-' and '/'
}

func ExamplePath_LookupText() {
	p, err := transform.ParsePath("$.value.customer.id")
	if err != nil {
		fmt.Println(err)
		return
	}
	value := base64.StdEncoding.EncodeToString([]byte(`{"customer":{"id":"c-42"}}`))
	key, found, err := p.LookupText([]byte(`{"eventSource":"SelfManagedKafka","value":"` + value + `"}`))
	fmt.Println(key, found, err)
	// Output: c-42 true <nil>
}
