package main

import (
	"context"
	"fmt"
)

// TODO(owner of this command): replace with the real implementation.
func cmdServe(ctx context.Context, args []string, std stdio) int {
	fmt.Fprintln(std.err, "sluice: not implemented yet")
	return 1
}
