package awstest

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The batch APIs of the messaging targets, for Refuse (positional results) and EntriesPerCall.
var (
	EventBridgePutEvents = Entries{Op: "PutEvents", Request: "Entries", Count: "FailedEntryCount", Response: "Entries"}
	SQSSendMessageBatch  = Entries{Op: "SendMessageBatch", Request: "Entries"}
	LogsPutLogEvents     = Entries{Op: "PutLogEvents", Request: "logEvents"}
)

// FailEntries returns a Rule.Handle that makes a batch call whose results are matched by entry Id fail
// partially, the way the service reports refused entries, which moto never does: the call's entries from
// index from on (within the call) are refused with code and SenderFault sender, the ones before are
// forwarded to the emulator and delivered. It knows SQS SendMessageBatch (JSON) and SNS PublishBatch
// (query protocol); Refuse does the APIs with positional results (EventBridge PutEvents, Kinesis).
func FailEntries(from int, code string, sender bool) func(context.Context, *Exchange) (*Response, error) {
	return func(ctx context.Context, x *Exchange) (*Response, error) {
		switch x.Op {
		case "SendMessageBatch":
			return failSendMessageBatch(ctx, x, from, code, sender)
		case "PublishBatch":
			return failPublishBatch(ctx, x, from, code, sender)
		}
		return nil, fmt.Errorf("FailEntries does not know %s", x.Op)
	}
}

func failSendMessageBatch(ctx context.Context, x *Exchange, from int, code string, sender bool) (*Response, error) {
	var req map[string]any
	if err := json.Unmarshal(x.Body, &req); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", x.Op, err)
	}
	entries, _ := req["Entries"].([]any)
	from = min(from, len(entries))
	out := map[string]any{}
	resp := &Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {x.Header.Get("Content-Type")}}}
	if from > 0 {
		req["Entries"] = entries[:from]
		body, _ := json.Marshal(req)
		var err error
		if resp, err = x.Forward(ctx, body); err != nil || resp.Status != http.StatusOK {
			return resp, err
		}
		if err := json.Unmarshal(resp.Body, &out); err != nil {
			return nil, fmt.Errorf("decoding the emulator's %s answer: %w", x.Op, err)
		}
	}
	failed, _ := out["Failed"].([]any)
	for _, e := range entries[from:] {
		id := e.(map[string]any)["Id"]
		failed = append(failed, map[string]any{"Id": id, "Code": code, "Message": "refused by the fault proxy", "SenderFault": sender})
	}
	out["Failed"] = failed
	if out["Successful"] == nil {
		out["Successful"] = []any{}
	}
	resp.Body, _ = json.Marshal(out)
	return resp, nil
}

func failPublishBatch(ctx context.Context, x *Exchange, from int, code string, sender bool) (*Response, error) {
	form, err := url.ParseQuery(string(x.Body))
	if err != nil {
		return nil, fmt.Errorf("decoding PublishBatch: %w", err)
	}
	const prefix = "PublishBatchRequestEntries.member."
	var ids []string // by position, from 1
	for n := 1; ; n++ {
		id, ok := form[prefix+strconv.Itoa(n)+".Id"]
		if !ok {
			break
		}
		ids = append(ids, id[0])
	}
	from = min(from, len(ids))
	for k := range form {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			if n, _ := strconv.Atoi(rest[:strings.IndexByte(rest+".", '.')]); n > from {
				delete(form, k)
			}
		}
	}
	if from > 0 {
		resp, err := x.Forward(ctx, []byte(form.Encode()))
		if err != nil || resp.Status != http.StatusOK {
			return resp, err
		}
	}
	var b strings.Builder
	b.WriteString(`<PublishBatchResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishBatchResult><Successful>`)
	for i, id := range ids[:from] {
		fmt.Fprintf(&b, "<member><Id>%s</Id><MessageId>awstest-%d</MessageId></member>", html.EscapeString(id), i)
	}
	b.WriteString("</Successful><Failed>")
	for _, id := range ids[from:] {
		fmt.Fprintf(&b, "<member><Id>%s</Id><Code>%s</Code><Message>refused by the fault proxy</Message><SenderFault>%t</SenderFault></member>",
			html.EscapeString(id), html.EscapeString(code), sender)
	}
	b.WriteString("</Failed></PublishBatchResult><ResponseMetadata><RequestId>awstest</RequestId></ResponseMetadata></PublishBatchResponse>")
	return &Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"text/xml"}}, Body: []byte(b.String())}, nil
}
