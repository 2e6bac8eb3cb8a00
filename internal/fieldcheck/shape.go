package fieldcheck

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/plugin"
)

// Decode decodes the member named member of a plugin's parameters object params (plugin.Check.Params:
// the whole TargetParameters or EnrichmentParameters as JSON) into v, strictly: unknown members (matched
// case-sensitively against v's json tags) and values of the wrong JSON type are reported by their path
// under prefix ("TargetParameters" gives "TargetParameters.KafkaParameters.Key"), and the rest is decoded.
// present is false when the member is absent or null (v is then untouched).
func Decode(params json.RawMessage, prefix, member string, v any) (present bool, errs []FieldError) {
	field := prefix + "." + member
	raw, err := plugin.Check{Params: params}.Member(member)
	if err != nil {
		return false, []FieldError{plugin.Errorf(prefix, "%v", err)}
	}
	if raw == nil {
		return false, nil
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return true, []FieldError{plugin.Errorf(field, "%v", err)}
	}
	generic = Shape(reflect.TypeOf(v).Elem(), generic, field, &errs)
	pruned, err := json.Marshal(generic)
	if err == nil {
		err = json.Unmarshal(pruned, v)
	}
	if err != nil {
		errs = append(errs, plugin.Errorf(field, "%v", err))
	}
	return true, errs
}

func add(fe *[]FieldError, field, format string, args ...any) {
	*fe = append(*fe, plugin.Errorf(field, format, args...))
}

var rawMessageType = reflect.TypeOf(json.RawMessage(nil))

// Shape walks the decoded JSON value alongside the Go type and reports unknown members (exact,
// case-sensitive match against the json tags, unlike encoding/json) and values of the wrong JSON type.
// It returns v without what it reported: unknown members and wrongly typed members are removed, and a
// wrongly typed array element becomes null (so that the indexes of the others stay as written), which
// encoding/json can then decode without error. JSON null is accepted everywhere, as encoding/json
// leaves the field unset.
func Shape(t reflect.Type, v any, path string, fe *[]FieldError) any {
	if v == nil || t == rawMessageType {
		return v
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			add(fe, path, "must be an object, not %s", jsonKind(v))
			return nil
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
				add(fe, join(path, k), "%s", msg)
				delete(obj, k)
				continue
			}
			keep(obj, k, Shape(f.Type, obj[k], join(path, k), fe))
		}
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			add(fe, path, "must be an array, not %s", jsonKind(v))
			return nil
		}
		for i, e := range arr {
			arr[i] = Shape(t.Elem(), e, fmt.Sprintf("%s[%d]", path, i), fe)
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			add(fe, path, "must be an object, not %s", jsonKind(v))
			return nil
		}
		for k, e := range obj {
			keep(obj, k, Shape(t.Elem(), e, fmt.Sprintf("%s[%s]", path, k), fe))
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			add(fe, path, "must be a string, not %s", jsonKind(v))
			return nil
		}
	case reflect.Int:
		n, ok := v.(json.Number)
		if !ok {
			add(fe, path, "must be an integer, not %s", jsonKind(v))
			return nil
		}
		if _, err := strconv.ParseInt(string(n), 10, 64); err != nil {
			add(fe, path, "must be an integer, not %s", string(n))
			return nil
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			add(fe, path, "must be a boolean, not %s", jsonKind(v))
			return nil
		}
	}
	return v
}

// keep stores the checked member back, or removes it when Shape rejected it (a member given as
// null stays null, which encoding/json treats as absent).
func keep(obj map[string]any, k string, v any) {
	if v == nil && obj[k] != nil {
		delete(obj, k)
		return
	}
	obj[k] = v
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
