package api

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
)

// CheckListen refuses to serve the API unauthenticated beyond loopback: without access keys, addr
// must name a loopback host (127.0.0.0/8, ::1 or localhost); an empty host or 0.0.0.0 means every
// interface and is refused.
func CheckListen(addr string, authenticated bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	if authenticated || isLoopback(host) {
		return nil
	}
	return fmt.Errorf("listen address %s is not loopback and no access keys are configured: "+
		"anyone who can reach it could manage pipes; configure --access-key-id/--secret-access-key "+
		"or --credentials-file, or listen on 127.0.0.1", addr)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LoadCredentialsFile reads access keys from a file in the AWS shared-credentials format: every
// section with aws_access_key_id and aws_secret_access_key adds one key pair. Lines starting with '#'
// or ';' are comments.
func LoadCredentialsFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading credentials file: %w", err)
	}
	defer f.Close()
	keys := map[string]string{}
	section, id, secret := "", "", ""
	flush := func() error {
		switch {
		case id == "" && secret == "":
		case id == "" || secret == "":
			return fmt.Errorf("credentials file %s: section [%s] needs both aws_access_key_id and aws_secret_access_key", path, section)
		default:
			keys[id] = secret
		}
		id, secret = "", ""
		return nil
	}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			if err := flush(); err != nil {
				return nil, err
			}
			section = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("credentials file %s line %d: want key = value", path, n)
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "aws_access_key_id":
			id = strings.TrimSpace(v)
		case "aws_secret_access_key":
			secret = strings.TrimSpace(v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading credentials file %s: %w", path, err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, errors.New("credentials file " + path + " holds no access keys")
	}
	return keys, nil
}
