package awstest

import "encoding/json"

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

// Refuse is a Hook making call number call of e.Op refuse the entries at idx as the service does: they
// are taken out of the request before it reaches the emulator (which stores the rest), and the answer
// gets an entry with code for each of them and the failed count.
func Refuse(e Entries, call int, code string, idx ...int) func(op string, n int, req []byte) Fault {
	drop := map[int]bool{}
	for _, i := range idx {
		drop[i] = true
	}
	return func(op string, n int, req []byte) Fault {
		if op != e.Op || n != call {
			return Fault{}
		}
		var in map[string]json.RawMessage
		var entries []json.RawMessage
		if json.Unmarshal(req, &in) != nil || json.Unmarshal(in[e.Request], &entries) != nil {
			return Fault{}
		}
		kept := []json.RawMessage{}
		for i, r := range entries {
			if !drop[i] {
				kept = append(kept, r)
			}
		}
		in[e.Request], _ = json.Marshal(kept)
		fwd, _ := json.Marshal(in)
		return Fault{Request: fwd, Response: func(body []byte) []byte {
			var out map[string]json.RawMessage
			var got []json.RawMessage
			if json.Unmarshal(body, &out) != nil || json.Unmarshal(out[e.Response], &got) != nil || len(got) != len(kept) {
				return body
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
			res, _ := json.Marshal(out)
			return res
		}}
	}
}

// Throttle is a Hook answering call number call of op with a JSON-protocol error of code (HTTP 400, as
// Kinesis and Firehose answer ProvisionedThroughputExceededException and ThrottlingException).
func Throttle(op string, call int, code string) func(string, int, []byte) Fault {
	return func(o string, n int, _ []byte) Fault {
		if o != op || n != call {
			return Fault{}
		}
		return Fault{Status: 400, Header: map[string][]string{"Content-Type": {"application/x-amz-json-1.1"}},
			Body: []byte(`{"__type":"` + code + `","message":"Rate exceeded"}`)}
	}
}
