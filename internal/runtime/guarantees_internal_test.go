package runtime

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/sluicehq/sluice/internal/source/kafka"
)

func TestRecordsOf(t *testing.T) {
	b := &kafka.Batch{Topic: "t", Partition: 2}
	for i := range 6 {
		b.Records = append(b.Records, kafka.Record{Offset: int64(i), Event: json.RawMessage(fmt.Sprintf(`{"offset":%d}`, i))})
	}
	copyOf := func(e json.RawMessage) json.RawMessage { return append(json.RawMessage(nil), e...) }
	for _, tc := range []struct {
		name    string
		events  []json.RawMessage
		want    []int64
		wantErr bool
	}{
		{"all", []json.RawMessage{b.Records[0].Event, b.Records[1].Event, b.Records[2].Event, b.Records[3].Event, b.Records[4].Event, b.Records[5].Event}, []int64{0, 1, 2, 3, 4, 5}, false},
		{"filtered", []json.RawMessage{b.Records[1].Event, b.Records[4].Event}, []int64{1, 4}, false},
		{"copies", []json.RawMessage{copyOf(b.Records[0].Event), copyOf(b.Records[5].Event)}, []int64{0, 5}, false},
		{"foreign event", []json.RawMessage{json.RawMessage(`{"offset":9}`)}, nil, true},
		{"out of order", []json.RawMessage{b.Records[3].Event, b.Records[1].Event}, nil, true},
	} {
		recs, err := recordsOf(b, tc.events)
		if (err != nil) != tc.wantErr {
			t.Errorf("recordsOf(%s) error = %v, want error %v", tc.name, err, tc.wantErr)
			continue
		}
		var got []int64
		for _, r := range recs {
			got = append(got, r.Offset)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("recordsOf(%s) = offsets %v, want %v", tc.name, got, tc.want)
		}
	}
}
