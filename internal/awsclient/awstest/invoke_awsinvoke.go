package awstest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/sandbox"
)

// InvokeOp is the Op prefix of Lambda's Invoke calls ("POST /2015-03-31/functions/NAME/invocations"),
// for Rule.Op and FaultProxy.Calls filters.
const InvokeOp = "POST /2015-03-31/functions/"

// FunctionResult is what a test's function answers to one invocation.
type FunctionResult struct {
	// Payload is the function's response (synchronous invocations only).
	Payload []byte
	// FunctionError, when not "", makes the invocation a function error: Lambda's X-Amz-Function-Error
	// header ("Unhandled" or "Handled") with Payload as the error document; when Payload is nil it is
	// {"errorType": "Error", "errorMessage": FunctionError}.
	FunctionError string
}

// Invocation is one Invoke call a Lambda rule answered.
type Invocation struct {
	// Function is the FunctionName of the call (a name or an ARN, with its qualifier), Type its
	// X-Amz-Invocation-Type ("RequestResponse" when the header is absent, "Event", "DryRun").
	Function, Type string
	Payload        []byte
}

// Lambda returns a Rule that answers Lambda's Invoke (REST-JSON: POST
// /2015-03-31/functions/{FunctionName}/invocations) as the Lambda service does, with fn as every
// function's code, so that a test needs neither Docker nor a Lambda runtime: a synchronous invocation
// answers 200 with fn's payload (and X-Amz-Function-Error on a function error), an Event invocation 202
// with no body once fn has seen the event, a DryRun 204. Combine it with other rules on the same
// FaultProxy (Fail(InvokeOp, n, Throttle("TooManyRequestsException")) added first throttles the next n
// calls) and read the calls back with Calls("") or with Invocations.
func Lambda(fn func(inv Invocation) FunctionResult) Rule {
	return Rule{Op: InvokeOp, Handle: func(_ context.Context, x *Exchange) (*Response, error) {
		inv, err := ParseInvocation(x.Call)
		if err != nil {
			return nil, err
		}
		h := http.Header{"Content-Type": {"application/json"}, "X-Amz-Executed-Version": {"$LATEST"}}
		switch inv.Type {
		case "DryRun":
			return &Response{Status: http.StatusNoContent, Header: h}, nil
		case "Event":
			fn(inv)
			return &Response{Status: http.StatusAccepted, Header: h}, nil
		}
		res := fn(inv)
		if res.FunctionError != "" {
			h.Set("X-Amz-Function-Error", "Unhandled")
			if res.Payload == nil {
				res.Payload, _ = json.Marshal(map[string]string{"errorType": "Error", "errorMessage": res.FunctionError})
			} else {
				h.Set("X-Amz-Function-Error", res.FunctionError)
			}
		}
		return &Response{Status: http.StatusOK, Header: h, Body: res.Payload}, nil
	}}
}

// ParseInvocation reads an Invoke call.
func ParseInvocation(c Call) (Invocation, error) {
	rest, ok := strings.CutPrefix(c.Op, InvokeOp)
	name, ok2 := strings.CutSuffix(rest, "/invocations")
	if !ok || !ok2 || name == "" {
		return Invocation{}, fmt.Errorf("%s is not a Lambda Invoke call", c.Op)
	}
	if unescaped, err := url.PathUnescape(name); err == nil {
		name = unescaped
	}
	typ := c.Header.Get("X-Amz-Invocation-Type")
	if typ == "" {
		typ = "RequestResponse"
	}
	return Invocation{Function: name, Type: typ, Payload: c.Body}, nil
}

// Invocations returns the Invoke calls the proxy saw, in order, answered or not.
func (p *FaultProxy) Invocations() []Invocation {
	var out []Invocation
	for _, c := range p.Calls("") {
		if inv, err := ParseInvocation(c); err == nil {
			out = append(out, inv)
		}
	}
	return out
}

