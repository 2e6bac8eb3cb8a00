// Package transform implements EventBridge Pipes input templates (the InputTemplate of EnrichmentParameters and
// TargetParameters) and the JSON paths that dynamic parameters use.
//
// Parse a template once, when the pipe is defined, and Render it for every event of a batch:
//
//	t, err := transform.Parse(`{"order": <$.value.orderId>, "at": <aws.pipes.event.ingestion-time>}`)
//	out, err := t.Render(buf[:0], event, &transform.Vars{PipeName: "orders"})
//
// # Forms and quoting
//
// A template is free text or JSON with placeholders: a JSON path such as <$.value.items[0].sku> or a reserved
// variable such as <aws.pipes.pipe-name>. Where a placeholder sits decides how its value is written:
//
//   - As a JSON value, outside quotes in a template whose first non-blank character is '{' or '[': strings are
//     written quoted and escaped; numbers, booleans, null, objects and arrays as their raw JSON.
//   - Inside a quoted string ("Hello, <$.name>"): the value's text. Objects and arrays lose the quotes around their
//     strings ({"key": "value"} becomes {key: value}), as Pipes documents.
//   - In free text, including a template that is only <$.x>: the value's text as well, unescaped since the output
//     is not JSON. A template that is only <$.x> on an object therefore yields the quote-stripped text; wrap it as
//     {"x": <$.x>} to keep JSON.
//
// # Paths
//
// The grammar is Pipes': $ followed by .name steps (letters, digits, '_', '-', '/'), each followed by any number of
// [index] or [*] steps. A name on a non-object or an index on a non-array is a missing path. [*] iterates an
// array's elements (or an object's member values) and yields a JSON array of every match below it; when the steps
// before the first [*] lead to an array or object the result exists even if it is empty ([]). When an object
// repeats a key, the first occurrence is used.
//
// # Kafka records: implicit body parsing
//
// When the event is a Pipes Kafka record (its top-level "eventSource" is "SelfManagedKafka"), a path whose first
// step is .key or .value reads that member's base64-decoded bytes when they are valid UTF-8 holding exactly one
// JSON value: <$.value.orderId> reaches into a JSON payload and <$.value> on a payload "hi" (a JSON string) is the
// string hi. Otherwise (plain text, binary, not base64) the member keeps its base64 text and deeper paths are
// missing. <aws.pipes.event.json> applies the same decoding to the whole record; <aws.pipes.event> and <$> do not.
// The decoding happens once per event, however many placeholders read it. ParsePath/Lookup apply the same rule,
// so a dynamic parameter such as $.value.orderId behaves like the placeholder. A Scope shares one event's decoding
// between a template (RenderScope) and paths (AppendLookupScope): the runtime renders the target template and
// evaluates the Kafka target's key path on one Scope, decoding each record's value once.
//
// # Cost
//
// Render and the lookups never decode the event into Go values and, with a reused dst, allocate nothing. One
// evaluation walks the event's top-level members once (an index of the members passed is kept for the other
// placeholders), validates what it returns, skips string bodies a word at a time (and long ones with
// bytes.IndexByte), and decodes base64 with a table-driven loop; on a 1 KB Kafka record the target template
// of bench/ costs about 2 µs.
//
// # Decisions where Pipes' behaviour is unconfirmed
//
//   - Missing path: null as a JSON value (so a JSON template stays valid JSON), empty text in a string or free
//     text. The key is not dropped.
//   - Escaping inside a quoted string: string values are inserted with their JSON escapes (a value a"b becomes
//     a\"b), so the output of a JSON template stays valid JSON. In free text they are unescaped.
//   - Objects and arrays keep their own whitespace: they are copied from the event, not re-serialised.
//   - <aws.pipes.event> is the event as text: quoted and escaped as a JSON value, escaped inside a string, as is in
//     free text. <aws.pipes.event.json> is null when the event is not valid JSON, and is rejected at Parse time
//     anywhere but as a JSON value (also in a template that is only that placeholder: use <aws.pipes.event>).
//   - <aws.pipes.event.ingestion-time> is ISO-8601 UTC with milliseconds (IngestionTimeLayout), a string.
//   - Reserved ARNs that are not set (no enrichment, say) are the empty string.
//   - Every '<' opens a placeholder, also inside quoted strings; a literal '<' or '>' cannot be written. This is
//     Pipes' syntax taken strictly so that a typo is a definition-time error rather than text in the output.
//   - The length limit counts characters (not bytes), like the API's 8192.
//   - The empty template means no transformation: Render copies the event.
//   - An event that is not JSON (an enrichment may return text) has no paths: they render as missing. A path that
//     walks into malformed JSON is an error wrapping ErrMalformedEvent.
package transform
