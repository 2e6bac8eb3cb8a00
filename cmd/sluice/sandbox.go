package main

import (
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluicehq/sluice/internal/sandbox"
)

// sandboxFlags are the flags of the commands whose API clients create pipes (serve, dev).
type sandboxFlags struct {
	fileRoots   listFlag
	allowEgress prefixFlag
}

// register adds --file-root and --allow-egress to fs; defaultRoot says where files go without --file-root.
func (f *sandboxFlags) register(fs *flag.FlagSet, defaultRoot string) {
	fs.Var(&f.fileRoots, "file-root", "`directory` that file:// targets, dead-letter files and file:// secrets of pipes must lie in (repeatable; default "+defaultRoot+")")
	fs.Var(&f.allowEgress, "allow-egress", "`CIDR` (or address) that HTTP targets and enrichments may reach although refused by default: link-local, cloud metadata, this server's own listener (repeatable)")
}

// listFlag is a repeatable string flag (--file-root DIR --file-root DIR2).
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	if v == "" {
		return fmt.Errorf("empty value")
	}
	*l = append(*l, v)
	return nil
}

// prefixFlag is a repeatable --allow-egress flag: a CIDR prefix, or a bare address meaning just it.
type prefixFlag []netip.Prefix

func (p *prefixFlag) String() string {
	s := make([]string, len(*p))
	for i, v := range *p {
		s[i] = v.String()
	}
	return strings.Join(s, ",")
}

func (p *prefixFlag) Set(v string) error {
	if a, err := netip.ParseAddr(v); err == nil {
		*p = append(*p, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		return nil
	}
	pr, err := netip.ParsePrefix(v)
	if err != nil {
		return fmt.Errorf("%q is not an address or CIDR prefix (169.254.169.254/32, fd00:ec2::254, 10.0.0.0/8)", v)
	}
	*p = append(*p, pr.Masked())
	return nil
}

// serverFiles returns the file policy of a server: the --file-root directories, or when none is given
// defaultRoot, created when missing. With streams, the command's own standard output and error are
// allowed too (sluice dev).
func serverFiles(roots []string, defaultRoot string, streams bool) (*sandbox.Files, error) {
	if len(roots) == 0 {
		if err := os.MkdirAll(defaultRoot, 0o750); err != nil {
			return nil, fmt.Errorf("creating the file root %s: %w", defaultRoot, err)
		}
		roots = []string{defaultRoot}
	}
	files, err := sandbox.NewFiles(roots, streams)
	if err != nil {
		return nil, fmt.Errorf("--file-root: %w", err)
	}
	return files, nil
}

// serverEgress returns the egress policy of a server listening on ln: the default refusals and the
// listener itself, except what --allow-egress opens.
func serverEgress(allow []netip.Prefix, ln net.Addr) *sandbox.Egress {
	var self []netip.AddrPort
	if ap, err := netip.ParseAddrPort(ln.String()); err == nil {
		self = append(self, ap)
	}
	return sandbox.NewEgress(allow, self)
}

// defaultFileRoot is where serve's pipes may write files when no --file-root is given.
func defaultFileRoot(dataDir string) string { return filepath.Join(dataDir, "files") }
