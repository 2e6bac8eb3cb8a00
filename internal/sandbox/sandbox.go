// Package sandbox is the operator's policy over what a pipe's plugins may touch on the server's machine and
// network: which files file:// targets, dead-letter files and file:// secrets may open (Files), and which
// addresses HTTP targets and enrichments may connect to (Egress).
//
// Who gets which policy is decided in cmd/sluice and carried to the plugins through runtime.Deps and
// plugin.Env (and to the secret resolver through its Files field); there is no global policy.
//
//   - `sluice serve` runs definitions sent by API clients: files are confined to its --file-root
//     directories (default <data-dir>/files), and connections to link-local and cloud metadata
//     addresses and to the server's own listener are refused unless --allow-egress opens them.
//   - `sluice dev` confines files to its own temporary files directory (or --file-root) plus its own
//     standard output and error, and applies the same egress rules as serve to its API listener.
//   - `sluice run` runs a definition the operator wrote: Unrestricted.
//
// A nil *Files or *Egress, and so the zero Policy, is unrestricted; the constructors build the
// restricted ones.
package sandbox

// Policy says what the plugins of a pipe may touch. The zero value is Unrestricted.
type Policy struct {
	// Files confines the local files pipes open (file:// targets and dead-letter files, file:// secrets);
	// nil allows any path the process can open.
	Files *Files
	// Egress decides which addresses HTTP targets and enrichments may connect to, checked on the
	// resolved address at every dial; nil allows any.
	Egress *Egress
}

// Unrestricted is the policy of `sluice run`, whose definition the operator wrote: any file the process can
// open, any address it can reach. It is the zero Policy, named so that code choosing it says so.
func Unrestricted() Policy { return Policy{} }

// Restricted reports whether the policy limits files or egress at all.
func (p Policy) Restricted() bool { return p.Files != nil || p.Egress != nil }
