package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/sluicetest"
)

// readmeAWSCommands returns every `aws pipes ...` command the README shows, in order: the lines of its code
// blocks (with their `\` continuations joined) and its inline code spans. `aws pipes ... --endpoint-url`, a
// mention rather than a command, is left out.
func readmeAWSCommands(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	inBlock := false
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inBlock = !inBlock
			continue
		}
		if inBlock {
			cmd := strings.TrimSpace(line)
			if !strings.HasPrefix(cmd, "aws pipes ") {
				continue
			}
			for strings.HasSuffix(cmd, `\`) && i+1 < len(lines) {
				i++
				cmd = strings.TrimSuffix(cmd, `\`) + " " + strings.TrimSpace(lines[i])
			}
			if c, _, _ := strings.Cut(cmd, "  #"); c != "" {
				cmd = strings.TrimSpace(c)
			}
			cmds = append(cmds, cmd)
			continue
		}
		for _, m := range regexp.MustCompile("`(aws pipes [^`]+)`").FindAllStringSubmatch(line, -1) {
			if !strings.Contains(m[1], "...") {
				cmds = append(cmds, m[1])
			}
		}
	}
	return cmds
}

// TestREADMEAWSCLIExamples runs every `aws pipes` command of the README, as written, with the real AWS CLI
// against `sluice dev` (the README's own server for newcomers): only the endpoint is moved to the port dev
// chose. A `file://NAME.json` argument gets a definition named NAME that dev can run (its broker, a file
// target under dev's file root, the RoleArn the CLI requires), and an update of a pipe the README does not
// create first gets that pipe created before it.
func TestREADMEAWSCLIExamples(t *testing.T) {
	cmds := readmeAWSCommands(t)
	if len(cmds) < 3 {
		t.Fatalf("README shows %d aws pipes commands, want at least list, create and update: %q", len(cmds), cmds)
	}
	bin := sluicetest.AWSCLI(t)
	p := sluicetest.Start(t, "dev", "--kafka-port", "0", "--listen", "127.0.0.1:0", "--rate", "20")
	url := p.WaitFor(t, 60*time.Second, `--endpoint-url (http://\S+)`)[1]
	broker := p.WaitFor(t, time.Second, `listening on (127\.0\.0\.1:\d+)`)[1]
	root := p.WaitFor(t, time.Second, `Pipes may write files under (\S+) and`)[1]

	work := t.TempDir()
	env := sluicetest.AWSEnv(t, "AKIDANY", "any-secret")
	define := func(name string) string {
		def, _ := json.Marshal(map[string]any{
			"Name":   name,
			"Source": "smk://" + broker,
			"SourceParameters": map[string]any{"SelfManagedKafkaParameters": map[string]any{
				"TopicName": "orders", "StartingPosition": "TRIM_HORIZON"}},
			"Target":  "file://" + filepath.Join(root, name+".jsonl"),
			"RoleArn": "arn:aws:iam::123456789012:role/sluice",
		})
		path := filepath.Join(work, name+".json")
		if err := os.WriteFile(path, def, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	aws := func(cmd string) (string, error) {
		t.Helper()
		cmd = strings.Replace(cmd, "aws ", bin+" ", 1)
		c := exec.Command("bash", "-c", cmd+" --output json")
		c.Dir, c.Env = work, env
		var out bytes.Buffer
		c.Stdout, c.Stderr = &out, &out
		err := c.Run()
		return out.String(), err
	}
	created := map[string]bool{}
	for _, cmd := range cmds {
		if !strings.Contains(cmd, "--endpoint-url http://127.0.0.1:9400") {
			t.Errorf("README command %q does not point at sluice's default endpoint http://127.0.0.1:9400", cmd)
			continue
		}
		run := strings.Replace(cmd, "http://127.0.0.1:9400", url, 1)
		for _, m := range regexp.MustCompile(`file://([\w.-]+)\.json\b`).FindAllStringSubmatch(run, -1) {
			define(m[1])
			created[m[1]] = true
		}
		if m := regexp.MustCompile(`update-pipe --name (\S+)`).FindStringSubmatch(run); m != nil && !created[m[1]] {
			if out, err := aws("aws pipes create-pipe --cli-input-json file://" + define(m[1]) + " --endpoint-url " + url); err != nil {
				t.Fatalf("creating %s for the README's update: %v\n%s", m[1], err, out)
			}
			created[m[1]] = true
			waitNotTransitional(t, bin, env, url, m[1])
		}
		out, err := aws(run)
		if err != nil {
			t.Errorf("README command failed: %s\n%v\n%s", cmd, err, out)
			continue
		}
		t.Logf("%s\n%s", cmd, sluicetest.Tail(out, 300))
		if strings.Contains(cmd, "list-pipes") && !strings.Contains(out, `"dev-orders"`) {
			t.Errorf("%s lists no dev-orders pipe:\n%s", cmd, out)
		}
	}
	p.Signal(t, syscall.SIGTERM)
	p.Wait(t, 30*time.Second)
}

// waitNotTransitional waits until a pipe has left CREATING (UpdatePipe on a pipe in a transitional state is a
// ConflictException, in Pipes too).
func waitNotTransitional(t *testing.T, bin string, env []string, url, name string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c := exec.Command(bin, "pipes", "describe-pipe", "--name", name, "--endpoint-url", url, "--output", "json")
		c.Env = env
		out, err := c.Output()
		var d struct{ CurrentState string }
		if err == nil && json.Unmarshal(out, &d) == nil {
			switch d.CurrentState {
			case "CREATING", "UPDATING", "STARTING", "STOPPING", "DELETING":
			default:
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pipe %s still %s (%v) after 30s", name, d.CurrentState, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
