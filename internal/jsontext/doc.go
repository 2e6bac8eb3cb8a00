// Package jsontext holds the JSON text primitives that pattern, transform and internal/event share:
// escaping a string into JSON, unescaping the content of a JSON string, and finding the bytes that end a
// run of string content eight bytes at a time (SWAR, "SIMD within a register").
//
// The functions work on raw bytes, append to a caller-owned buffer and allocate only when it must grow,
// because they sit on the per-event hot paths of matching, rendering and encoding.
//
// Two escapers exist because two outputs are wanted, and neither may change:
//
//   - AppendEscaped/AppendQuoted escape only what JSON requires (quotes, backslashes, control
//     characters) and copy every other byte as it is. Templates use them: their input is already JSON
//     text or text taken from it, and what a template writes must be what the event held.
//   - AppendEscapedUTF8/AppendQuotedUTF8 also make the output valid UTF-8 and safe for JavaScript
//     (invalid bytes become \ufffd; U+2028 and U+2029 are escaped), as encoding/json does minus its HTML
//     escapes. The Kafka event uses them for topic names and header keys, which are arbitrary bytes.
package jsontext
