// Package file is the `file://` target: it appends every delivered event to a local file as one JSON
// document per line, so `file:///dev/stdout` prints a pipe's output and `file:///var/log/orders.jsonl`
// keeps it.
//
// Target string: `file:///absolute/path[?fsync=batch|never]`. The file is opened once, in append mode and
// created (0644) when missing; its directory must exist.
//
// Confinement: under a restricted sandbox policy (plugin.Env.Sandbox.Files: `sluice serve --file-root`,
// `sluice dev`) the path must lie in one of the operator's file roots and is opened through os.Root, so
// that ".." or a symbolic link leaving the root is refused; /dev/stdout and /dev/stderr are bound to the
// process's streams only when the policy allows them. A refusal is a permanent error.
//
// Line framing: an event that is valid JSON is written compacted (a pretty-printed input template still gives
// one line); an event that is not JSON (an input template such as `Hello <$.value.name>` renders plain text)
// is written as a JSON string, so that every line is one JSON document whatever the template produced.
// Events the runtime vouches for (plugin.Batch.OwnJSON: Sluice's own event JSON, with no enrichment and
// no template) are written as they are, unchecked.
//
// Durability (the fsync policy): with `fsync=batch`, the default, Deliver returns only after the batch's
// lines are written and the file is fsynced, so the runtime commits Kafka offsets only for events that are on
// disk. `fsync=never` leaves flushing to the operating system (faster; a machine crash may lose lines whose
// offsets were committed). Files that cannot be synced — terminals, pipes, /dev/stdout, /dev/stderr — are
// never synced. A batch is written with a single write call under a lock, so lines from concurrent
// partitions never interleave; a failed write may leave a partial batch in the file, and the retried batch
// is appended again (at-least-once, as everywhere in Pipes).
package file

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sync"

	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/sandbox"
	"github.com/sluicehq/sluice/transform"
)

// Kind is the URI scheme this target registers under.
const Kind = "file"

// Fsync policies accepted in the `fsync` query parameter.
const (
	FsyncBatch = "batch"
	FsyncNever = "never"
)

func init() {
	plugin.Default.AddTarget(Spec(os.Stdout, os.Stderr))
}

// Target appends events to one file. It is safe for concurrent use.
type Target struct {
	path  string
	fsync bool

	mu sync.Mutex
	w  io.Writer
	f  *os.File // nil when w is a process stream handed in by the factory
	// bufs holds framing buffers (*[]byte): each batch is framed outside mu, so the partitions of a pipe
	// frame their batches at once and take turns only to write.
	bufs sync.Pool
}

var (
	_ plugin.Target = (*Target)(nil)
	_ plugin.Closer = (*Target)(nil)
)

// Config is the parsed form of a `file://` target string.
type Config struct {
	// Path is the absolute file path.
	Path string
	// Fsync is FsyncBatch or FsyncNever.
	Fsync string
	// Files confines Open to the operator's file roots (nil: anywhere). ParseTarget leaves it nil; the
	// factory sets it from plugin.Env.Sandbox.
	Files *sandbox.Files
}

// ParseTarget parses `file:///path[?fsync=batch|never]`.
func ParseTarget(target string) (Config, error) {
	u, err := url.Parse(target)
	if err != nil {
		return Config{}, fmt.Errorf("parsing file target %q: %w", target, err)
	}
	if u.Scheme != Kind {
		return Config{}, fmt.Errorf("file target %q: scheme must be %q", target, Kind)
	}
	if u.Host != "" && u.Host != "localhost" {
		return Config{}, fmt.Errorf("file target %q: host %q not supported, use file:///absolute/path", target, u.Host)
	}
	if u.Path == "" || u.Path[0] != '/' {
		return Config{}, fmt.Errorf("file target %q: path must be absolute (file:///absolute/path)", target)
	}
	if u.Path == "/" || u.Path[len(u.Path)-1] == '/' {
		return Config{}, fmt.Errorf("file target %q: must name a file, not a directory", target)
	}
	if u.Fragment != "" {
		return Config{}, fmt.Errorf("file target %q: must not have a fragment", target)
	}
	c := Config{Path: u.Path, Fsync: FsyncBatch}
	q := u.Query()
	for k := range q {
		if k != "fsync" {
			return Config{}, fmt.Errorf("file target %q: unknown option %q (known: fsync)", target, k)
		}
	}
	if v := q.Get("fsync"); v != "" {
		if v != FsyncBatch && v != FsyncNever {
			return Config{}, fmt.Errorf("file target %q: fsync must be %q or %q, not %q", target, FsyncBatch, FsyncNever, v)
		}
		c.Fsync = v
	}
	return c, nil
}

// Spec returns the target's registry entry. Paths /dev/stdout and /dev/stderr are bound to the given
// writers rather than opened, so that a command running in-process (sluice dev, tests) prints to its own
// streams. Files are opened within env.Sandbox.Files, and the streams bound only when it allows them.
func Spec(stdout, stderr io.Writer) plugin.TargetSpec {
	return plugin.TargetSpec{Kinds: []string{Kind}, Validate: Validate, New: newTarget(stdout, stderr)}
}

// Validate is the spec's Validate: the Target (or dead-letter destination) must be a file:///path the
// target can open; it owns no parameters.
func Validate(c plugin.Check) []plugin.FieldError {
	if _, err := ParseTarget(c.Endpoint); err != nil {
		return []plugin.FieldError{plugin.Errorf("Target", "%v", err)}
	}
	return nil
}

