package api

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheckListen(t *testing.T) {
	cases := []struct {
		addr          string
		authenticated bool
		ok            bool
	}{
		{"127.0.0.1:9400", false, true},
		{"127.1.2.3:9400", false, true},
		{"[::1]:9400", false, true},
		{"localhost:9400", false, true},
		{"0.0.0.0:9400", false, false},
		{":9400", false, false},
		{"[::]:9400", false, false},
		{"10.0.0.5:9400", false, false},
		{"example.com:9400", false, false},
		{"0.0.0.0:9400", true, true},
		{":9400", true, true},
		{"no-port", true, false},
	}
	for _, tc := range cases {
		err := CheckListen(tc.addr, tc.authenticated)
		if (err == nil) != tc.ok {
			t.Errorf("CheckListen(%s, %v) = %v, want ok=%v", tc.addr, tc.authenticated, err, tc.ok)
		}
	}
}

func TestLoadCredentialsFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good", "# admins\n[default]\naws_access_key_id = AKID1\naws_secret_access_key = s1\n\n[ci]\nAWS_ACCESS_KEY_ID=AKID2\naws_secret_access_key=s2==\n")
	keys, err := LoadCredentialsFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"AKID1": "s1", "AKID2": "s2=="}, keys); diff != "" {
		t.Errorf("LoadCredentialsFile (-want +got):\n%s", diff)
	}
	for name, text := range map[string]string{
		"half":    "[default]\naws_access_key_id = AKID1\n",
		"empty":   "# nothing\n",
		"garbage": "[default]\nthis is not ini\n",
	} {
		if _, err := LoadCredentialsFile(write(name, text)); err == nil {
			t.Errorf("LoadCredentialsFile(%s) succeeded, want an error", name)
		}
	}
	if _, err := LoadCredentialsFile(filepath.Join(dir, "absent")); err == nil {
		t.Error("LoadCredentialsFile(absent) succeeded")
	}
}
