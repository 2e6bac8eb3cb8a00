package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/pipes"
	"github.com/aws/aws-sdk-go-v2/service/pipes/types"

	"github.com/sluicehq/sluice/internal/sluicetest"
	"github.com/sluicehq/sluice/internal/store"
)

// webRequest is what a web page (or a DNS-rebinding page) can make a browser send to a local server.
type webRequest struct {
	name             string
	host, origin, ct string
	wantStatus       int
	wantType         string
}

// refusesWebPages sends three requests a web page could make (cross-origin, with a foreign Host, and
// text/plain) to the keyless API at url, each trying to create a pipe, and checks that each is refused
// as JSON and that no pipe exists.
func refusesWebPages(t *testing.T, url string) {
	t.Helper()
	body := `{"Source":"smk://127.0.0.1:9092","Target":"kafka://127.0.0.1:9092/out","RoleArn":"arn:aws:iam::000000000000:role/sluice",` +
		`"DesiredState":"STOPPED","SourceParameters":{"SelfManagedKafkaParameters":{"TopicName":"t"}}}`
	for _, tc := range []webRequest{
		{name: "cross-origin", origin: "http://evil.example", ct: "application/json", wantStatus: 403, wantType: "AccessDeniedException"},
		{name: "foreign Host", host: "rebind.evil.example:9400", ct: "application/json", wantStatus: 403, wantType: "AccessDeniedException"},
		{name: "text/plain", ct: "text/plain", wantStatus: 415, wantType: "ValidationException"},
	} {
		req, err := http.NewRequest("POST", url+"/v1/pipes/web-"+strings.NewReplacer(" ", "-", "/", "-").Replace(tc.name), strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", tc.ct)
		if tc.origin != "" {
			req.Header.Set("Origin", tc.origin)
			req.Header.Set("Sec-Fetch-Site", "cross-site")
		}
		if tc.host != "" {
			req.Host = tc.host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if resp.StatusCode != tc.wantStatus || resp.Header.Get("X-Amzn-ErrorType") != tc.wantType ||
			json.Unmarshal(b, &e) != nil || e.Type != tc.wantType || e.Message == "" {
			t.Errorf("%s request = %d %s %s, want %d %s as JSON", tc.name, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), b, tc.wantStatus, tc.wantType)
		}
	}
	resp, err := http.Get(url + "/v1/pipes?NamePrefix=web-")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"Pipes":[]`) {
		t.Errorf("after the refused requests ListPipes = %d %s, want no web- pipes", resp.StatusCode, b)
	}
}

// TestKeylessServeRefusesWebPagesButNotTheAWSTools: a web page must not drive a keyless server, and the
// guard must not lock out the AWS tools. A keyless `sluice serve` (the built binary) refuses a cross-origin
// request, a foreign Host and text/plain, while the AWS SDK and the AWS CLI still work.
func TestKeylessServeRefusesWebPagesButNotTheAWSTools(t *testing.T) {
	t.Setenv("SLUICE_ACCESS_KEY_ID", "")
	t.Setenv("SLUICE_SECRET_ACCESS_KEY", "")
	_, url := sluicetest.Serve(t, t.TempDir())
	refusesWebPages(t, url)

	ctx := context.Background()
	c := pipes.New(pipes.Options{BaseEndpoint: aws.String(url), Region: "us-east-1", Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider("AKIDANY", "any-secret", "")})
	in := &pipes.CreatePipeInput{
		Name: aws.String("sdk-pipe"), Source: aws.String("smk://127.0.0.1:9092"), Target: aws.String("kafka://127.0.0.1:9092/out"),
		RoleArn: aws.String("arn:aws:iam::000000000000:role/sluice"), DesiredState: types.RequestedPipeStateStopped,
		SourceParameters: &types.PipeSourceParameters{SelfManagedKafkaParameters: &types.PipeSourceSelfManagedKafkaParameters{TopicName: aws.String("t")}},
	}
	out, err := c.CreatePipe(ctx, in)
	if err != nil {
		t.Fatalf("SDK CreatePipe: %v", err)
	}
	if _, err := c.TagResource(ctx, &pipes.TagResourceInput{ResourceArn: out.Arn, Tags: map[string]string{"a": "b"}}); err != nil {
		t.Fatalf("SDK TagResource: %v", err)
	}
	if d, err := c.DescribePipe(ctx, &pipes.DescribePipeInput{Name: aws.String("sdk-pipe")}); err != nil || d.Tags["a"] != "b" {
		t.Fatalf("SDK DescribePipe = %v, %v", d, err)
	}
	if _, err := c.DeletePipe(ctx, &pipes.DeletePipeInput{Name: aws.String("sdk-pipe")}); err != nil {
		t.Fatalf("SDK DeletePipe: %v", err)
	}

	bin := sluicetest.AWSCLI(t)
	aws := func(args ...string) (string, error) {
		cmd := exec.Command(bin, append(append([]string{"pipes"}, args...), "--endpoint-url", url, "--output", "json")...)
		cmd.Env = sluicetest.AWSEnv(t, "AKIDANY", "any")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if err != nil {
			return stderr.String(), err
		}
		return stdout.String(), nil
	}
	for _, args := range [][]string{
		{"create-pipe", "--name", "cli-pipe", "--source", "smk://127.0.0.1:9092", "--target", "kafka://127.0.0.1:9092/out",
			"--role-arn", "arn:aws:iam::000000000000:role/sluice", "--desired-state", "STOPPED",
			"--source-parameters", `{"SelfManagedKafkaParameters":{"TopicName":"t"}}`},
		{"describe-pipe", "--name", "cli-pipe"},
		{"list-pipes"},
		{"tag-resource", "--resource-arn", "arn:aws:pipes:us-east-1:000000000000:pipe/cli-pipe", "--tags", "a=b"},
		{"untag-resource", "--resource-arn", "arn:aws:pipes:us-east-1:000000000000:pipe/cli-pipe", "--tag-keys", "a"},
		{"delete-pipe", "--name", "cli-pipe"},
	} {
		if out, err := aws(args...); err != nil {
			t.Errorf("aws pipes %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if out, err := aws("describe-pipe", "--name", ".."); err == nil || !strings.Contains(out, "ValidationException") {
		t.Errorf("aws pipes describe-pipe --name ..: %v %s, want ValidationException", err, out)
	}
}

// TestDevRefusesWebPages: `sluice dev` serves the same keyless API, with the same rules.
func TestDevRefusesWebPages(t *testing.T) {
	p := sluicetest.Start(t, "dev", "--kafka-port", "0", "--listen", "127.0.0.1:0")
	m := p.WaitFor(t, 60*time.Second, `--endpoint-url (http://\S+)`)
	refusesWebPages(t, m[1])
	p.Signal(t, syscall.SIGTERM)
	p.Wait(t, 30*time.Second)
}

// TestServeDamagedStore is a regression test for a truncated store file, which made serve panic with a stack
// trace: the built binary, on a data directory whose store file was cut short, exits with 1 and one
// message that names the file and what to do, without a panic or a stack trace.
func TestServeDamagedStore(t *testing.T) {
	t.Setenv("SLUICE_ACCESS_KEY_ID", "")
	t.Setenv("SLUICE_SECRET_ACCESS_KEY", "")
	src := t.TempDir()
	p, url := sluicetest.Serve(t, src)
	c := pipes.New(pipes.Options{BaseEndpoint: aws.String(url), Region: "us-east-1", Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider("AKIDANY", "any-secret", "")})
	for i := range 30 {
		name := string(rune('a' + i%26))
		_, err := c.CreatePipe(context.Background(), &pipes.CreatePipeInput{
			Name: aws.String(fmt.Sprintf("pipe-%02d", i)), Source: aws.String("smk://127.0.0.1:9092"), Target: aws.String("kafka://127.0.0.1:9092/out"),
			RoleArn: aws.String("arn:aws:iam::000000000000:role/sluice"), DesiredState: types.RequestedPipeStateStopped,
			Description:      aws.String(strings.Repeat(name, 500)),
			SourceParameters: &types.PipeSourceParameters{SelfManagedKafkaParameters: &types.PipeSourceSelfManagedKafkaParameters{TopicName: aws.String("t")}},
		})
		if err != nil {
			t.Fatalf("CreatePipe: %v", err)
		}
	}
	p.Signal(t, syscall.SIGTERM)
	if code := p.Wait(t, 30*time.Second); code != 0 {
		t.Fatalf("sluice serve exited with %d on SIGTERM", code)
	}
	data, err := os.ReadFile(filepath.Join(src, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{100, 8192, 16384} {
		dir := t.TempDir()
		path := filepath.Join(dir, store.FileName)
		if err := os.WriteFile(path, data[:n], 0o600); err != nil {
			t.Fatal(err)
		}
		p := sluicetest.Start(t, "serve", "--data-dir", dir, "--listen", "127.0.0.1:0")
		code := p.Wait(t, 30*time.Second)
		stderr := p.Stderr.String()
		if code != 1 || !strings.Contains(stderr, path) || !strings.Contains(stderr, "restore the file from a backup") ||
			strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("serve on a store cut to %d of %d bytes: exit %d, stderr:\n%s\nwant exit 1 and one line naming %s and what to do",
				n, len(data), code, sluicetest.Tail(stderr, 3000), path)
		}
	}
}
