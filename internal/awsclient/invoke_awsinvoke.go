package awsclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/internal/plugin"
)

// CheckARN parses value, the ARN in field ("Target", "Enrichment"), as one of service's resources in a
// named region and account (the form of every invoked resource: a function, a state machine). It
// returns the parsed ARN and every problem found, each naming field; the resource part is left to the
// caller.
func CheckARN(field, value, service string) (ARN, []plugin.FieldError) {
	a, err := ParseARN(value)
	if err != nil {
		return ARN{}, []plugin.FieldError{{Field: field, Message: err.Error()}}
	}
	var errs []plugin.FieldError
	if a.Service != service {
		errs = append(errs, plugin.FieldError{Field: field, Message: fmt.Sprintf("ARN service %q is not %q", a.Service, service)})
	}
	if a.Region == "" {
		errs = append(errs, plugin.FieldError{Field: field, Message: "ARN region is missing: the " + service + " call is made in it"})
	}
	if a.Account == "" {
		errs = append(errs, plugin.FieldError{Field: field, Message: "ARN account is missing"})
	}
	return a, errs
}

// JSONArray encodes a batch as the one JSON array that Lambda functions and Step Functions state
// machines receive, as a target or an enrichment (pipes-spec §6, §7.2): the payloads in order, an
// array even for one event. A payload that is not JSON (an input template rendering plain text) is
// sent as a JSON string, so the array stays JSON. ownJSON (plugin.Batch.OwnJSON) vouches that every
// payload is valid JSON already, which skips the check.
func JSONArray(payloads []json.RawMessage, ownJSON bool) []byte {
	n := 2 + len(payloads)
	for _, p := range payloads {
		n += len(p)
	}
	out := make([]byte, 0, n)
	out = append(out, '[')
	for i, p := range payloads {
		if i > 0 {
			out = append(out, ',')
		}
		if ownJSON || (len(p) > 0 && json.Valid(p)) {
			out = append(out, p...)
			continue
		}
		s, _ := json.Marshal(string(p)) // a string always encodes; invalid UTF-8 becomes U+FFFD
		out = append(out, s...)
	}
	return append(out, ']')
}

// Invocation types of LambdaFunctionParameters.InvocationType and
// StepFunctionStateMachineParameters.InvocationType.
const (
	RequestResponse = "REQUEST_RESPONSE"
	FireAndForget   = "FIRE_AND_FORGET"
)

// InvocationType decodes the member of c.Params that holds only an InvocationType
// (LambdaFunctionParameters, StepFunctionStateMachineParameters), strictly: an unknown field, a value
// that is not a string or not one of the two types is a FieldError under params.member. Absent, the
// member or its InvocationType means RequestResponse, Pipes' default.
func InvocationType(c plugin.Check, params, member string) (string, []plugin.FieldError) {
	field := params + "." + member
	raw, err := c.Member(member)
	if err != nil {
		return RequestResponse, []plugin.FieldError{{Field: params, Message: err.Error()}}
	}
	if raw == nil {
		return RequestResponse, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return RequestResponse, []plugin.FieldError{{Field: field, Message: "must be an object with InvocationType"}}
	}
	var errs []plugin.FieldError
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k != "InvocationType" {
			errs = append(errs, plugin.FieldError{Field: field + "." + k, Message: "unknown field; " + member + " has only InvocationType"})
		}
	}
	typ := RequestResponse
	if v, ok := m["InvocationType"]; ok && string(v) != "null" {
		if err := json.Unmarshal(v, &typ); err != nil {
			typ = ""
		}
		if typ != RequestResponse && typ != FireAndForget {
			errs = append(errs, plugin.FieldError{Field: field + ".InvocationType",
				Message: fmt.Sprintf("must be %s or %s, not %s", RequestResponse, FireAndForget, v)})
			typ = RequestResponse
		}
	}
	return typ, errs
}

// FieldErrorsError joins problems Validate would report into one error, for a constructor given a
// definition that was not validated: "Target: ...; TargetParameters.X: ...".
func FieldErrorsError(errs []plugin.FieldError) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Field + ": " + e.Message
	}
	return errors.New("invalid definition: " + strings.Join(msgs, "; "))
}

// CheckResponse refuses the response of the enrichment resource (a function, a state machine) when it
// is over the 6 MB Pipes accepts, permanently: the same batch would get the same response.
func CheckResponse(resource string, resp []byte) error {
	if len(resp) > plugin.MaxPayloadBytes {
		return plugin.Permanent(fmt.Errorf("enrichment %s: the response is %d bytes, over the %d bytes Pipes accepts",
			resource, len(resp), plugin.MaxPayloadBytes))
	}
	return nil
}
