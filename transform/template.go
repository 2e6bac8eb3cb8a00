package transform

import (
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sluicehq/sluice/internal/jsontext"
)

// MaxTemplateLen is the longest InputTemplate Pipes accepts, in characters.
const MaxTemplateLen = 8192

// IngestionTimeLayout is how <aws.pipes.event.ingestion-time> is written: ISO-8601 in UTC with milliseconds.
const IngestionTimeLayout = "2006-01-02T15:04:05.000Z"

// Vars are the values of the reserved aws.pipes.* variables for one pipe (and, for IngestionTime, one event).
type Vars struct {
	PipeArn, PipeName, SourceArn, EnrichmentArn, TargetArn string
	// IngestionTime is when the transformer received the event; the zero time means "now".
	IngestionTime time.Time
}

// Template is a parsed InputTemplate. Parse it once per pipe and call Render for each event; a Template is safe
// for concurrent use.
type Template struct {
	src   string
	parts []part
	pool  sync.Pool
	// compact is, for a template whose every rendering is JSON (compactParts), each part's text without
	// the whitespace outside strings; nil otherwise. RenderScopeCompact writes it.
	compact []string
}

// ctx is where a placeholder sits, which decides how its value is written.
type ctx uint8

const (
	ctxValue  ctx = iota // outside quotes in a JSON template: a JSON value
	ctxString            // inside a quoted string: string content
	ctxText              // outside quotes in a free-text template: plain text
)

// varKind says what a placeholder refers to.
type varKind uint8

const (
	varPath varKind = iota
	varPipeArn
	varPipeName
	varSourceArn
	varEnrichmentArn
	varTargetArn
	varIngestionTime
	varEvent
	varEventJSON
)

var reserved = map[string]varKind{
	"aws.pipes.pipe-arn":             varPipeArn,
	"aws.pipes.pipe-name":            varPipeName,
	"aws.pipes.source-arn":           varSourceArn,
	"aws.pipes.enrichment-arn":       varEnrichmentArn,
	"aws.pipes.target-arn":           varTargetArn,
	"aws.pipes.event.ingestion-time": varIngestionTime,
	"aws.pipes.event":                varEvent,
	"aws.pipes.event.json":           varEventJSON,
}

// part is static text followed by an optional placeholder.
type part struct {
	text string
	has  bool
	kind varKind
	ctx  ctx
	path *Path
}

// Parse parses an InputTemplate, checking everything that can be checked without an event: the length, that every
// '<' is closed by a '>' (and no '>' stands alone), that each placeholder is a JSON path of the Pipes grammar or a
// known aws.pipes.* variable, and that <aws.pipes.event.json> is only used as a JSON value. Errors are *Error
// values naming the line and column. The empty template means "no transformation": Render copies the event.
func Parse(tmpl string) (*Template, error) {
	if utf8.RuneCountInString(tmpl) > MaxTemplateLen {
		off := 0
		for n := 0; n < MaxTemplateLen; n++ {
			_, size := utf8.DecodeRuneInString(tmpl[off:])
			off += size
		}
		return nil, newError("input template", tmpl, off, "longer than %d characters", MaxTemplateLen)
	}
	t := &Template{src: tmpl}
	t.pool.New = func() any { return new(state) }
	if tmpl == "" {
		return t, nil
	}
	first := skipWS([]byte(tmpl), 0) // templates are short; the copy happens once per Parse
	jsonTemplate := first < len(tmpl) && (tmpl[first] == '{' || tmpl[first] == '[')
	inString, escaped := false, false
	textStart := 0
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if inString {
			switch {
			case escaped:
				escaped = false
				if c != '<' {
					continue
				}
			case c == '\\':
				escaped = true
				continue
			case c == '"':
				inString = false
				continue
			}
		} else if c == '"' {
			inString = true
			continue
		}
		switch c {
		case '>':
			return nil, newError("input template", tmpl, i, "'>' without a matching '<'")
		case '<':
			j := strings.IndexAny(tmpl[i+1:], "<>")
			if j < 0 {
				return nil, newError("input template", tmpl, i, "'<' is never closed by '>'")
			}
			if tmpl[i+1+j] == '<' {
				return nil, newError("input template", tmpl, i, "'<' is not closed by '>' before the next '<'")
			}
			p := part{text: tmpl[textStart:i], has: true, ctx: ctxText}
			switch {
			case inString:
				p.ctx = ctxString
			case jsonTemplate:
				p.ctx = ctxValue
			}
			if err := p.define(tmpl, i+1, tmpl[i+1:i+1+j]); err != nil {
				return nil, err
			}
			t.parts = append(t.parts, p)
			i += 1 + j
			textStart = i + 1
		}
	}
	if textStart < len(tmpl) || len(t.parts) == 0 {
		t.parts = append(t.parts, part{text: tmpl[textStart:]})
	}
	if jsonTemplate {
		t.compact = compactParts(t.parts)
	}
	return t, nil
}

