// Package event turns a Kafka record into the JSON object EventBridge Pipes hands to filters, enrichments
// and targets for a self-managed Kafka source:
//
//	{"eventSource":"SelfManagedKafka","bootstrapServers":"b1:9092,b2:9092","eventSourceKey":"topic-0",
//	 "topic":"topic","partition":"0","offset":15,"timestamp":1545084650987,"timestampType":"CREATE_TIME",
//	 "key":"a2V5","value":"dmFsdWU=","headers":[{"headerKey":[104,101,97]}]}
//
// Members appear in that order, as in the seed document. Decisions where the Pipes documentation is silent:
//
//   - partition is a JSON string ("0"), as the seed document shows it.
//   - A null key (the record was produced without one) omits "key"; a null value (a tombstone) omits
//     "value". This is what Lambda's Go event type produces (omitempty) and lets a filter tell null
//     ("exists": false) from empty. An empty, non-null key or value is "".
//   - headers is always present, [] when the record has none; each header is a one-member object whose
//     value is the array of the header value's bytes as unsigned numbers 0..255 (a null header value is []).
//     Header order and duplicate keys are kept as on the wire.
//   - timestampType is LOG_APPEND_TIME when the topic stamps records on append, CREATE_TIME otherwise
//     (including pre-0.10 records that carry no timestamp type).
//
// The encoder appends to a caller-owned buffer and, once the buffer has grown, does not allocate.
package event

import (
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/jsontext"
)

// EventSource is the value of the "eventSource" member of every self-managed Kafka event.
const EventSource = "SelfManagedKafka"

// Encoder renders records of one cluster. It holds only immutable state, so one Encoder may be shared by
// many goroutines.
type Encoder struct {
	// head is `{"eventSource":"SelfManagedKafka","bootstrapServers":"...","eventSourceKey":"`, the part
	// that is the same for every record of the cluster.
	head []byte
}

// NewEncoder returns an Encoder for records read from the cluster reached through bootstrapServers
// (host:port each); they appear comma-joined in "bootstrapServers".
func NewEncoder(bootstrapServers []string) *Encoder {
	h := make([]byte, 0, 96)
	h = append(h, `{"eventSource":"`+EventSource+`","bootstrapServers":`...)
	h = jsontext.AppendQuotedUTF8(h, strings.Join(bootstrapServers, ","))
	h = append(h, `,"eventSourceKey":"`...)
	return &Encoder{head: h}
}

// Append appends the event JSON for r to dst and returns the extended buffer.
func (e *Encoder) Append(dst []byte, r *kgo.Record) []byte {
	return e.appendRecord(dst, r, TimestampType(r.Attrs))
}

// appendRecord is Append with the timestamp type given, because kgo.RecordAttrs cannot be built outside
// kgo and tests need the LOG_APPEND_TIME shape.
func (e *Encoder) appendRecord(dst []byte, r *kgo.Record, tsType string) []byte {
	dst = e.appendPrefix(dst, r.Topic, r.Partition)
	return appendTail(dst, r, tsType)
}

// appendPrefix appends the members that are the same for every record of one partition, up to and
// including `"offset":`.
func (e *Encoder) appendPrefix(dst []byte, topic string, part int32) []byte {
	dst = append(dst, e.head...)
	dst = jsontext.AppendEscapedUTF8(dst, topic)
	dst = append(dst, '-')
	dst = strconv.AppendInt(dst, int64(part), 10)
	dst = append(dst, `","topic":`...)
	dst = jsontext.AppendQuotedUTF8(dst, topic)
	dst = append(dst, `,"partition":"`...)
	dst = strconv.AppendInt(dst, int64(part), 10)
	return append(dst, `","offset":`...)
}

// PartitionEncoder renders the records of one topic partition. The members before "offset" are the same
// for all of them, so they are rendered once, when the PartitionEncoder is made; escaping the topic name
// twice per record would otherwise be a good part of the cost of a small event. It holds only immutable
// state.
type PartitionEncoder struct {
	prefix []byte
}

// Partition returns the encoder of records of topic's partition part.
func (e *Encoder) Partition(topic string, part int32) *PartitionEncoder {
	return &PartitionEncoder{prefix: e.appendPrefix(nil, topic, part)}
}

// Append appends the event JSON for r, a record of the encoder's topic and partition (its own Topic and
// Partition are not read), to dst and returns the extended buffer. The bytes are those Encoder.Append
// appends.
func (p *PartitionEncoder) Append(dst []byte, r *kgo.Record) []byte {
	dst = append(dst, p.prefix...)
	return appendTail(dst, r, TimestampType(r.Attrs))
}

// Prefetch asks the CPU to start loading (the first 4 KB of) r's value into cache. Calling it for a
// record a couple ahead of the one being appended overlaps the memory reads: a fetched record's value
// has usually left the cache by the time it is encoded, and reading it is then most of the cost of its
// event. It has no other effect.
func (p *PartitionEncoder) Prefetch(r *kgo.Record) { prefetchValue(r.Value) }

// appendTail appends the members from the offset's value on.
func appendTail(dst []byte, r *kgo.Record, tsType string) []byte {
	dst = strconv.AppendInt(dst, r.Offset, 10)
	dst = append(dst, `,"timestamp":`...)
	dst = strconv.AppendInt(dst, r.Timestamp.UnixMilli(), 10)
	dst = append(dst, `,"timestampType":"`...)
	dst = append(dst, tsType...)
	dst = append(dst, '"')
	if r.Key != nil {
		dst = append(dst, `,"key":"`...)
		dst = appendBase64(dst, r.Key)
		dst = append(dst, '"')
	}
	if r.Value != nil {
		dst = append(dst, `,"value":"`...)
		dst = appendBase64(dst, r.Value)
		dst = append(dst, '"')
	}
	dst = append(dst, `,"headers":[`...)
	for i, h := range r.Headers {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '{')
		dst = jsontext.AppendQuotedUTF8(dst, h.Key)
		dst = append(dst, ":["...)
		for j, b := range h.Value {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, byteText[b]...)
		}
		dst = append(dst, "]}"...)
	}
	return append(dst, "]}"...)
}

// TimestampType names the record's timestamp type as Pipes does.
func TimestampType(a kgo.RecordAttrs) string {
	if a.TimestampType() == 1 {
		return "LOG_APPEND_TIME"
	}
	return "CREATE_TIME"
}

// byteText holds the decimal text of every byte value, so header bytes are appended without formatting.
var byteText = func() (t [256]string) {
	for i := range t {
		t[i] = strconv.Itoa(i)
	}
	return t
}()
