package pipe

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/sluicehq/sluice/internal/sandbox"
)

// LocalFile is a local file a definition names: a file:// Target or dead-letter destination, or a
// file:// secret reference (of the source, or any file:// string in a plugin's parameter members).
type LocalFile struct {
	// Field is the member path, as in FieldError ("Target", "SourceParameters.SelfManagedKafkaParameters.Credentials.BasicAuth").
	Field string
	// Path is the file's path as the plugin or secret resolver will open it (percent-decoded, not cleaned).
	Path string
}

// LocalFiles lists the local files the definition names, in field order, so that a caller holding the
// operator's file policy (internal/sandbox) can check them before the pipe is built. It performs no
// I/O; references that do not parse are left to Validate.
func (d *Definition) LocalFiles() []LocalFile {
	var files []LocalFile
	d.validateCollect(nil, &files)
	return files
}

// localFiles records every string of a plugin's raw parameter member that is a file:// reference (the
// plugins' secret references, such as a connection's SecretArn), by its field path under prefix. Only the
// plugin knows which strings it reads as files; a file:// string it reads otherwise (a header value) is
// listed too, which can only make the operator's file roots refuse a pipe they would not have to.
func (v *validator) localFiles(prefix string, raw json.RawMessage) {
	if v.files == nil {
		return
	}
	var val any
	if json.Unmarshal(raw, &val) != nil {
		return
	}
	var walk func(path string, val any)
	walk = func(path string, val any) {
		switch x := val.(type) {
		case string:
			v.localFile(path, x)
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(path+"."+k, x[k])
			}
		}
	}
	walk(prefix, val)
}

// localFile records a file:// endpoint or secret reference when the validator collects them.
func (v *validator) localFile(field, ref string) {
	if v.files == nil || !strings.HasPrefix(strings.ToLower(ref), "file:") {
		return
	}
	if p, err := sandbox.FileURLPath(ref); err == nil {
		*v.files = append(*v.files, LocalFile{Field: field, Path: p})
	}
}
