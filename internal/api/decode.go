package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
)

// Request decoding. Everything a client sends is checked here, before anything is stored or started:
// bodies must be one JSON object (the definition decoder also reads YAML, which the API does not
// accept), unknown members and wrong types are reported by field, and path and query values get the
// model's constraints. Every failure is a ValidationException.

var reName = regexp.MustCompile(`^[\.\-_A-Za-z0-9]+$`)

// validName reports whether s may name a pipe: the Pipes pattern, except "." and "..". Those match the
// pattern, but a pipe of that name cannot be addressed: the SDKs and the AWS CLI put the name into the
// path unescaped (dots need no escaping), giving /v1/pipes/.. , which HTTP clients, proxies and routers
// resolve as a dot segment ("the parent"), so the request reaches another path or a redirect, never the
// pipe. Its ARN (pipe/..) has the same problem.
func validName(s string) bool {
	return len(s) >= 1 && len(s) <= 64 && s != "." && s != ".." && reName.MatchString(s)
}

func checkName(name string) *Error {
	if validName(name) {
		return nil
	}
	if name == "." || name == ".." {
		return validationError("1 validation error detected: Value at 'name' failed to satisfy constraint: "+
			"a pipe may not be named \""+name+"\" (a dot segment in the request path cannot address a pipe).",
			FieldError{Name: "Name", Message: "must not be \".\" or \"..\""})
	}
	return validationError("1 validation error detected: Value at 'name' failed to satisfy constraint: "+
		"Member must have length between 1 and 64 and match pattern [\\.\\-_A-Za-z0-9]+.",
		FieldError{Name: "Name", Message: "must be 1 to 64 characters of [.-_A-Za-z0-9]"})
}

// fromFieldErrors turns the definition package's per-field problems into a ValidationException.
func fromFieldErrors(fe pipe.FieldErrors) *Error {
	fields := make([]FieldError, len(fe))
	for i, f := range fe {
		fields[i] = FieldError{Name: f.Field, Message: f.Message}
	}
	n := len(fe)
	plural := "s"
	if n == 1 {
		plural = ""
	}
	return validationError(fmt.Sprintf("%d validation error%s detected: %s", n, plural, fe.Error()), fields...)
}

// fromDecodeError classifies an error of pipe.Decode/DecodeUpdate.
func fromDecodeError(err error) *Error {
	var fe pipe.FieldErrors
	if errors.As(err, &fe) {
		return fromFieldErrors(fe)
	}
	return validationError("Malformed request body: " + err.Error())
}

// requireObject checks that body is (after whitespace) a JSON object, as every Pipes request body is.
func requireObject(body []byte) *Error {
	t := bytes.TrimSpace(body)
	if len(t) == 0 || t[0] != '{' {
		return validationError("Malformed request body: the body must be a JSON object.")
	}
	if !utf8.Valid(t) {
		return validationError("Malformed request body: the body is not valid UTF-8.")
	}
	return nil
}

// decodeCreate decodes a CreatePipe body for the pipe named in the path and returns the definition
// with defaults set and validated.
func decodeCreate(name string, body []byte, reg *plugin.Registry) (*pipe.Definition, *Error) {
	if e := checkName(name); e != nil {
		return nil, e
	}
	if e := requireObject(body); e != nil {
		return nil, e
	}
	def, err := pipe.Load(body, reg, func(def *pipe.Definition) error {
		if def.Name != "" && def.Name != name {
			return validationError("The Name in the body differs from the Name in the path.",
				FieldError{Name: "Name", Message: "differs from the pipe name in the path (" + name + ")"})
		}
		def.Name = name
		return nil
	})
	var e *Error
	if errors.As(err, &e) {
		return nil, e
	}
	if _, e := splitDecodeError(err); e != nil {
		return nil, e
	}
	var fe pipe.FieldErrors
	if errors.As(err, &fe) {
		return nil, fromFieldErrors(fe)
	}
	return def, nil
}

// splitDecodeError separates the per-field problems of pipe.Decode/DecodeUpdate, which come with a
// partly decoded value that is still worth validating, from errors that leave nothing to validate.
func splitDecodeError(err error) (pipe.FieldErrors, *Error) {
	var fe pipe.FieldErrors
	if err == nil || errors.As(err, &fe) && fe.Err() != nil && !notObject(fe) {
		return fe, nil
	}
	return nil, fromDecodeError(err)
}

