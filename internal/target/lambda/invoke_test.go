package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/retry"
)

// The registry entries under test.
var targetSpec, enricherSpec = Spec.Specs()

const fnARN = "arn:aws:lambda:us-east-1:123456789012:function:orders"

// functions starts a FaultProxy in front of moto whose Lambda rule runs fn for every invocation, and
// returns it with the plugin.Env pointing at it.
func functions(t *testing.T, fn func(awstest.Invocation) awstest.FunctionResult) (*awstest.FaultProxy, plugin.Env) {
	t.Helper()
	p := awstest.NewFaultProxy(t, kafkatest.AWSEndpoint(t))
	p.Add(awstest.Lambda(fn))
	return p, plugin.Env{PipeName: "lambda-test", AWS: awstest.AWSAt(t, p.URL)}
}

func echo(inv awstest.Invocation) awstest.FunctionResult {
	return awstest.FunctionResult{Payload: inv.Payload}
}

func raws(ss ...string) []json.RawMessage {
	out := make([]json.RawMessage, len(ss))
	for i, s := range ss {
		out[i] = json.RawMessage(s)
	}
	return out
}

func newTestTarget(t *testing.T, env plugin.Env, endpoint, params string) plugin.Target {
	t.Helper()
	c := plugin.Check{Endpoint: endpoint}
	if params != "" {
		c.Params = json.RawMessage(params)
	}
	tg, err := targetSpec.New(context.Background(), env, c)
	if err != nil {
		t.Fatalf("New(%s): %v", endpoint, err)
	}
	return tg
}