// compactParts returns the text of each part without the whitespace outside JSON strings, when every
// rendering of the parts is valid JSON, else nil. That holds when the template with each JSON-value
// placeholder replaced by null and each in-string one by a letter is valid JSON: a placeholder in value
// position writes one valid JSON value there (a found value, a quoted string or time, or null), and one in
// a string writes escaped string content. The split is checked against AppendCompact of that skeleton, so
// a template the simple string tracking below misreads is left alone rather than compacted wrongly.
// <aws.pipes.event.json> is left out (its output is not known to be compact).
func compactParts(parts []part) []string {
	var skeleton, joined []byte
	out := make([]string, len(parts))
	inString := false
	for i, p := range parts {
		if p.has && (p.kind == varEventJSON || p.ctx == ctxText) {
			return nil
		}
		var c []byte
		escaped := false
		for j := 0; j < len(p.text); j++ {
			ch := p.text[j]
			switch {
			case inString && escaped:
				escaped = false
			case inString && ch == '\\':
				escaped = true
			case inString && ch == '"':
				inString = false
			case inString:
			case ch == '"':
				inString = true
			case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r':
				continue
			}
			c = append(c, ch)
		}
		if escaped {
			return nil // a placeholder right after a backslash: leave such a template alone
		}
		out[i] = string(c)
		skeleton, joined = append(skeleton, p.text...), append(joined, c...)
		if p.has {
			sub := "null"
			if p.ctx == ctxString {
				sub = "x"
			}
			if (p.ctx == ctxString) != inString {
				return nil
			}
			skeleton, joined = append(skeleton, sub...), append(joined, sub...)
		}
	}
	want, ok := AppendCompact(nil, skeleton)
	if !ok || string(want) != string(joined) {
		return nil
	}
	return out
}

// CompactJSON reports whether every rendering of the template is valid JSON, so that RenderScopeCompact
// writes it without whitespace outside strings in one pass.
func (t *Template) CompactJSON() bool { return t.compact != nil }

// RenderScopeCompact is RenderScopeLimit followed by AppendCompact, for a template whose renderings are
// JSON (CompactJSON): the output is the rendering without the whitespace outside its strings, as
// AppendCompact gives it, without compacting the rendering afterwards. The template's text was compacted
// by Parse; a $.key or $.value of a Kafka record is written from the compact form found while validating
// it (Scope); other values are compacted as they are written. compact is false, and the output is
// RenderScopeLimit's, when the template is not CompactJSON.
func (t *Template) RenderScopeCompact(dst []byte, s *Scope, vars *Vars, limit int) (out []byte, compact bool, err error) {
	if t.compact == nil {
		out, err = t.RenderScopeLimit(dst, s, vars, limit)
		return out, false, err
	}
	if vars == nil {
		vars = &Vars{}
	}
	st, event := &s.st, s.event
	base := len(dst)
	for i := range t.parts {
		p := &t.parts[i]
		dst = append(dst, t.compact[i]...)
		if !p.has {
			continue
		}
		if p.kind == varPath {
			v, cv, found, err := st.lookupCompact(p.path, event)
			if err != nil {
				return dst, false, fmt.Errorf("rendering input template: %w", err)
			}
			switch {
			case !found || p.ctx != ctxValue:
				dst = appendValue(dst, p.ctx, v, found) // string content or null: no whitespace to drop
			case cv != nil:
				dst = append(dst, cv...)
			default:
				var ok bool
				if dst, ok = AppendCompact(dst, v); !ok {
					// lookup returns valid JSON; should it not, the output is not vouched for.
					return dst[:base], false, fmt.Errorf("rendering input template: %w", ErrMalformedEvent)
				}
			}
		} else {
			dst = t.appendVar(dst, p, event, vars, st)
		}
		if limit > 0 && len(dst)-base > limit {
			return dst[:base], false, &SizeError{Limit: limit}
		}
	}
	if limit > 0 && len(dst)-base > limit {
		return dst[:base], false, &SizeError{Limit: limit}
	}
	return dst, true, nil
}

