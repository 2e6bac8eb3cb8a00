//go:build !amd64 || purego

package event

// encodeBulk has no fast path on this architecture; appendBase64 encodes everything portably.
func encodeBulk(out, src []byte) (i, j int) { return 0, 0 }

// prefetchValue does nothing here.
func prefetchValue([]byte) {}
