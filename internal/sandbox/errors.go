package sandbox

import "errors"

// Sentinel errors; branch on them with errors.Is. A refusal is permanent: retrying cannot change the
// operator's policy.
var (
	// ErrOutsideRoots is returned for a file path that is relative, lies outside every file root, or
	// leaves a root through ".." or a symbolic link.
	ErrOutsideRoots = errors.New("outside the file roots")
	// ErrEgressRefused is returned (inside an *EgressError) for a connection to an address the egress
	// policy refuses.
	ErrEgressRefused = errors.New("egress refused")
)