// appendVar writes a placeholder other than a path.
func (t *Template) appendVar(dst []byte, p *part, event []byte, vars *Vars, st *state) []byte {
	switch p.kind {
	case varPipeArn:
		dst = appendString(dst, p.ctx, vars.PipeArn)
	case varPipeName:
		dst = appendString(dst, p.ctx, vars.PipeName)
	case varSourceArn:
		dst = appendString(dst, p.ctx, vars.SourceArn)
	case varEnrichmentArn:
		dst = appendString(dst, p.ctx, vars.EnrichmentArn)
	case varTargetArn:
		dst = appendString(dst, p.ctx, vars.TargetArn)
	case varIngestionTime:
		dst = appendTime(dst, p.ctx, vars.IngestionTime)
	case varEvent:
		dst = appendString(dst, p.ctx, event)
	case varEventJSON:
		dst = st.appendEventJSON(dst, event)
	}
	return dst
}

// define fills in what the placeholder name (at byte offset off of tmpl) refers to.
func (p *part) define(tmpl string, off int, name string) error {
	switch {
	case strings.HasPrefix(name, "$"):
		path, err := parsePath(name, tmpl, off, "input template")
		if err != nil {
			return err
		}
		p.kind, p.path = varPath, path
	case strings.HasPrefix(name, "aws.pipes."):
		kind, ok := reserved[name]
		if !ok {
			return newError("input template", tmpl, off, "unknown reserved variable <%s> (known: aws.pipes.pipe-arn, "+
				"aws.pipes.pipe-name, aws.pipes.source-arn, aws.pipes.enrichment-arn, aws.pipes.target-arn, "+
				"aws.pipes.event.ingestion-time, aws.pipes.event, aws.pipes.event.json)", name)
		}
		if kind == varEventJSON && p.ctx != ctxValue {
			return newError("input template", tmpl, off, "<aws.pipes.event.json> can only be a JSON value, "+
				"outside quotes in a JSON template such as {\"event\": <aws.pipes.event.json>}; use <aws.pipes.event> for text")
		}
		p.kind = kind
	default:
		return newError("input template", tmpl, off, "<%s> is neither a json path (starting with $) nor a reserved "+
			"aws.pipes.* variable", name)
	}
	return nil
}

// String returns the template as written.
func (t *Template) String() string { return t.src }

// Render appends to dst the template rendered for one event and returns the extended buffer. vars may be nil.
// Rendering finds each placeholder's value with a validating scanner (top-level members are indexed as the first
// walk passes them) and never decodes the event into Go values; a Kafka record's key or value is base64-decoded
// at most once per call. The error wraps ErrMalformedEvent when
// a path walks into malformed JSON; an event that is not JSON at all renders its paths as missing.
//
// Render does not bound its output: a template repeating a large value can render many times the event's size.
// Where the output must fit a payload limit, use RenderLimit.
func (t *Template) Render(dst, event []byte, vars *Vars) ([]byte, error) {
	return t.RenderLimit(dst, event, vars, 0)
}

// RenderLimit is Render with a bound on what it appends: once the output for this event is longer than limit
// bytes it stops, without rendering the rest of the template, and returns dst as it was given (length
// unchanged) and an error wrapping ErrTooLarge (a *SizeError). The check runs after each placeholder, so the
// memory used stays below limit plus the size of one placeholder's value (at most a few times the event's
// size), however often the template repeats a value. limit <= 0 means no limit.
func (t *Template) RenderLimit(dst, event []byte, vars *Vars, limit int) ([]byte, error) {
	if len(t.parts) == 0 {
		return appendEvent(dst, event, limit)
	}
	st := t.pool.Get().(*state)
	defer t.pool.Put(st)
	st.reset()
	return t.render(dst, event, vars, st, limit)
}

// RenderScope is Render for the event of s, sharing s's decoded Kafka key and value with the other evaluations
// of s (Path.AppendLookupScope), so that a template and a key path on the same event decode its value once.
func (t *Template) RenderScope(dst []byte, s *Scope, vars *Vars) ([]byte, error) {
	return t.RenderScopeLimit(dst, s, vars, 0)
}

