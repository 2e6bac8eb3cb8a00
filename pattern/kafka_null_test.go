package pattern

import "testing"

// TestMatchKafkaJSONScalarIsJSON: a record value that is a JSON scalar (null, a number, a string, a boolean) is
// valid JSON, so a pattern on fields inside the value is filtered normally: the fields do not exist. Before the
// fix the field clauses were dropped as if the value were plain text, and a JSON null passed any field filter.
func TestMatchKafkaJSONScalarIsJSON(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		value   string
		want    bool
	}{
		{"null does not match a field value", `{"value":{"status":["PAID"]}}`, `null`, false},
		{"null with white space", `{"value":{"status":["PAID"]}}`, " null\n", false},
		{"null with a metadata clause", `{"topic":["orders"],"value":{"status":["PAID"]}}`, `null`, false},
		{"null has no field that exists", `{"value":{"status":[{"exists":true}]}}`, `null`, false},
		{"null: a field does not exist", `{"value":{"status":[{"exists":false}]}}`, `null`, true},
		{"null: anything-but needs the field", `{"value":{"status":[{"anything-but":"PAID"}]}}`, `null`, false},
		{"null matches null as a whole", `{"value":[null]}`, `null`, true},
		{"null is not the string null", `{"value":["null"]}`, `null`, false},
		{"nested field on null", `{"value":{"a":{"b":["x"]}}}`, `null`, false},
		{"number has no fields", `{"value":{"a":[1]}}`, `42`, false},
		{"string has no fields", `{"value":{"a":["x"]}}`, `"x"`, false},
		{"boolean has no fields", `{"value":{"a":[true]}}`, `true`, false},
		{"object still filtered normally", `{"value":{"status":["PAID"]}}`, `{"status":"PAID"}`, true},
		{"plain text still drops field clauses", `{"value":{"status":["PAID"]}}`, `nul`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := CompileSet([][]byte{[]byte(tc.pattern)})
			if err != nil {
				t.Fatalf("CompileSet(%s): %v", tc.pattern, err)
			}
			got, err := s.MatchKafka([]byte(kafkaRecord), nil, []byte(tc.value))
			if err != nil {
				t.Fatalf("MatchKafka(value %q): %v", tc.value, err)
			}
			if got != tc.want {
				t.Errorf("MatchKafka(value %q) against %s = %v, want %v", tc.value, tc.pattern, got, tc.want)
			}
		})
	}
}