// notObject reports the one FieldErrors that comes without a decoded value.
func notObject(fe pipe.FieldErrors) bool { return len(fe) == 1 && fe[0].Field == "" }

// decodedUpdate is a decoded UpdatePipe body with the problems found while decoding it: they are reported
// together with those of the merged definition.
type decodedUpdate struct {
	*pipe.UpdateRequest
	decodeErrs pipe.FieldErrors
}

// decodeUpdate decodes an UpdatePipe body.
func decodeUpdate(name string, body []byte) (*decodedUpdate, *Error) {
	if e := checkName(name); e != nil {
		return nil, e
	}
	if e := requireObject(body); e != nil {
		return nil, e
	}
	u, err := pipe.DecodeUpdate(body)
	decodeErrs, e := splitDecodeError(err)
	if e != nil {
		return nil, e
	}
	return &decodedUpdate{UpdateRequest: u, decodeErrs: decodeErrs}, nil
}

// mergeUpdate applies u to the stored definition and validates the result. The problems found while
// decoding u are reported with those of the merge, to list every problem at once.
func mergeUpdate(old *pipe.Definition, u *decodedUpdate, reg *plugin.Registry) (*pipe.Definition, error) {
	def, fe := pipe.Merge(old, u.UpdateRequest, reg)
	if len(fe) > 0 {
		return nil, fromFieldErrors(u.decodeErrs.Join(fe))
	}
	if fe := u.decodeErrs.Join(def.Validate(reg)); len(fe) > 0 {
		return nil, fromFieldErrors(fe)
	}
	return def, nil
}

// requireNoBody accepts an empty body or an empty JSON object, what clients send for operations
// without body members (StartPipe, StopPipe, DescribePipe, ...).
func requireNoBody(body []byte) *Error {
	t := bytes.TrimSpace(body)
	if len(t) == 0 {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(t, &m); err != nil || len(m) != 0 {
		return validationError("This operation takes no request body.")
	}
	return nil
}

// Tag limits (the TagResource constraints of the Pipes API model).
const (
	maxTags        = 50
	maxTagKeyLen   = 128
	maxTagValueLen = 256
)

func checkTags(tags map[string]string, field string) []FieldError {
	var fe []FieldError
	for k, v := range tags {
		if n := utf8.RuneCountInString(k); n < 1 || n > maxTagKeyLen {
			fe = append(fe, FieldError{Name: field + "[" + k + "]", Message: "tag key must be 1 to 128 characters"})
		}
		if utf8.RuneCountInString(v) > maxTagValueLen {
			fe = append(fe, FieldError{Name: field + "[" + k + "]", Message: "tag value must be at most 256 characters"})
		}
	}
	return fe
}

// decodeTagResource decodes a TagResource body: {"tags": {key: value}} with 1..50 tags.
func decodeTagResource(body []byte) (map[string]string, *Error) {
	if e := requireObject(body); e != nil {
		return nil, e
	}
	var in struct {
		Tags *map[string]string `json:"tags"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := te.Field
			if field == "" {
				field = "tags"
			}
			return nil, validationError("Malformed request body: "+field+" must be "+jsonType(te.Type.String())+".",
				FieldError{Name: field, Message: "must be " + jsonType(te.Type.String())})
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			f = strings.Trim(f, `"`)
			return nil, validationError("Malformed request body: unknown member "+strconv.Quote(f)+".",
				FieldError{Name: f, Message: "is not a member of TagResourceRequest"})
		}
		return nil, validationError("Malformed request body: " + err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, validationError("Malformed request body: unexpected data after the JSON object.")
	}
	if in.Tags == nil {
		return nil, validationError("1 validation error detected: tags is required.", FieldError{Name: "tags", Message: "is required"})
	}
	tags := *in.Tags
	if len(tags) < 1 || len(tags) > maxTags {
		return nil, validationError("1 validation error detected: tags must hold 1 to 50 entries.",
			FieldError{Name: "tags", Message: "must hold 1 to 50 entries"})
	}
	if fe := checkTags(tags, "tags"); len(fe) > 0 {
		return nil, validationError(fmt.Sprintf("%d validation errors detected in tags.", len(fe)), fe...)
	}
	return tags, nil
}

func jsonType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "*map["), strings.HasPrefix(goType, "struct"):
		return "an object"
	case goType == "string":
		return "a string"
	}
	return "of type " + goType
}

