// Package pattern compiles EventBridge event patterns and matches JSON events against them: the filter language
// of EventBridge Pipes' FilterCriteria and of event-bus rules, with event-ruler's semantics where the
// documentation is silent.
//
//	p, err := pattern.Compile([]byte(`{"detail":{"state":[{"prefix":"run"}]}}`))
//	ok, err := p.Match(event)
//
// A Set ORs up to five patterns (a FilterCriteria) and matches them in one pass; (*Set).MatchKafka applies the
// Pipes rules for Kafka records, whose key and value are matched as decoded content.
//
// # Language
//
// Exact strings, numbers, true, false and null; "" (not null); lists of values (OR) and several fields (AND);
// nested objects; prefix, suffix, equals-ignore-case and prefix/suffix with equals-ignore-case; anything-but
// with a string, a number, a list of strings or of numbers, and with prefix, suffix, equals-ignore-case or
// wildcard (each a string or a list); numeric with =, <, <=, >, >= and two-sided ranges; exists true and false;
// cidr (IPv4 and IPv6); wildcard ("*", with "\*" and "\\" escapes); $or, nested and combined with AND; and
// event-ruler's undocumented "exactly". Validation errors are *Error values naming the place in the pattern and
// the reason; Compile never panics and runs in time linear in the pattern (plus $or expansion, at most 1000
// alternatives).
//
// # Semantics, including decisions where the sources are silent or disagree
//
//   - Arrays: a field matches when any element (at any depth of nesting) matches; the fields of one object in an
//     array of objects are matched together and never combined with the fields of another element. An empty
//     array is an absent field.
//   - exists applies to leaves: a field whose value is an object is "not existing"; null and "" exist. Inside
//     arrays of objects, exists:false is evaluated per element. anything-but requires the field to be present
//     and passes null, booleans and values of the other type (a string passes a list of excluded numbers).
//   - Numbers: an exact number matches the same decimal value in any spelling (300 = 300.0 = 3e2, -0 = 0), as in
//     event-ruler; decimals that a float64 cannot hold are compared exactly, so 0.1 does not match
//     0.10000000000000001. Strings never match numbers, and the string operators never match numbers. Numeric
//     bounds must be exactly representable as a float64 (event-ruler's rule; 0.10000000000000001 is rejected);
//     event values are compared as their nearest float64, where event-ruler ignores values that do not round-trip.
//   - equals-ignore-case uses Unicode case folding including the one-to-many foldings (ß = SS, ΰ = Ϋ́, ﬁ = FI), so
//     it handles case pairs of different UTF-8 lengths (ⱥ/Ⱥ) and the Kelvin sign. No Unicode normalisation.
//   - An exact string that is an IP address matches the same address written differently ("2001:db8::1" matches
//     "2001:DB8:0:0:0:0:0:1"), as event-ruler does. cidr accepts host bits (10.0.0.255/24) and rejects /32 and
//     /128 like event-ruler (use the address as an exact string instead).
//   - Keys are path steps: {"a.b":…} addresses a member named "a.b", not {"a":{"b":…}} (event-ruler joins paths
//     with dots, which its documentation says not to rely on).
//   - Duplicate keys in a pattern: for each field path the last clause wins, in document order, which also makes
//     a $or branch that names an outer field override it (event-ruler's compiler). Duplicate member names in an
//     event: the first occurrence counts.
//   - "$or" is an operator only when its value is an array of objects none of which uses an operator name as a
//     key; otherwise it is an ordinary field name (event-ruler's backward compatibility). A $or array of one
//     object is an error. Expansion beyond MaxCombinations alternatives is an error.
//   - Wildcard complexity: a pattern's wildcard values (plain and anything-but) may hold MaxWildcardComplexity "*"
//     in total. Matching is linear for any wildcard (leftmost placement, no backtracking), so the limit exists for
//     parity with EventBridge's rejection of overly complex patterns rather than for safety.
//   - Pattern size: MaxPatternLength characters, the limit of a Pipes filter.
//
// # Matching
//
// Compilation builds a trie of the field paths all patterns of a set address, one condition per distinct leaf
// clause and per object-level conjunction. Matching scans the event once without decoding it, descends only
// into members whose names are in the trie, skips the rest with a word-at-a-time scan, evaluates leaf values
// with per-field indexes (maps for exact and case-folded values, lists for the other operators) and combines
// conditions as bit sets per object. It allocates nothing. Reading stops as soon as every member a pattern
// addresses has been seen, so malformed JSON after that point (and in skipped values, where only strings and
// brackets are checked) is not reported: callers that accept untrusted events should validate them first
// (json.Valid), as `sluice test-event-pattern` does.
//
// # Kafka records (MatchKafka)
//
// Pipes matches a Kafka record's key and value as decoded content. MatchKafka takes the record event and the raw
// key and value bytes: a JSON object or array is matched by clauses that address fields inside it; plain text,
// or a JSON scalar, by clauses on the value as a whole ({"value":["hello"]}, {"value":[{"numeric":[">",1]}]});
// a mismatch between the two, or bytes that are not UTF-8, drops the key (value) clauses so that the remaining
// metadata clauses decide, the documented rule read literally (UNCONFIRMED against AWS). A JSON scalar is still
// JSON, though: clauses on fields inside a value that is the JSON text null (or 42, or "x") are evaluated and do
// not match, as the fields do not exist. A nil key or value (a Kafka null) is an absent field. Key and value bytes are checked strictly (UTF-8, then JSON) without allocating.
//
// # Pipes subset
//
// EventBridge Pipes documents a subset of the language. (*Pattern).NonPipesOperators lists what a pattern uses
// beyond it: wildcard, anything-but/prefix, anything-but/suffix, anything-but/equals-ignore-case,
// anything-but/wildcard, cidr (not listed for Pipes; UNCONFIRMED) and exactly.
//
// # Performance
//
// BenchmarkCitylots (bench_test.go) runs event-ruler's citylots rule sets, five patterns per Set:
//
//	go test ./pattern -run '^$' -bench Citylots -benchmem -benchtime=100000x -cpu 1 -count 3   (median of 3)
//	one core of a shared 2-core machine, 2026-11-25; every matcher row allocates 0 times per event
//
//	rule set                    events/s   x encoding/json   x event-ruler   x quamina
//	encoding-json-any (yardstick)  91,740        1.0 (119 allocs/event)
//	EXACT                       3,782,171       41.2            19.3            1.8
//	WILDCARD                    3,699,714       40.3            20.9            2.2
//	PREFIX                      2,811,234       30.6             8.1            1.7
//	PREFIX_EQUALS_IGNORE_CASE   2,698,690       29.4             -              -
//	SUFFIX                      2,754,277       30.0             8.2            unsupported
//	SUFFIX_EQUALS_IGNORE_CASE   2,650,698       28.9             -              -
//	EQUALS_IGNORE_CASE          2,297,099       25.0             8.7            1.6
//	NUMERIC                     1,526,637       16.6            17.2            unsupported
//	ANYTHING_BUT                1,980,189       21.6            10.2            3.3
//	ANYTHING_BUT_IGNORE_CASE    1,782,741       19.4             -              -
//	ANYTHING_BUT_PREFIX         1,981,092       21.6             -              -
//	ANYTHING_BUT_SUFFIX         1,972,419       21.5             -              -
//	ANYTHING_BUT_WILDCARD       3,582,110       39.0            17.1            unsupported
//	COMPLEX_ARRAYS                417,837        4.6             8.5            unsupported
//
// The event-ruler and quamina columns divide by the figures in ../shared/bench/README.md (same kind of machine,
// measured at another time), so they are indicative; the encoding/json column is measured in the same run.
// Rule sets whose fields come early in the event (properties.*) stop reading there; COMPLEX_ARRAYS reads and
// converts every coordinate.
package pattern
