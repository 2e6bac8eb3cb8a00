package secret

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/sandbox"
)

// TestResolveFileConfined reads file:// secrets under the operator's file roots only: outside, through
// "..", and through a symbolic link leaving the root are refused, and the refusal carries no secret.
func TestResolveFileConfined(t *testing.T) {
	base := t.TempDir()
	root, outside := filepath.Join(base, "files"), filepath.Join(base, "outside")
	for _, d := range []string{root, outside} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	const secretText = `{"username":"u","password":"hunter2"}`
	for _, p := range []string{filepath.Join(root, "ok.json"), filepath.Join(outside, "secret.json")} {
		if err := os.WriteFile(p, []byte(secretText), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("../outside/secret.json", filepath.Join(root, "link.json")); err != nil {
		t.Fatal(err)
	}
	files, err := sandbox.NewFiles([]string{root}, false)
	if err != nil {
		t.Fatal(err)
	}
	r := &Resolver{Files: files}
	if got, err := r.Resolve(context.Background(), "file://"+root+"/ok.json"); err != nil || string(got) != secretText {
		t.Errorf("Resolve(inside) = %q, %v", got, err)
	}
	if _, err := r.Resolve(context.Background(), "file://"+root+"/missing.json"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Resolve(missing inside) = %v, want ErrNotFound", err)
	}
	for _, ref := range []string{
		"file://" + outside + "/secret.json",
		"file://" + root + "/../outside/secret.json",
		"file://" + root + "/link.json",
		"file:///etc/passwd",
	} {
		got, err := r.Resolve(context.Background(), ref)
		if !errors.Is(err, sandbox.ErrOutsideRoots) || got != nil {
			t.Errorf("Resolve(%s) = %q, %v; want a refusal wrapping ErrOutsideRoots", ref, got, err)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), ref) {
			t.Errorf("Resolve(%s) error %q: want the reference named and no secret", ref, err)
		}
	}
	// Unrestricted (sluice run) reads the same files.
	if _, err := (&Resolver{}).Resolve(context.Background(), "file://"+root+"/link.json"); err != nil {
		t.Errorf("unrestricted Resolve through the link = %v", err)
	}
}
