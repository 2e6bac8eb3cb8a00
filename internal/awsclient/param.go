package awsclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/transform"
)

// Errors of Param.Value, matched with errors.Is; both are returned marked plugin.Permanent, since the
// same event gives the same answer on every retry.
var (
	// ErrParamMissing: the parameter's path is not in the event.
	ErrParamMissing = errors.New("the JSON path is not in the event")
	// ErrParamNotScalar: the path leads to null, a boolean, an object or an array, not to a string or
	// a number.
	ErrParamNotScalar = errors.New("the JSON path does not lead to a string or number")
)

// Param is a target or enrichment parameter that Pipes lets be dynamic: a static string, or a JSON
// path ("$.value.orderId") evaluated per event on the untransformed event (pipes-spec §7.1), with the
// implicit decoding of Kafka keys and values. The zero Param is an absent parameter.
type Param struct {
	field  string // the absolute field name, for errors
	static string
	path   *transform.Path
}

// ParseParam reads a parameter's value: one starting with "$." is a JSON path of the Pipes grammar
// (a malformed one is a FieldError on field, the absolute dotted member name such as
// "TargetParameters.SqsQueueParameters.MessageGroupId"); any other value is static; "" is absent
// (IsZero). It does no I/O.
func ParseParam(field, value string) (Param, []plugin.FieldError) {
	if !strings.HasPrefix(value, "$.") {
		return Param{field: field, static: value}, nil
	}
	p, err := transform.ParsePath(value)
	if err != nil {
		return Param{}, []plugin.FieldError{{Field: field, Message: fmt.Sprintf("is not a valid JSON path: %v", err)}}
	}
	return Param{field: field, path: p}, nil
}

// IsZero reports whether the parameter is absent.
func (p Param) IsZero() bool { return p.path == nil && p.static == "" }

// IsPath reports whether the parameter is a JSON path.
func (p Param) IsPath() bool { return p.path != nil }

// String returns the parameter as written: its static value or its path.
func (p Param) String() string {
	if p.path != nil {
		return p.path.String()
	}
	return p.static
}

// Value returns the parameter for one event: the static value, or the path's value read from input
// (the untransformed event). It is meant for a key that routes the record (Kinesis PartitionKey, SQS
// MessageGroupId): a string gives its text, a number its JSON text. A path that is missing, or leads to
// null, a boolean, an object or an array, is a permanent error naming the field and the path
// (ErrParamMissing, ErrParamNotScalar), never quoting the event: a record must not be routed by
// "true" or by "{...}" because its event lacks the key (README, "Targets": the rule every target
// follows; optional members use Dynamic, which leaves them out instead).
func (p Param) Value(input json.RawMessage) (string, error) {
	if p.path == nil {
		return p.static, nil
	}
	raw, found, err := p.path.Lookup(input)
	if err != nil {
		return "", plugin.Permanent(fmt.Errorf("%s: reading %s: %w", p.field, p.path, err))
	}
	if !found {
		return "", plugin.Permanent(fmt.Errorf("%s: %s: %w", p.field, p.path, ErrParamMissing))
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", plugin.Permanent(fmt.Errorf("%s: reading %s: %w", p.field, p.path, err))
		}
		return s, nil
	case '{', '[', 'n', 't', 'f':
		return "", plugin.Permanent(fmt.Errorf("%s: %s: %w", p.field, p.path, ErrParamNotScalar))
	}
	return string(raw), nil
}
