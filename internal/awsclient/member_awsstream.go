package awsclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/internal/plugin"
)

// DecodeMember decodes one member of the pipe's TargetParameters into v, strictly: an unknown field or
// a value of the wrong type is a FieldError named from "TargetParameters.<member>". It reports whether
// the member was present (and not null).
func DecodeMember(c plugin.Check, member string, v any) (bool, []plugin.FieldError) {
	field := "TargetParameters." + member
	raw, err := c.Member(member)
	if err != nil {
		return false, []plugin.FieldError{{Field: "TargetParameters", Message: "must be a JSON object: " + err.Error()}}
	}
	if raw == nil {
		return false, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return true, []plugin.FieldError{decodeError(field, err)}
	}
	return true, nil
}

// decodeError names the field a JSON decoding error is about.
func decodeError(field string, err error) plugin.FieldError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			field += "." + te.Field
		}
		return plugin.FieldError{Field: field, Message: fmt.Sprintf("must be %s, not %s", jsonKind(te.Type.Kind().String()), te.Value)}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return plugin.FieldError{Field: field, Message: "has unknown member " + name}
	}
	return plugin.FieldError{Field: field, Message: err.Error()}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	case "int", "int32", "int64":
		return "an integer"
	}
	return "a " + goKind
}
