package pipe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"

	"sigs.k8s.io/yaml"

	"github.com/sluicehq/sluice/internal/fieldcheck"
)

// Decode parses a pipe definition in the CreatePipe shape, as JSON or YAML (same member names;
// YAML when the first non-blank character is not "{"). Decoding is strict and case-sensitive: every
// unknown member and every value of the wrong type is reported, by field path, in a FieldErrors.
//
// Decoding does not stop at the first problem. When the error is a FieldErrors, the Definition is
// still returned, holding every member that could be decoded (the faulty ones left unset), so that
// the caller can set defaults, run Validate and report every problem at once with Join. Any other
// error (empty, not JSON or YAML, not an object) comes with a nil Definition; JSON syntax errors name
// the line and column. Decode neither sets defaults nor validates: call SetDefaults, then Validate.
func Decode(data []byte) (*Definition, error) {
	var d Definition
	if err := decodeStrict(data, &d); err != nil {
		var fe FieldErrors
		if errors.As(err, &fe) && fe.partial() {
			return &d, err
		}
		return nil, err
	}
	return &d, nil
}

// DecodeUpdate parses an UpdatePipe request body (JSON or YAML) strictly, like Decode, and like
// Decode returns what could be decoded along with a FieldErrors.
func DecodeUpdate(data []byte) (*UpdateRequest, error) {
	var u UpdateRequest
	if err := decodeStrict(data, &u); err != nil {
		var fe FieldErrors
		if errors.As(err, &fe) && fe.partial() {
			return &u, err
		}
		return nil, err
	}
	return &u, nil
}

// ErrEmpty is returned by Decode and DecodeUpdate for an empty or blank document.
var ErrEmpty = errors.New("empty pipe definition")

// jsonSpace is JSON's whitespace (RFC 8259 §2).
const jsonSpace = " \t\r\n"

// errNotObject is the problem of a document that is JSON or YAML but not an object: nothing can be
// decoded from it, so it is the only problem reported.
var errNotObject = FieldErrors{{Field: "", Message: "a pipe definition must be a JSON object"}}

// partial reports whether e came with a partly decoded value (every problem but "not an object").
func (e FieldErrors) partial() bool {
	return !(len(e) == 1 && e[0] == errNotObject[0])
}

func decodeStrict(data []byte, v any) error {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return ErrEmpty
	}
	// Positions in JSON errors count from the start of data, so keep the leading blanks in view.
	js := bytes.TrimRight(data, jsonSpace)
	if trimmed[0] != '{' {
		// YAML: the YAML parser reports syntax errors with the YAML line ("yaml: line 3: ..."). Its
		// JSON output cannot have syntax errors, and the remaining problems are reported by field
		// path, which is the same in both forms, so no JSON position ever needs mapping back.
		var err error
		js, err = yaml.YAMLToJSON(data)
		if err != nil {
			return fmt.Errorf("parsing YAML pipe definition: %w", err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return fmt.Errorf("parsing JSON pipe definition: %w", syntaxError(js, dec.InputOffset(), err))
	}
	if end := dec.InputOffset(); len(bytes.TrimLeft(js[end:], jsonSpace)) > 0 {
		extra := end + int64(len(js[end:])-len(bytes.TrimLeft(js[end:], jsonSpace)))
		line, col := Position(js, extra)
		return fmt.Errorf("parsing JSON pipe definition: line %d, column %d: unexpected data after the top-level object", line, col)
	}
	if _, ok := generic.(map[string]any); !ok {
		return errNotObject
	}
	var shapeErrs []FieldError
	generic = fieldcheck.Shape(reflect.TypeOf(v).Elem(), generic, "", &shapeErrs)
	// Decode what is left: Shape removed every member it reported, so this succeeds and Validate can still
	// look at the rest of the definition. Decoding the re-encoded value rather than js also gives the
	// plugins' raw parameter members one canonical form (compact, members sorted), whether the definition
	// came as JSON or YAML, so that equal definitions are equal and store alike.
	pruned, err := json.Marshal(generic)
	if err == nil {
		err = json.Unmarshal(pruned, v)
	}
	if err != nil {
		// Shape mirrors encoding/json's rules, so this is not expected; report it anyway.
		return fmt.Errorf("decoding pipe definition: %w", err)
	}
	if fe := FieldErrors(shapeErrs); len(fe) > 0 {
		return fe.sorted()
	}
	return nil
}

// syntaxError adds the line and column to a JSON syntax error (encoding/json gives a byte offset) and
// says what an unexpected end of input means.
func syntaxError(js []byte, inputOffset int64, err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		// Offset counts the bytes read up to and including the offending one.
		off := se.Offset - 1
		if off < 0 {
			off = 0
		}
		line, col := Position(js, off)
		return fmt.Errorf("line %d, column %d: %w", line, col, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, col := Position(js, int64(len(js)))
		return fmt.Errorf("line %d, column %d: unexpected end of input (an object, array or string is not closed)", line, col)
	}
	return err
}

// Position converts a byte offset in text into a 1-based line and column (in characters), the form
// in which editors and people locate a problem. An offset past the end gives the position just after
// the last character.
func Position(text []byte, offset int64) (line, col int) {
	if offset > int64(len(text)) {
		offset = int64(len(text))
	}
	if offset < 0 {
		offset = 0
	}
	before := text[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCount(before[lineStart:]) + 1
}

// Join returns e followed by the validation problems of later, leaving out those about a field that e
// already reports or a field inside it: a member that could not be decoded was left unset, so
// "is required" there would only repeat the decode problem. The result is sorted like Validate's.
func (e FieldErrors) Join(later FieldErrors) FieldErrors {
	out := append(FieldErrors(nil), e...)
	for _, l := range later {
		if !e.covers(l.Field) {
			out = append(out, l)
		}
	}
	return out.sorted()
}

// covers reports whether field is one of e's fields or lies inside one of them.
func (e FieldErrors) covers(field string) bool {
	for _, f := range e {
		if f.Field == field {
			return true
		}
		if rest, ok := strings.CutPrefix(field, f.Field); ok && f.Field != "" && (rest[0] == '.' || rest[0] == '[' || rest[0] == ' ') {
			return true
		}
	}
	return false
}