func newTarget(stdout, stderr io.Writer) func(context.Context, plugin.Env, plugin.Check) (plugin.Target, error) {
	return func(_ context.Context, env plugin.Env, chk plugin.Check) (plugin.Target, error) {
		c, err := ParseTarget(chk.Endpoint)
		if err != nil {
			return nil, err
		}
		c.Files = env.Sandbox.Files
		if (c.Path == sandbox.Stdout || c.Path == sandbox.Stderr) && !c.Files.AllowsStream(c.Path) {
			return nil, plugin.Permanent(fmt.Errorf("file target %s: %w", c.Path, c.Files.Check(c.Path)))
		}
		switch c.Path {
		case "/dev/stdout":
			return NewWriter(c.Path, stdout), nil
		case "/dev/stderr":
			return NewWriter(c.Path, stderr), nil
		}
		t, err := Open(c)
		if err != nil {
			return nil, err // not t: a nil *Target in a plugin.Target is a non-nil interface
		}
		return t, nil
	}
}

// Open opens (creating when missing) the file of c for appending, within c.Files (nil: anywhere). A path
// outside the roots is a permanent error wrapping sandbox.ErrOutsideRoots.
func Open(c Config) (*Target, error) {
	f, err := c.Files.OpenFile(c.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if errors.Is(err, sandbox.ErrOutsideRoots) {
		return nil, plugin.Permanent(fmt.Errorf("opening file target %s: %w", c.Path, err))
	}
	if err != nil {
		return nil, fmt.Errorf("opening file target %s: %w", c.Path, err)
	}
	t := &Target{path: c.Path, w: f, f: f}
	if c.Fsync == FsyncBatch {
		// Only regular files can be synced; fsync on a pipe or a character device fails with EINVAL.
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			t.fsync = true
		}
	}
	return t, nil
}

// NewWriter returns a target writing to w (never synced, never closed); name is used in errors.
func NewWriter(name string, w io.Writer) *Target {
	return &Target{path: name, w: w}
}

// Deliver appends one line per payload and, under the batch fsync policy, syncs the file before
// returning. Payloads the runtime vouches are valid JSON without whitespace outside strings (b.OwnJSON,
// b.Compact) are written as they are, without the check and compaction other payloads get (which cost most of a
// pass-through pipe's CPU).
func (t *Target) Deliver(ctx context.Context, b plugin.Batch) error {
	if b.OwnJSON || b.Compact {
		return t.write(ctx, b.Payloads, appendTrusted)
	}
	return t.write(ctx, b.Payloads, AppendLine)
}

// CompactJSON makes the target a plugin.CompactJSONTarget: it frames JSON payloads compacted, so a
// template rendered compact by the runtime (plugin.Batch.Compact) is written as it is.
func (t *Target) CompactJSON() bool { return true }

func appendTrusted(dst, ev []byte) []byte {
	dst = append(dst, ev...)
	return append(dst, '\n')
}

// write frames events with appendLine into one buffer, writes it with a single call and syncs it under the
// batch fsync policy.
func (t *Target) write(ctx context.Context, events []json.RawMessage, appendLine func(dst, ev []byte) []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	bp, _ := t.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	buf := (*bp)[:0]
	if n := lineBytes(events); cap(buf) < n {
		buf = make([]byte, 0, n) // one allocation instead of doubling through a large batch
	}
	for _, ev := range events {
		buf = appendLine(buf, ev)
	}
	defer func() {
		if cap(buf) <= 4<<20 { // do not pin a buffer grown by one huge batch
			*bp = buf[:0]
			t.bufs.Put(bp)
		}
	}()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.w == nil {
		return fmt.Errorf("writing to file target %s: %w", t.path, os.ErrClosed)
	}
	if _, err := t.w.Write(buf); err != nil {
		return fmt.Errorf("writing %d events to file target %s: %w", len(events), t.path, err)
	}
	if t.fsync {
		if err := t.f.Sync(); err != nil {
			return fmt.Errorf("syncing file target %s: %w", t.path, err)
		}
	}
	return nil
}

// Close closes the file (process streams are left open). Deliver after Close fails.
func (t *Target) Close(context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.f
	t.w, t.f = nil, nil
	if f == nil {
		return nil
	}
	if err := f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("closing file target %s: %w", t.path, err)
	}
	return nil
}

// lineBytes is the size of events framed as lines when none needs quoting.
func lineBytes(events []json.RawMessage) int {
	n := len(events)
	for _, ev := range events {
		n += len(ev)
	}
	return n
}

// AppendLine appends ev as one newline-terminated JSON document: compacted when ev is valid JSON, encoded
// as a JSON string otherwise.
func AppendLine(dst []byte, ev []byte) []byte {
	// One pass validates and compacts (transform.AppendCompact skips string content a word at a time);
	// encoding/json's Valid, a whitespace scan and Compact took most of a templated pipe's CPU.
	if out, ok := transform.AppendCompact(dst, ev); ok {
		return append(out, '\n')
	}
	s, _ := json.Marshal(string(ev)) // a string always marshals; invalid UTF-8 becomes U+FFFD
	dst = append(dst, s...)
	return append(dst, '\n')
}
