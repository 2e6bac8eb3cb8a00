package secret

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// isolateAWS points the AWS SDK's instance metadata client at imds and hides every other credential source
// of the machine running the test, so that the default credential chain can only end at imds.
func isolateAWS(t *testing.T, imds string) {
	t.Helper()
	dir := t.TempDir()
	for name, v := range map[string]string{
		"AWS_EC2_METADATA_SERVICE_ENDPOINT":      imds,
		"AWS_EC2_METADATA_DISABLED":              "",
		"AWS_CONFIG_FILE":                        filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE":            filepath.Join(dir, "credentials"),
		"AWS_PROFILE":                            "",
		"AWS_ACCESS_KEY_ID":                      "",
		"AWS_SECRET_ACCESS_KEY":                  "",
		"AWS_SESSION_TOKEN":                      "",
		"AWS_WEB_IDENTITY_TOKEN_FILE":            "",
		"AWS_ROLE_ARN":                           "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":     "",
	} {
		t.Setenv(name, v)
	}
}

// TestNoAWSConfigWithoutARN: a resolver that only meets file: and env: references loads no AWS
// configuration and never reaches the instance metadata service; the first Secrets Manager ARN without
// other credentials does reach it, and the SDK's warnings about it arrive as slog records.
func TestNoAWSConfigWithoutARN(t *testing.T) {
	var hits atomic.Int32
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.NotFound(w, r) // no token, no role: the credential chain ends here, before any AWS call
	}))
	defer imds.Close()
	isolateAWS(t, imds.URL)

	path := filepath.Join(t.TempDir(), "sasl.json")
	if err := os.WriteFile(path, []byte(`{"username":"u","password":"p"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SLUICE_TEST_SECRET", `{"username":"e","password":"q"}`)
	var logs bytes.Buffer
	r := &Resolver{Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, ref := range []string{"file://" + path, "env:SLUICE_TEST_SECRET", "env:SLUICE_TEST_SECRET_UNSET"} {
		_, _ = r.Resolve(ctx, ref) // the unset variable's error is expected; only the AWS side matters
	}
	if r.aws.loads != 0 || hits.Load() != 0 {
		t.Fatalf("after file: and env: references: %d AWS configurations loaded, %d instance metadata requests; want 0 and 0",
			r.aws.loads, hits.Load())
	}
	if logs.Len() != 0 {
		t.Errorf("logs after file: and env: references = %q, want none", logs.String())
	}

	// The control: credentials are needed now, and the test sees the chain ask the metadata service.
	_, err := r.Resolve(ctx, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf")
	if err == nil {
		t.Fatal("Resolve(ARN) with no credentials anywhere succeeded, want an error")
	}
	if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "db-AbCdEf") {
		t.Errorf("Resolve(ARN) error %q does not name the reference on one line", err)
	}
	if r.aws.loads != 1 || hits.Load() == 0 {
		t.Fatalf("after an ARN: %d AWS configurations loaded, %d instance metadata requests; want 1 and some", r.aws.loads, hits.Load())
	}
	var sdk int
	for line := range strings.Lines(logs.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if rec["component"] == "aws-sdk" {
			sdk++
		}
	}
	if sdk == 0 {
		t.Errorf("no aws-sdk slog record after the SDK fell back from IMDSv2; logs:\n%s", logs.String())
	}
}
