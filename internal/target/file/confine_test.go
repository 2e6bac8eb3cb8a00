package file

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/sandbox"
)

// TestFactoryConfinedToRoots builds file targets under a restricted policy: paths in the root open, paths
// outside, through "..", through a symbolic link leaving the root, and the process streams are refused
// with a permanent error, and nothing is created outside the root.
func TestFactoryConfinedToRoots(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "files")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{root, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("../outside", filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub", filepath.Join(root, "inside")); err != nil {
		t.Fatal(err)
	}
	files, err := sandbox.NewFiles([]string{root}, false)
	if err != nil {
		t.Fatal(err)
	}
	env := plugin.Env{PipeName: "p", Sandbox: sandbox.Policy{Files: files}}
	var stdout bytes.Buffer
	factory := testFactory(&stdout, &stdout)
	tests := []struct {
		name   string
		target string
		ok     bool
	}{
		{"in the root", "file://" + root + "/out.jsonl", true},
		{"through a link inside the root", "file://" + root + "/inside/out.jsonl", true},
		{"dot-dot staying inside", "file://" + root + "/sub/../dd.jsonl", true},
		{"outside", "file://" + outside + "/out.jsonl", false},
		{"dot-dot leaving", "file://" + root + "/../outside/dd.jsonl", false},
		{"encoded dot-dot leaving", "file://" + root + "/%2e%2e/outside/enc.jsonl", false},
		{"symlink leaving", "file://" + root + "/escape/link.jsonl", false},
		{"stdout", "file:///dev/stdout", false},
		{"stderr", "file:///dev/stderr", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg, err := factory(context.Background(), env, tt.target, json.RawMessage("null"))
			if tt.ok {
				if err != nil {
					t.Fatalf("factory(%s) = %v, want a target", tt.target, err)
				}
				if err := tg.Deliver(context.Background(), plugin.Batch{Payloads: events(`{"a":1}`)}); err != nil {
					t.Fatalf("Deliver: %v", err)
				}
				tg.(plugin.Closer).Close(context.Background())
				return
			}
			if err == nil {
				tg.(plugin.Closer).Close(context.Background())
				t.Fatalf("factory(%s) = a target, want a refusal", tt.target)
			}
			if tg != nil {
				t.Errorf("factory(%s) returned a non-nil target (%T) with its error", tt.target, tg)
			}
			if !errors.Is(err, sandbox.ErrOutsideRoots) || !plugin.IsPermanent(err) {
				t.Errorf("factory(%s) = %v, want a permanent ErrOutsideRoots", tt.target, err)
			}
		})
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("files were created outside the root: %v", entries)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout got %q", stdout.String())
	}
}

// TestFactoryStreamsAllowed binds /dev/stdout when the policy allows the process streams (sluice dev).
func TestFactoryStreamsAllowed(t *testing.T) {
	files, err := sandbox.NewFiles([]string{t.TempDir()}, true)
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	tg, err := testFactory(&stdout, nil)(context.Background(), plugin.Env{Sandbox: sandbox.Policy{Files: files}}, "file:///dev/stdout", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tg.Deliver(context.Background(), plugin.Batch{Payloads: events(`{"a":1}`)}); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "{\"a\":1}\n" {
		t.Errorf("stdout = %q", stdout.String())
	}
}

// TestFactoryUnrestricted keeps today's behaviour for sluice run: any path, and an open failure that is
// not a policy refusal is not marked permanent by the policy.
func TestFactoryUnrestricted(t *testing.T) {
	dir := t.TempDir()
	tg, err := testFactory(nil, nil)(context.Background(), plugin.Env{Sandbox: sandbox.Unrestricted()}, "file://"+dir+"/x.jsonl", nil)
	if err != nil {
		t.Fatal(err)
	}
	tg.(plugin.Closer).Close(context.Background())
	_, err = testFactory(nil, nil)(context.Background(), plugin.Env{}, "file://"+dir+"/missing/x.jsonl", nil)
	if err == nil || errors.Is(err, sandbox.ErrOutsideRoots) {
		t.Errorf("missing directory = %v, want an open error that is no policy refusal", err)
	}
}
