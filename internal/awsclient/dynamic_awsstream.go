package awsclient

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/transform"
)

// IsDynamic reports whether a parameter value is meant as a JSON path read from each event: Pipes takes
// a value that is, as a whole, a path ("$.value.id"). Anything starting with "$." (or "$" alone) counts,
// so that a malformed path is reported at validation instead of being sent literally.
func IsDynamic(s string) bool { return s == "$" || strings.HasPrefix(s, "$.") }

// Dynamic is a target parameter object whose string values may be JSON paths (Pipes' dynamic
// parameters: "all string, non-enum fields"). It is kept as decoded JSON; Resolve replaces each path by
// its value in one event. Enum members need no exclusion here: a plugin's Validate checks them against
// their enum first, so a path there is refused before Dynamic is built.
type Dynamic struct {
	raw   json.RawMessage // the object as given ({} when absent)
	doc   any
	paths map[string]*transform.Path
}

// ParseDynamic decodes the pipe's TargetParameters member and compiles the paths in it. A malformed
// path is a FieldError naming the member ("TargetParameters.EcsTaskParameters.Overrides.
// ContainerOverrides[0].Command[1]"). An absent member is an empty object.
func ParseDynamic(c plugin.Check, member string) (*Dynamic, []plugin.FieldError) {
	field := "TargetParameters." + member
	d := &Dynamic{raw: json.RawMessage(`{}`), paths: map[string]*transform.Path{}}
	raw, err := c.Member(member)
	if err != nil {
		return nil, []plugin.FieldError{{Field: "TargetParameters", Message: "must be a JSON object: " + err.Error()}}
	}
	if raw == nil {
		return d, nil
	}
	d.raw = raw
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&d.doc); err != nil {
		return nil, []plugin.FieldError{{Field: field, Message: "is not valid JSON: " + err.Error()}}
	}
	var errs []plugin.FieldError
	walkStrings(d.doc, field, func(name, s string) {
		if !IsDynamic(s) {
			return
		}
		if _, ok := d.paths[s]; ok {
			return
		}
		p, err := transform.ParsePath(s)
		if err != nil {
			errs = append(errs, plugin.FieldError{Field: name, Message: "is not a valid JSON path: " + err.Error()})
			return
		}
		d.paths[s] = p
	})
	return d, errs
}

// Decode decodes the object for event i of b into v: as given when it holds no path, else resolved
// against b.Inputs[i], the untransformed event. Errors are permanent: the same event fails the same way.
func (d *Dynamic) Decode(b plugin.Batch, i int, v any) error {
	raw := d.raw
	if !d.Static() {
		if i >= len(b.Inputs) {
			return plugin.Permanent(fmt.Errorf("event %d: no untransformed event to read dynamic parameters from", i))
		}
		var err error
		if raw, err = d.Resolve(b.Inputs[i]); err != nil {
			return plugin.Permanent(fmt.Errorf("event %d: %w", i, err))
		}
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return plugin.Permanent(fmt.Errorf("event %d: decoding parameters: %w", i, err))
	}
	return nil
}

// Static reports whether the object holds no path, so that one value serves every event.
func (d *Dynamic) Static() bool { return len(d.paths) == 0 }

// Resolve returns the object as JSON with every path replaced by the text of its value in input (the
// untransformed event), as a template made of only that placeholder renders it. A path that finds
// nothing (missing from the event, or JSON null) leaves its member out as if it had not been given: an
// object member is dropped, an array element removed. A required member then fails at the service,
// naming it, permanently. This is the README's rule for optional members; keys that route a record use
// Param, which fails the event instead.
func (d *Dynamic) Resolve(input []byte) (json.RawMessage, error) {
	if d.doc == nil {
		return nil, nil
	}
	var err error
	out := mapStrings(d.doc, func(s string) any {
		p, ok := d.paths[s]
		if !ok || err != nil {
			return s
		}
		raw, found, lerr := p.Lookup(input)
		if lerr == nil && found && string(raw) != "null" {
			var v string
			v, found, lerr = p.LookupText(input)
			if lerr == nil && found {
				return v
			}
		}
		if lerr != nil {
			err = fmt.Errorf("evaluating %s: %w", s, lerr)
		}
		return omitted
	})
	if err != nil {
		return nil, err
	}
	b, merr := json.Marshal(out)
	if merr != nil {
		return nil, fmt.Errorf("encoding resolved parameters: %w", merr)
	}
	return b, nil
}

// omitted is what a path that finds nothing resolves to: mapStrings leaves its member out.
var omitted = new(struct{})

// walkStrings calls f with the absolute name and value of every string in v (object keys in sorted
// order, so that errors come out in a stable order).
func walkStrings(v any, name string, f func(name, s string)) {
	switch t := v.(type) {
	case string:
		f(name, t)
	case []any:
		for i, e := range t {
			walkStrings(e, name+"["+strconv.Itoa(i)+"]", f)
		}
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			walkStrings(t[k], name+"."+k, f)
		}
	}
}

// mapStrings returns a copy of v with every string value (not object keys) replaced by f's result; an
// element or member for which f returns omitted is left out.
func mapStrings(v any, f func(string) any) any {
	switch t := v.(type) {
	case string:
		return f(t)
	case []any:
		out := make([]any, 0, len(t))
		for _, e := range t {
			if m := mapStrings(e, f); m != omitted {
				out = append(out, m)
			}
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			if m := mapStrings(e, f); m != omitted {
				out[k] = m
			}
		}
		return out
	}
	return v
}