// parseUntagKeys reads UntagResource's repeated tagKeys query parameter (0..50 keys).
func parseUntagKeys(q url.Values) ([]string, *Error) {
	keys := q["tagKeys"]
	if len(keys) > maxTags {
		return nil, validationError("tagKeys must hold at most 50 keys.", FieldError{Name: "tagKeys", Message: "must hold at most 50 keys"})
	}
	for _, k := range keys {
		if n := utf8.RuneCountInString(k); n < 1 || n > maxTagKeyLen {
			return nil, validationError("Each tag key must be 1 to 128 characters.",
				FieldError{Name: "tagKeys", Message: "each key must be 1 to 128 characters"})
		}
	}
	return keys, nil
}

// listQuery is the parsed ListPipes query.
type listQuery struct {
	namePrefix, desiredState, currentState, sourcePrefix, targetPrefix string
	after                                                              string // from NextToken: list names greater than this
	limit                                                              int
}

// DefaultListLimit is the page size of ListPipes without Limit (the AWS default is undocumented).
const DefaultListLimit = 100

// parseListQuery reads and checks ListPipes' query parameters; unknown parameters are ignored, as
// AWS services do, but a known one given twice is an error.
func parseListQuery(q url.Values) (listQuery, *Error) {
	lq := listQuery{limit: DefaultListLimit}
	var fe []FieldError
	get := func(k string) string {
		v := q[k]
		if len(v) > 1 {
			fe = append(fe, FieldError{Name: k, Message: "must be given at most once"})
		}
		if len(v) == 0 {
			return ""
		}
		return v[0]
	}
	lq.namePrefix = get("NamePrefix")
	if _, ok := q["NamePrefix"]; ok && !validName(lq.namePrefix) {
		fe = append(fe, FieldError{Name: "NamePrefix", Message: "must be 1 to 64 characters of [.-_A-Za-z0-9]"})
	}
	lq.desiredState = get("DesiredState")
	if _, ok := q["DesiredState"]; ok && lq.desiredState != pipe.StateRunning && lq.desiredState != pipe.StateStopped {
		fe = append(fe, FieldError{Name: "DesiredState", Message: "must be RUNNING or STOPPED"})
	}
	lq.currentState = get("CurrentState")
	if _, ok := q["CurrentState"]; ok && !contains(pipe.CurrentStates(), lq.currentState) {
		fe = append(fe, FieldError{Name: "CurrentState", Message: "must be one of " + strings.Join(pipe.CurrentStates(), ", ")})
	}
	lq.sourcePrefix = get("SourcePrefix")
	if _, ok := q["SourcePrefix"]; ok && (len(lq.sourcePrefix) < 1 || len(lq.sourcePrefix) > 1600) {
		fe = append(fe, FieldError{Name: "SourcePrefix", Message: "must be 1 to 1600 characters"})
	}
	lq.targetPrefix = get("TargetPrefix")
	if _, ok := q["TargetPrefix"]; ok && (len(lq.targetPrefix) < 1 || len(lq.targetPrefix) > 1600) {
		fe = append(fe, FieldError{Name: "TargetPrefix", Message: "must be 1 to 1600 characters"})
	}
	if l := get("Limit"); l != "" || q.Has("Limit") {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 100 {
			fe = append(fe, FieldError{Name: "Limit", Message: "must be an integer from 1 to 100"})
		} else {
			lq.limit = n
		}
	}
	if t := get("NextToken"); t != "" || q.Has("NextToken") {
		after, ok := parseNextToken(t)
		if !ok {
			fe = append(fe, FieldError{Name: "NextToken", Message: "is not a token returned by ListPipes"})
		}
		lq.after = after
	}
	if len(fe) > 0 {
		return lq, validationError(fmt.Sprintf("%d validation error(s) detected in the ListPipes parameters.", len(fe)), fe...)
	}
	return lq, nil
}

// NextToken is an opaque, versioned encoding of the last name of the previous page; ListPipes orders by
// name, so the next page starts after it (pipes created or deleted meanwhile are seen or not, as with
// any paginated AWS list).
const tokenPrefix = "v1."

func makeNextToken(after string) string {
	return tokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(after))
}

func parseNextToken(t string) (string, bool) {
	if len(t) < 1 || len(t) > 2048 {
		return "", false
	}
	rest, ok := strings.CutPrefix(t, tokenPrefix)
	if !ok {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || !validName(string(b)) {
		return "", false
	}
	return string(b), true
}
