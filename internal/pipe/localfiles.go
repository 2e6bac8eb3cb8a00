package pipe

import (
	"strings"

	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/sandbox"
)

// LocalFile is a local file a definition names: a file:// Target or dead-letter destination, or a
// file:// secret reference (of the source, or one a plugin declares in its parameters: plugin.TargetSpec.Files).
type LocalFile struct {
	// Field is the member path, as in FieldError ("Target", "SourceParameters.SelfManagedKafkaParameters.Credentials.BasicAuth").
	Field string
	// Path is the file's path as the plugin or secret resolver will open it (percent-decoded, not cleaned).
	Path string
}

// LocalFiles lists the local files the definition names, in field order, so that a caller holding the
// operator's file policy (internal/sandbox) can check them before the pipe is built. The files inside
// plugin parameters are the ones reg's plugins declare (their Files hook): a plugin that reads no file
// (a header value "file:x") declares none. It performs no I/O; references that do not parse are left
// to Validate.
func (d *Definition) LocalFiles(reg *plugin.Registry) []LocalFile {
	var files []LocalFile
	d.validateCollect(reg, &files)
	return files
}

// pluginFiles records the file: references a plugin declared.
func (v *validator) pluginFiles(refs []plugin.FileRef) {
	for _, r := range refs {
		v.localFile(r.Field, r.Ref)
	}
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