// SyncExecutions returns a Rule that answers Step Functions' StartSyncExecution, which moto's server
// lacks, with moto's own execution engine (its "execute_state_machine" mode): it starts the execution
// with StartExecution on the emulator, waits until DescribeExecution says it ended, and answers what
// StartSyncExecution answers (status, output, error, cause). Like Step Functions, it refuses a STANDARD
// state machine with StateMachineTypeNotSupported.
func SyncExecutions() Rule {
	return Rule{Op: "StartSyncExecution", Handle: func(ctx context.Context, x *Exchange) (*Response, error) {
		var in struct { // encoding/json matches the wire's lower-case member names
			StateMachineArn, Name, Input string
		}
		if err := json.Unmarshal(x.Body, &in); err != nil {
			return nil, fmt.Errorf("decoding StartSyncExecution: %w", err)
		}
		base := in.StateMachineArn
		if parts := strings.Split(base, ":"); len(parts) > 7 {
			base = strings.Join(parts[:7], ":")
		}
		var sm struct{ Type string }
		if resp, err := x.call(ctx, "DescribeStateMachine", map[string]string{"stateMachineArn": base}, &sm); err != nil || resp != nil {
			return resp, err
		}
		if sm.Type == "STANDARD" {
			return errorResponse(APIError{Code: "StateMachineTypeNotSupported", Message: "This operation is not supported by this type of state machine"}), nil
		}
		start := map[string]string{"stateMachineArn": in.StateMachineArn, "input": in.Input}
		if in.Name != "" {
			start["name"] = in.Name
		}
		var started struct{ ExecutionArn string }
		if resp, err := x.call(ctx, "StartExecution", start, &started); err != nil || resp != nil {
			return resp, err
		}
		var ex map[string]any
		for {
			if resp, err := x.call(ctx, "DescribeExecution", map[string]string{"executionArn": started.ExecutionArn}, &ex); err != nil || resp != nil {
				return resp, err
			}
			if ex["status"] != "RUNNING" {
				break
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
		out := map[string]any{"billingDetails": map[string]any{"billedDurationInMilliseconds": 100, "billedMemoryUsedInMB": 64}}
		for _, k := range []string{"executionArn", "stateMachineArn", "name", "startDate", "stopDate", "status", "error", "cause", "input", "inputDetails", "output", "outputDetails"} {
			if v, ok := ex[k]; ok {
				out[k] = v
			}
		}
		if out["stateMachineArn"] == nil {
			out["stateMachineArn"] = in.StateMachineArn
		}
		body, _ := json.Marshal(out)
		return &Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}}, Body: body}, nil
	}}
}

// call makes the JSON-protocol call op on the emulator with the exchange's credentials and decodes
// its answer into out. An error answer of the emulator is returned as the response to give the client.
func (x *Exchange) call(ctx context.Context, op string, in any, out any) (*Response, error) {
	body, _ := json.Marshal(in)
	u := *x.p.upstream
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("building %s: %w", op, err)
	}
	target := x.Header.Get("X-Amz-Target")
	req.Header.Set("X-Amz-Target", target[:strings.LastIndex(target, ".")+1]+op)
	req.Header.Set("Content-Type", x.Header.Get("Content-Type"))
	req.Header.Set("Authorization", x.Header.Get("Authorization")) // the emulator's account comes from the key
	resp, err := x.p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s on the emulator: %w", op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading %s from the emulator: %w", op, err)
	}
	if resp.StatusCode != http.StatusOK {
		return &Response{Status: resp.StatusCode, Header: resp.Header.Clone(), Body: data}, nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return nil, fmt.Errorf("decoding %s from the emulator: %w", op, err)
	}
	return nil, nil
}

// errorResponse is e as a JSON-protocol service answers it.
func errorResponse(e APIError) *Response {
	body, _ := json.Marshal(map[string]string{"__type": e.Code, "message": e.Message})
	return &Response{Status: http.StatusBadRequest, Header: http.Header{
		"Content-Type": {"application/x-amz-json-1.0"}, "X-Amzn-Errortype": {e.Code}}, Body: body}
}

// MotoConfig sets parts of moto's server configuration (its /moto-api/config endpoint), such as
// {"lambda": {"use_docker": false}} (Lambda functions answer without Docker: they echo their event, or
// return what /moto-api/static/lambda-simple/response queued) or {"stepfunctions":
// {"execute_state_machine": true}} (executions run their definition). A part given replaces that part.
func MotoConfig(t testing.TB, endpoint string, config map[string]any) {
	t.Helper()
	body, _ := json.Marshal(config)
	resp, err := http.Post(strings.TrimSuffix(endpoint, "/")+"/moto-api/config", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("awstest: configuring moto: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("awstest: configuring moto: %s", resp.Status)
	}
}

// ProviderAt is Provider with every call sent to endpoint (a FaultProxy in front of the emulator; ""
// is the emulator itself).
func ProviderAt(t testing.TB, endpoint string) *awsclient.Provider {
	t.Helper()
	o := Options(t)
	if endpoint != "" {
		o.Endpoint = endpoint
	}
	return awsclient.New(o)
}

// AWSAt returns the plugin.Env.AWS of a pipe without a role whose calls go to endpoint, through
// awsclient as in a pipe (no SDK retries).
func AWSAt(t testing.TB, endpoint string) plugin.AWSConfig {
	t.Helper()
	return ProviderAt(t, endpoint).For("test", "", sandbox.Unrestricted())
}
