package sandbox

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Stream paths: the file target binds them to the process's own standard output and error instead of
// opening them (see Files.AllowsStream).
const (
	Stdout = "/dev/stdout"
	Stderr = "/dev/stderr"
)

// Files confines file access to directory trees (the roots). A path is allowed when, once cleaned, it is
// absolute and lies inside a root; it is then opened through os.Root, so that the kernel-level walk
// refuses symbolic links that leave the root (and absolute links, which os.Root never follows) even if
// they appear after the check. A nil *Files allows every path. A Files is safe for concurrent use.
type Files struct {
	roots   []fileRoot
	streams bool
}

// fileRoot is one root directory.
type fileRoot struct {
	dir      string // absolute and clean, as the operator named it
	resolved string // dir with its symbolic links resolved; equal to dir when it has none
}

// NewFiles confines file access to roots, each an existing directory (relative ones are made absolute
// against the working directory). With streams, /dev/stdout and /dev/stderr are allowed as well, for a
// command whose own output streams pipes may write to (sluice dev).
func NewFiles(roots []string, streams bool) (*Files, error) {
	f := &Files{streams: streams}
	for _, r := range roots {
		if r == "" {
			return nil, errors.New("file root: empty path")
		}
		dir, err := filepath.Abs(r)
		if err != nil {
			return nil, fmt.Errorf("file root %s: %w", r, err)
		}
		st, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("file root %s: %w", r, err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("file root %s: not a directory", r)
		}
		resolved, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return nil, fmt.Errorf("file root %s: %w", r, err)
		}
		f.roots = append(f.roots, fileRoot{dir: dir, resolved: resolved})
	}
	return f, nil
}

// Roots returns the root directories, as given (made absolute). Nil for an unrestricted Files.
func (f *Files) Roots() []string {
	if f == nil {
		return nil
	}
	out := make([]string, len(f.roots))
	for i, r := range f.roots {
		out[i] = r.dir
	}
	return out
}

// Check reports, without touching the file system, whether path may be opened: nil when f is nil or the
// cleaned path is absolute and inside a root (or is /dev/stdout or /dev/stderr and streams are allowed).
// A symbolic link that leaves the root is found only when the file is opened (OpenFile).
func (f *Files) Check(path string) error {
	if f == nil {
		return nil
	}
	if f.streams && (path == Stdout || path == Stderr) {
		return nil
	}
	_, _, err := f.locate(path)
	return err
}

// AllowsStream reports whether path, /dev/stdout or /dev/stderr, may be bound to the process's own
// stream: always when f is nil, when f was built with streams, or when a root holds the path.
func (f *Files) AllowsStream(path string) bool {
	return f.Check(path) == nil
}

// locate returns the root holding path and path relative to it.
func (f *Files) locate(path string) (string, string, error) {
	if !filepath.IsAbs(path) {
		return "", "", fmt.Errorf("%w: %s is a relative path; paths must be absolute and under %s", ErrOutsideRoots, path, f.rootList())
	}
	clean := filepath.Clean(path)
	for _, r := range f.roots {
		for _, dir := range []string{r.dir, r.resolved} {
			if rel, ok := within(dir, clean); ok {
				return dir, rel, nil
			}
		}
	}
	return "", "", fmt.Errorf("%w: %s is not under %s", ErrOutsideRoots, path, f.rootList())
}

// within reports whether the clean absolute path lies in dir, and returns it relative to dir.
func within(dir, path string) (string, bool) {
	if path == dir {
		return ".", true
	}
	prefix := dir
	if !strings.HasSuffix(prefix, string(filepath.Separator)) {
		prefix += string(filepath.Separator)
	}
	rel, ok := strings.CutPrefix(path, prefix)
	return rel, ok
}

func (f *Files) rootList() string {
	if len(f.roots) == 0 {
		return "any file root (none is configured: sluice serve --file-root DIR adds one)"
	}
	return strings.Join(f.Roots(), ", ") + " (sluice serve --file-root DIR adds a root)"
}

// OpenFile opens path as os.OpenFile does, confined to the roots: the path must pass Check, and it is
// opened relative to its root with os.Root, which refuses symbolic links that leave the root or are
// absolute. Refusals wrap ErrOutsideRoots. With a nil f it is os.OpenFile.
func (f *Files) OpenFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	if f == nil {
		return os.OpenFile(path, flag, perm)
	}
	dir, rel, err := f.locate(path)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening file root %s: %w", dir, err)
	}
	defer root.Close()
	file, err := root.OpenFile(rel, flag, perm)
	if err != nil {
		// os.Root reports an escape with an error of its own (not an errno from the kernel); every
		// other failure (no such file, permission, a directory) is the kernel's and stays as it is.
		var errno syscall.Errno
		if !errors.As(err, &errno) {
			return nil, fmt.Errorf("%w: %s leaves the file root %s through a symbolic link (links inside a root must be relative and stay inside it)",
				ErrOutsideRoots, path, dir)
		}
		return nil, err
	}
	return file, nil
}

// FileURLPath returns the local path a file:// URL names (file:///absolute/path, or
// file://localhost/absolute/path), percent-decoded as URLs are. It is the one reading of file:// URLs
// shared by the secret references and the static checks of definitions.
func FileURLPath(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%q is not a valid file URL: %w", s, err)
	}
	if !strings.EqualFold(u.Scheme, "file") {
		return "", fmt.Errorf("%q is not a file:// URL", s)
	}
	if u.Host != "" && u.Host != "localhost" {
		return "", fmt.Errorf("file URL %q has host %q: use file:///absolute/path (three slashes)", s, u.Host)
	}
	if u.Path == "" || u.Path[0] != '/' {
		return "", fmt.Errorf("file URL %q must name an absolute path: file:///absolute/path", s)
	}
	return u.Path, nil
}