// RenderScopeLimit is RenderScope with RenderLimit's bound on the output.
func (t *Template) RenderScopeLimit(dst []byte, s *Scope, vars *Vars, limit int) ([]byte, error) {
	if len(t.parts) == 0 {
		return appendEvent(dst, s.event, limit)
	}
	return t.render(dst, s.event, vars, &s.st, limit)
}

// appendEvent is the empty template's output, the event itself, within limit.
func appendEvent(dst, event []byte, limit int) ([]byte, error) {
	if limit > 0 && len(event) > limit {
		return dst, &SizeError{Limit: limit}
	}
	return append(dst, event...), nil
}

func (t *Template) render(dst, event []byte, vars *Vars, st *state, limit int) ([]byte, error) {
	if vars == nil {
		vars = &Vars{}
	}
	base := len(dst)
	for i := range t.parts {
		p := &t.parts[i]
		dst = append(dst, p.text...)
		if !p.has {
			continue
		}
		if p.kind == varPath {
			v, found, err := st.lookup(p.path, event)
			if err != nil {
				return dst, fmt.Errorf("rendering input template: %w", err)
			}
			dst = appendValue(dst, p.ctx, v, found)
		} else {
			dst = t.appendVar(dst, p, event, vars, st)
		}
		// Checked per placeholder, not per byte: the hot path pays one comparison, and a template that
		// repeats a large value stops after at most one value past the limit.
		if limit > 0 && len(dst)-base > limit {
			return dst[:base], &SizeError{Limit: limit}
		}
	}
	if limit > 0 && len(dst)-base > limit { // the template's trailing text
		return dst[:base], &SizeError{Limit: limit}
	}
	return dst, nil
}

// appendValue writes the raw JSON value v (found or missing) for a placeholder in context c.
func appendValue(dst []byte, c ctx, v []byte, found bool) []byte {
	if !found {
		if c == ctxValue {
			return append(dst, "null"...) // a missing value keeps a JSON template valid
		}
		return dst // a missing value in text is empty
	}
	switch c {
	case ctxValue:
		return append(dst, v...)
	case ctxString:
		switch v[0] {
		case '"':
			return append(dst, v[1:len(v)-1]...) // already escaped as JSON string content
		case '{', '[':
			return appendStripped(dst, v, false)
		}
	default:
		switch v[0] {
		case '"':
			return jsontext.AppendUnescaped(dst, v[1:len(v)-1])
		case '{', '[':
			return appendStripped(dst, v, true)
		}
	}
	return append(dst, v...) // numbers, true, false, null: their JSON text everywhere
}

// appendString writes a text value for a placeholder in context c.
func appendString[T string | []byte](dst []byte, c ctx, s T) []byte {
	switch c {
	case ctxValue:
		return jsontext.AppendQuoted(dst, s)
	case ctxString:
		return jsontext.AppendEscaped(dst, s)
	}
	return append(dst, s...)
}

func appendTime(dst []byte, c ctx, t time.Time) []byte {
	if t.IsZero() {
		t = time.Now()
	}
	if c == ctxValue {
		dst = append(dst, '"')
	}
	dst = t.UTC().AppendFormat(dst, IngestionTimeLayout)
	if c == ctxValue {
		dst = append(dst, '"')
	}
	return dst
}

// appendEventJSON writes <aws.pipes.event.json>: the event as JSON, with a Kafka record's key and value replaced
// by their decoded payloads where those are valid JSON. An event that is not valid JSON has no value (null).
func (st *state) appendEventJSON(dst, event []byte) []byte {
	v, ok := validJSON(event)
	if !ok {
		return append(dst, "null"...)
	}
	if v[0] != '{' || !st.isKafka(event) {
		return append(dst, v...)
	}
	// Spans of key and value are offsets in event (body works on the event as given), and v is event trimmed.
	lead := skipWS(event, 0)
	first, second := st.body(event, "key"), st.body(event, "value")
	st.rawSpan(event, "key", first)
	st.rawSpan(event, "value", second)
	if second.rawStart < first.rawStart {
		first, second = second, first
	}
	start := lead
	for _, b := range [2]*body{first, second} {
		if !b.json {
			continue // absent, not decodable or not JSON: left as it is in the event
		}
		dst = append(dst, event[start:b.rawStart]...)
		dst = append(dst, b.span...)
		start = b.rawEnd
	}
	return append(dst, event[start:lead+len(v)]...)
}
