package pipe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// Decode parses a pipe definition in the CreatePipe shape, as JSON or YAML (same member names;
// YAML when the first non-blank character is not "{"). Decoding is strict and case-sensitive: every
// unknown member and every value of the wrong type is reported, by field path, in a FieldErrors.
// A document that is not JSON or YAML at all gives a plain error. Decode neither sets defaults nor
// validates: call SetDefaults, then Validate.
func Decode(data []byte) (*Definition, error) {
	var d Definition
	if err := decodeStrict(data, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// DecodeUpdate parses an UpdatePipe request body (JSON or YAML) strictly, like Decode.
func DecodeUpdate(data []byte) (*UpdateRequest, error) {
	var u UpdateRequest
	if err := decodeStrict(data, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// ErrEmpty is returned by Decode and DecodeUpdate for an empty or blank document.
var ErrEmpty = errors.New("empty pipe definition")

func decodeStrict(data []byte, v any) error {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return ErrEmpty
	}
	js := trimmed
	if trimmed[0] != '{' {
		var err error
		js, err = yaml.YAMLToJSON(trimmed)
		if err != nil {
			return fmt.Errorf("parsing YAML pipe definition: %w", err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return fmt.Errorf("parsing JSON pipe definition: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("parsing JSON pipe definition: unexpected data after the top-level object")
	}
	if _, ok := generic.(map[string]any); !ok {
		return FieldErrors{{Field: "", Message: "a pipe definition must be a JSON object"}}
	}
	var fe FieldErrors
	checkShape(reflect.TypeOf(v).Elem(), generic, "", &fe)
	if len(fe) > 0 {
		return fe.sorted()
	}
	if err := json.Unmarshal(js, v); err != nil {
		// checkShape mirrors encoding/json's rules, so this is not expected; report it anyway.
		return fmt.Errorf("decoding pipe definition: %w", err)
	}
	return nil
}

var rawMessageType = reflect.TypeOf(json.RawMessage(nil))

// checkShape walks the decoded JSON value alongside the Go type and reports unknown members (exact,
// case-sensitive match against the json tags, unlike encoding/json) and values of the wrong JSON type.
// JSON null is accepted everywhere, as encoding/json leaves the field unset.
func checkShape(t reflect.Type, v any, path string, fe *FieldErrors) {
	if v == nil {
		return
	}
	if t == rawMessageType {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			fe.add(path, "must be an object, not %s", jsonKind(v))
			return
		}
		fields := structFields(t)
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			f, ok := fields[k]
			if !ok {
				msg := "unknown field"
				for name := range fields {
					if strings.EqualFold(name, k) {
						msg = fmt.Sprintf("unknown field (member names are case-sensitive: did you mean %s?)", name)
					}
				}
				fe.add(join(path, k), "%s", msg)
				continue
			}
			checkShape(f.Type, obj[k], join(path, k), fe)
		}
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			fe.add(path, "must be an array, not %s", jsonKind(v))
			return
		}
		for i, e := range arr {
			checkShape(t.Elem(), e, fmt.Sprintf("%s[%d]", path, i), fe)
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			fe.add(path, "must be an object, not %s", jsonKind(v))
			return
		}
		for k, e := range obj {
			checkShape(t.Elem(), e, fmt.Sprintf("%s[%s]", path, k), fe)
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			fe.add(path, "must be a string, not %s", jsonKind(v))
		}
	case reflect.Int:
		n, ok := v.(json.Number)
		if !ok {
			fe.add(path, "must be an integer, not %s", jsonKind(v))
			return
		}
		if _, err := strconv.ParseInt(string(n), 10, 64); err != nil {
			fe.add(path, "must be an integer, not %s", string(n))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			fe.add(path, "must be a boolean, not %s", jsonKind(v))
		}
	}
}

func structFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f
	}
	return out
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
