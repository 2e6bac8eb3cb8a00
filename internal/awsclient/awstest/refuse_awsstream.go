package awstest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
)

// Entries names the members of one batch API's request and response: the request's entry list
// ("Records"), the response's failed count ("FailedRecordCount") and its per-entry list ("Records").
type Entries struct {
	Op, Request, Count, Response string
}

// Kinesis PutRecords and Firehose PutRecordBatch, for Refuse.
var (
	KinesisPutRecords      = Entries{Op: "PutRecords", Request: "Records", Count: "FailedRecordCount", Response: "Records"}
	FirehosePutRecordBatch = Entries{Op: "PutRecordBatch", Request: "Records", Count: "FailedPutCount", Response: "RequestResponses"}
)

// Refuse is a Rule (for the next call of e.Op after skip others) that refuses the entries at idx as the
// service does: they are taken out of the request before it reaches the emulator, which stores the
// rest, and the answer gets, in their places, an entry with the error code and the failed count.
func Refuse(e Entries, skip int, code string, idx ...int) Rule {
	drop := map[int]bool{}
	for _, i := range idx {
		drop[i] = true
	}
	return Rule{Op: e.Op, Skip: skip, Times: 1, Handle: func(ctx context.Context, x *Exchange) (*Response, error) {
		var in map[string]json.RawMessage
		var entries []json.RawMessage
		if err := json.Unmarshal(x.Body, &in); err != nil {
			return nil, fmt.Errorf("request of %s: %w", e.Op, err)
		}
		if err := json.Unmarshal(in[e.Request], &entries); err != nil {
			return nil, fmt.Errorf("request member %s of %s: %w", e.Request, e.Op, err)
		}
		kept := []json.RawMessage{}
		for i, r := range entries {
			if !drop[i] {
				kept = append(kept, r)
			}
		}
		in[e.Request], _ = json.Marshal(kept)
		fwd, _ := json.Marshal(in)
		resp, err := x.Forward(ctx, fwd)
		if err != nil || resp.Status != 200 {
			return resp, err
		}
		var out map[string]json.RawMessage
		var got []json.RawMessage
		if err := json.Unmarshal(resp.Body, &out); err != nil {
			return nil, fmt.Errorf("answer to %s: %w", e.Op, err)
		}
		if err := json.Unmarshal(out[e.Response], &got); err != nil || len(got) != len(kept) {
			return nil, fmt.Errorf("answer member %s of %s has not %d entries: %v", e.Response, e.Op, len(kept), err)
		}
		all := make([]json.RawMessage, 0, len(entries))
		for i := range entries {
			if drop[i] {
				all = append(all, json.RawMessage(`{"ErrorCode":"`+code+`","ErrorMessage":"refused by the test"}`))
				continue
			}
			all = append(all, got[0])
			got = got[1:]
		}
		out[e.Response], _ = json.Marshal(all)
		out[e.Count], _ = json.Marshal(len(idx))
		resp.Body, _ = json.Marshal(out)
		resp.Header.Del("Content-Length")
		return resp, nil
	}}
}

// EntriesPerCall returns how many entries each call of e.Op that fp saw carried, in order.
func EntriesPerCall(t testing.TB, fp *FaultProxy, e Entries) []int {
	t.Helper()
	var out []int
	for _, c := range fp.Calls(e.Op) {
		var req map[string]json.RawMessage
		var entries []json.RawMessage
		if err := json.Unmarshal(c.Body, &req); err != nil {
			t.Fatalf("%s request: %v", e.Op, err)
		}
		if err := json.Unmarshal(req[e.Request], &entries); err != nil {
			t.Fatalf("%s request member %s: %v", e.Op, e.Request, err)
		}
		out = append(out, len(entries))
	}
	return out
}