// TestDeliverBatchArray checks the one Invoke per batch, its JSON array (a payload that is not JSON
// becomes a JSON string) and the invocation type of both InvocationTypes.
func TestDeliverBatchArray(t *testing.T) {
	for _, tc := range []struct {
		params, wantType string
	}{
		{``, "RequestResponse"},
		{`{"LambdaFunctionParameters":{"InvocationType":"REQUEST_RESPONSE"}}`, "RequestResponse"},
		{`{"LambdaFunctionParameters":{"InvocationType":"FIRE_AND_FORGET"}}`, "Event"},
	} {
		t.Run(tc.wantType+tc.params, func(t *testing.T) {
			p, env := functions(t, echo)
			tg := newTestTarget(t, env, fnARN+":live", tc.params)
			err := tg.Deliver(context.Background(), plugin.Batch{Payloads: raws(`{"id":1}`, `plain "text"`, `[2]`, `"s"`)})
			if err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			want := []awstest.Invocation{{Function: fnARN + ":live", Type: tc.wantType, Payload: []byte(`[{"id":1},"plain \"text\"",[2],"s"]`)}}
			if diff := cmp.Diff(want, p.Invocations()); diff != "" {
				t.Errorf("invocations (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDeliverFunctionError checks that a function error fails the delivery as a retryable error
// naming the function and its error, and that the invocation's own errors are classified.
func TestDeliverFunctionError(t *testing.T) {
	_, env := functions(t, func(awstest.Invocation) awstest.FunctionResult {
		return awstest.FunctionResult{FunctionError: "Unhandled",
			Payload: []byte(`{"errorType":"ValueError","errorMessage":"order 7 has no customer"}`)}
	})
	err := newTestTarget(t, env, fnARN, ``).Deliver(context.Background(), plugin.Batch{Payloads: raws(`{}`)})
	var re *awsclient.ResourceError
	if !errors.As(err, &re) {
		t.Fatalf("Deliver = %v, want a ResourceError", err)
	}
	if want := "lambda function " + fnARN + " failed (Unhandled): ValueError: order 7 has no customer"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	if c, _ := retry.Classify(err); c != retry.Retryable {
		t.Errorf("a function error is %v, want retryable", c)
	}
}

func TestDeliverInvokeErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  awstest.APIError
		want retry.Class
	}{
		{"throttled", awstest.Throttle("TooManyRequestsException"), retry.Throttled},
		{"no such function", awstest.APIError{Status: http.StatusNotFound, Code: "ResourceNotFoundException", Message: "Function not found"}, retry.Permanent},
		{"service fault", awstest.APIError{Status: http.StatusInternalServerError, Code: "ServiceException", Message: "boom", Receiver: true}, retry.Retryable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := awstest.NewFaultProxy(t, kafkatest.AWSEndpoint(t))
			p.Fail(awstest.InvokeOp, 1, tc.err)
			p.Add(awstest.Lambda(echo))
			tg := newTestTarget(t, plugin.Env{AWS: awstest.AWSAt(t, p.URL)}, fnARN, ``)
			err := tg.Deliver(context.Background(), plugin.Batch{Payloads: raws(`{}`)})
			if c, _ := retry.Classify(err); err == nil || c != tc.want {
				t.Fatalf("Deliver = %v (%v), want a %v error", err, c, tc.want)
			}
			if !strings.Contains(err.Error(), tc.err.Code) || !strings.Contains(err.Error(), fnARN) {
				t.Errorf("error %q does not name the function and %s", err, tc.err.Code)
			}
			if err := tg.Deliver(context.Background(), plugin.Batch{Payloads: raws(`{}`)}); err != nil {
				t.Errorf("Deliver after the fault = %v", err)
			}
		})
	}
}

// TestDeliverTooLarge checks that a batch over an invocation's payload limit fails permanently before
// any call.
func TestDeliverTooLarge(t *testing.T) {
	p, env := functions(t, echo)
	big := json.RawMessage(`"` + strings.Repeat("x", asyncPayloadBytes) + `"`)
	tg := newTestTarget(t, env, fnARN, `{"LambdaFunctionParameters":{"InvocationType":"FIRE_AND_FORGET"}}`)
	if got := tg.(plugin.PayloadLimiter).MaxPayloadBytes(); got != asyncPayloadBytes {
		t.Errorf("MaxPayloadBytes() = %d under FIRE_AND_FORGET, want %d", got, asyncPayloadBytes)
	}
	if err := tg.Deliver(context.Background(), plugin.Batch{Payloads: []json.RawMessage{big}}); !plugin.IsPermanent(err) {
		t.Errorf("Deliver(%d bytes) = %v, want a permanent error", len(big), err)
	}
	if n := len(p.Invocations()); n != 0 {
		t.Errorf("%d invocations, want none", n)
	}
}

// TestEnrichCardinality checks how the function's response becomes events (pipes-spec §6).
func TestEnrichCardinality(t *testing.T) {
	for _, tc := range []struct {
		response string
		want     []json.RawMessage
	}{
		{`[{"a":1},{"a":2},{"a":3}]`, raws(`{"a":1}`, `{"a":2}`, `{"a":3}`)},
		{`{"total":3}`, raws(`{"total":3}`)},
		{`[{}]`, raws(`{}`)},
		{`"done"`, raws(`"done"`)},
		{`[]`, nil},
		{`{}`, nil},
		{`""`, nil},
		{``, nil},
	} {
		t.Run(tc.response, func(t *testing.T) {
			p, env := functions(t, func(awstest.Invocation) awstest.FunctionResult {
				return awstest.FunctionResult{Payload: []byte(tc.response)}
			})
			e, err := enricherSpec.New(context.Background(), env, plugin.Check{Endpoint: fnARN})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			got, err := e.Enrich(context.Background(), plugin.Batch{Payloads: raws(`{"x":1}`, `{"x":2}`)})
			if err != nil {
				t.Fatalf("Enrich: %v", err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Enrich with response %s (-want +got):\n%s", tc.response, diff)
			}
			inv := p.Invocations()
			if len(inv) != 1 || inv[0].Type != "RequestResponse" || string(inv[0].Payload) != `[{"x":1},{"x":2}]` {
				t.Errorf("invocations = %+v, want one RequestResponse of the batch array", inv)
			}
		})
	}
}

func TestEnrichFunctionError(t *testing.T) {
	_, env := functions(t, func(awstest.Invocation) awstest.FunctionResult {
		return awstest.FunctionResult{FunctionError: "lookup failed"}
	})
	e, err := enricherSpec.New(context.Background(), env, plugin.Check{Endpoint: fnARN})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	_, err = e.Enrich(context.Background(), plugin.Batch{Payloads: raws(`{}`)})
	var re *awsclient.ResourceError
	if !errors.As(err, &re) || re.Message != "lookup failed" || re.Status != "Unhandled" || plugin.IsPermanent(err) {
		t.Fatalf("Enrich = %v, want a retryable ResourceError with the function's message", err)
	}
}
