package execlog

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzRecord: whatever the payload, exchange and error text, a record is one valid JSON line of at most
// MaxRecordBytes whose execution data and error text never hold a registered secret.
func FuzzRecord(f *testing.F) {
	f.Add([]byte(`[{"a":1}]`), []byte("POST / HTTP/1.1\r\n\r\n"), "boom", "s3cr3t")
	f.Add([]byte(`"\u00e9<>&`), []byte{0xff, 0xfe}, "x\x00y", `pa"ss\word`)
	f.Fuzz(func(t *testing.T, payload, exchange []byte, errText, secret string) {
		var out bytes.Buffer
		l := New(&out, testArn, Config{Level: Trace, IncludeExecutionData: true})
		l.AddSecrets(secret)
		l.Log("e", Entry{Type: TargetInvocationFailed, Request: exchange, Response: payload, Err: errString(errText + secret)})
		l.Log("e", Entry{Type: ExecutionStarted, Payload: append(append([]byte{}, payload...), secret...)})
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if len(lines) != 2 {
			t.Fatalf("wrote %d lines, want 2", len(lines))
		}
		for _, line := range lines {
			if len(line) > MaxRecordBytes {
				t.Errorf("line of %d bytes, want <= %d", len(line), MaxRecordBytes)
			}
			if !json.Valid([]byte(line)) {
				t.Errorf("line is not JSON: %q", line)
			}
			var r Record
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("decoding %q: %v", line, err)
			}
			if len(secret) < 4 || !utf8.ValidString(secret) {
				continue
			}
			fields := []*string{r.Payload, r.AWSRequest, r.AWSResponse}
			if r.Error != nil {
				fields = append(fields, &r.Error.Message)
			}
			for _, f := range fields {
				if f != nil && strings.Contains(*f, secret) {
					t.Errorf("secret %q appears in %q", secret, *f)
				}
			}
		}
	})
}

type errString string

func (e errString) Error() string { return string(e) }
