package sluicetest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
)

// AWSCLI returns the path of the AWS command line: $SLUICE_AWS_CLI, else what scripts/awscli.sh installs
// (into a private virtual environment, once). The test skips when neither works, unless
// SLUICE_AWS_CLI_REQUIRED=1 (set by scripts/test.sh) makes it fail.
func AWSCLI(t testing.TB) string {
	t.Helper()
	fail := t.Skipf
	if os.Getenv("SLUICE_AWS_CLI_REQUIRED") == "1" {
		fail = t.Fatalf
	}
	if p := os.Getenv("SLUICE_AWS_CLI"); p != "" {
		return p
	}
	_, here, _, _ := goruntime.Caller(0)
	script := filepath.Join(filepath.Dir(here), "..", "..", "scripts", "awscli.sh")
	var stderr bytes.Buffer
	cmd := exec.Command("bash", script)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		fail("the AWS CLI is not available (scripts/awscli.sh: %v): %s", err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// AWSEnv is the environment the AWS CLI runs in for a test: the given keys, us-east-1, no configuration or
// credentials files of the machine, no instance metadata, no pager and one attempt per call, HOME a fresh
// directory.
func AWSEnv(t testing.TB, keyID, secret string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"AWS_ACCESS_KEY_ID=" + keyID,
		"AWS_SECRET_ACCESS_KEY=" + secret,
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
		"AWS_MAX_ATTEMPTS=1",
	}
}
