package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// fileTree builds base/root (the file root) and base/outside, with links in the root:
//
//	root/in.txt, root/sub/, root/inlink -> sub, root/out -> ../outside, root/abs -> <abs>/root/sub,
//	root/dangling -> ../outside/new.txt; outside/secret.txt; root2/ (a sibling sharing root's prefix)
func fileTree(t *testing.T) (base, root string) {
	t.Helper()
	base = t.TempDir()
	root = filepath.Join(base, "root")
	for _, d := range []string{root, filepath.Join(root, "sub"), filepath.Join(base, "outside"), filepath.Join(base, "root2")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range map[string]string{"root/in.txt": "in", "outside/secret.txt": "secret", "root2/x": "x"} {
		if err := os.WriteFile(filepath.Join(base, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"inlink": "sub", "out": "../outside", "abs": filepath.Join(root, "sub"), "dangling": "../outside/new.txt",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	return base, root
}

func TestFilesCheckAndOpen(t *testing.T) {
	base, root := fileTree(t)
	f, err := NewFiles([]string{root}, false)
	if err != nil {
		t.Fatal(err)
	}
	const (
		ok      = iota
		refused // ErrOutsideRoots
		other   // an ordinary open error
	)
	tests := []struct {
		name        string
		path        string
		check, open int
	}{
		{"file in the root", root + "/in.txt", ok, ok},
		{"new file in a subdirectory", root + "/sub/new.txt", ok, ok},
		{"dot-dot that stays inside", root + "/sub/../in.txt", ok, ok},
		{"redundant slashes and dots", root + "//./sub//x.txt", ok, ok},
		{"dot-dot that leaves", root + "/../outside/secret.txt", refused, refused},
		{"deep dot-dot that leaves", root + "/sub/../../outside/secret.txt", refused, refused},
		{"absolute path outside", base + "/outside/secret.txt", refused, refused},
		{"sibling sharing the prefix", base + "/root2/x", refused, refused},
		{"relative path", "in.txt", refused, refused},
		{"relative dot-dot", "../outside/secret.txt", refused, refused},
		{"symlink inside the root", root + "/inlink/y.txt", ok, ok},
		{"symlink leaving the root", root + "/out/secret.txt", ok, refused},
		{"absolute symlink (os.Root never follows one)", root + "/abs/z.txt", ok, refused},
		{"dangling symlink leaving the root", root + "/dangling", ok, refused},
		{"the root itself is a directory", root, ok, other},
		{"/dev/stdout without streams", "/dev/stdout", refused, refused},
		{"/etc/passwd", "/etc/passwd", refused, refused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := f.Check(tt.path)
			if got := outcome(err); got != tt.check {
				t.Errorf("Check(%s) = %v, want outcome %d", tt.path, err, tt.check)
			}
			file, err := f.OpenFile(tt.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
			if file != nil {
				file.Close()
			}
			if got := outcome(err); got != tt.open {
				t.Errorf("OpenFile(%s) = %v, want outcome %d", tt.path, err, tt.open)
			}
		})
	}
	// Nothing was created outside the root through the refused links.
	if _, err := os.Lstat(filepath.Join(base, "outside", "new.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the dangling link created outside/new.txt: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(base, "outside", "secret.txt")); string(b) != "secret" {
		t.Errorf("outside/secret.txt = %q, want it untouched", b)
	}
}

func outcome(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrOutsideRoots):
		return 1
	}
	return 2
}

func TestFilesRootThroughSymlinkAndStreams(t *testing.T) {
	base, root := fileTree(t)
	alias := filepath.Join(base, "alias")
	if err := os.Symlink(root, alias); err != nil {
		t.Fatal(err)
	}
	f, err := NewFiles([]string{alias}, true)
	if err != nil {
		t.Fatal(err)
	}
	// The root named through a link holds paths written either way.
	for _, p := range []string{alias + "/in.txt", root + "/in.txt", Stdout, Stderr} {
		if err := f.Check(p); err != nil {
			t.Errorf("Check(%s) = %v, want nil", p, err)
		}
	}
	if !f.AllowsStream(Stdout) {
		t.Errorf("AllowsStream(%s) = false with streams", Stdout)
	}
	file, err := f.OpenFile(root+"/in.txt", os.O_RDONLY, 0)
	if err != nil {
		t.Fatalf("OpenFile through the resolved root: %v", err)
	}
	file.Close()
	if err := f.Check("/dev/null"); !errors.Is(err, ErrOutsideRoots) {
		t.Errorf("Check(/dev/null) = %v, want ErrOutsideRoots (streams allow stdout and stderr only)", err)
	}
}

func TestFilesRootDev(t *testing.T) {
	// An operator who lists /dev as a root lets pipes bind /dev/stdout (the file target binds it to the
	// process's stream rather than opening the /proc link, which os.Root would refuse).
	f, err := NewFiles([]string{"/dev"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !f.AllowsStream(Stdout) {
		t.Errorf("AllowsStream(%s) = false under root /dev", Stdout)
	}
}

func TestNilFilesIsUnrestricted(t *testing.T) {
	var f *Files
	_, root := fileTree(t)
	if err := f.Check("relative/anything"); err != nil {
		t.Errorf("nil Check = %v", err)
	}
	file, err := f.OpenFile(root+"/out/secret.txt", os.O_RDONLY, 0)
	if err != nil {
		t.Fatalf("nil OpenFile through a link = %v, want it opened", err)
	}
	file.Close()
	if f.Roots() != nil || !f.AllowsStream(Stdout) {
		t.Errorf("nil Files: Roots = %v, AllowsStream = %v", f.Roots(), f.AllowsStream(Stdout))
	}
	if Unrestricted().Restricted() {
		t.Error("Unrestricted().Restricted() = true")
	}
}

func TestNewFilesErrors(t *testing.T) {
	base, root := fileTree(t)
	for _, r := range []string{"", base + "/missing", root + "/in.txt"} {
		if _, err := NewFiles([]string{r}, false); err == nil {
			t.Errorf("NewFiles(%q) = nil error, want one", r)
		}
	}
	empty, err := NewFiles(nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := empty.Check(root + "/in.txt"); !errors.Is(err, ErrOutsideRoots) {
		t.Errorf("no roots: Check = %v, want ErrOutsideRoots", err)
	}
}

func TestFileURLPath(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"file:///etc/x.json", "/etc/x.json", true},
		{"file://localhost/etc/x.json", "/etc/x.json", true},
		{"file:///a%20b/c", "/a b/c", true},
		{"file:///a/%2e%2e/b", "/a/../b", true},
		{"file://relative/x.json", "", false},
		{"file:relative", "", false},
		{"http:///x", "", false},
		{"file://", "", false},
	}
	for _, tt := range tests {
		got, err := FileURLPath(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("FileURLPath(%q) = %q, %v; want %q, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
