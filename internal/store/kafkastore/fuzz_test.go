package kafkastore

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// FuzzDecodeApply: a pipes-topic record is input from anyone who may write the topic. Decoding one never
// panics, and applying a decoded one in any order keeps the entry consistent (a live entry has its record,
// a won write is the state after it), so every node keeps agreeing whatever the log holds.
func FuzzDecodeApply(f *testing.F) {
	f.Add("orders", "create", "1", "t1", "", "", "", []byte(`{"version":1,"name":"orders","definition":{}}`), "update", "2", "1", "t1")
	f.Add("orders", "update", "x", "t2", "", "9", "t1", []byte(`{"version":1,"name":"other"}`), "delete", "3", "2", "t2")
	f.Add("", "reassert", "18446744073709551615", "t", "s", "", "", []byte(nil), "create", "1", "", "")
	f.Add("p", "create", "1", "t", "", "", "", []byte(`{"version":99,"name":"p"}`), "reassert", "0", "", "")
	f.Fuzz(func(t *testing.T, name, kind, rev, token, stateToken, expRev, expTok string, value []byte, kind2, rev2, expRev2, expTok2 string) {
		rec := func(kind, rev, expRev, expTok string, value []byte) *kgo.Record {
			r := &kgo.Record{Key: []byte(name), Value: value, Headers: []kgo.RecordHeader{
				{Key: "op", Value: []byte(kind)}, {Key: "rev", Value: []byte(rev)}, {Key: "token", Value: []byte(token + kind)},
				{Key: "state-token", Value: []byte(stateToken)}, {Key: "expect-rev", Value: []byte(expRev)},
				{Key: "expect-token", Value: []byte(expTok)}, {Key: "max-pipes", Value: []byte(rev)},
			}}
			return r
		}
		var cur *entry
		live := 0
		for _, r := range []*kgo.Record{rec(kind, rev, expRev, expTok, value), rec(kind2, rev2, expRev2, expTok2, value)} {
			o, err := decodeOp(r)
			if err != nil {
				if o != nil {
					t.Fatalf("decodeOp returned an op with its error %v", err)
				}
				continue
			}
			if o.name == "" || o.write == "" {
				t.Fatalf("decoded an op without a name or token: %+v", o)
			}
			if o.rec != nil && o.rec.Name != o.name {
				t.Fatalf("decoded record names %q under key %q", o.rec.Name, o.name)
			}
			next, won, quota := apply(cur, o, live)
			if won && (next == nil || next.rev != o.rev || next.token != o.token) {
				t.Fatalf("won without being the state after it: %+v for %+v", next, o)
			}
			if won && quota {
				t.Fatal("won and lost to the quota")
			}
			if next != nil && next.live != (next.rec != nil) {
				t.Fatalf("entry live=%v with record %v", next.live, next.rec)
			}
			if (cur != nil && cur.live) != (next != nil && next.live) {
				if next != nil && next.live {
					live++
				} else {
					live--
				}
			}
			if next != nil {
				cur = next
			}
		}
	})
}
