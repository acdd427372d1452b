package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every secret can come from a file (Kubernetes and systemd mount
// secrets as files); the file's line ending is not part of the secret,
// and a secret given both ways is refused.
func TestReadSecretFiles_EverySecretFromAFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	secretFile := write("secret", "s3cret-value-from-file\n")
	cases := []struct {
		name    string
		env     map[string]string
		key     string
		want    string
		wantErr string
	}{
		{"ClientSecretFromEnvFile", map[string]string{"TASKMANAGER_CLIENT_SECRET_FILE": secretFile}, KeyTMSecret, "s3cret-value-from-file", ""},
		{"EncryptionKeyFromEnvFile", map[string]string{"TMCP_ENCRYPTION_KEY_FILE": secretFile}, KeyAuthEncryptionKey, "s3cret-value-from-file", ""},
		{"TMCPNameToo", map[string]string{"TMCP_AUTH_RESOURCE_CLIENT_SECRET_FILE": secretFile}, KeyAuthResSecret, "s3cret-value-from-file", ""},
		{"CRLFTrimmed", map[string]string{"TMCP_REGISTRATION_TOKEN_FILE": write("crlf", "token\r\n")}, KeyAuthRegToken, "token", ""},
		{"BothWays", map[string]string{"TASKMANAGER_CLIENT_SECRET": "inline-value", "TASKMANAGER_CLIENT_SECRET_FILE": secretFile}, KeyTMSecret, "",
			"--client-secret (TASKMANAGER_CLIENT_SECRET, taskmanager.client_secret in the config file) and --client-secret-file (TASKMANAGER_CLIENT_SECRET_FILE, taskmanager.client_secret_file in the config file) are both set"},
		{"Missing", map[string]string{"TMCP_ENCRYPTION_KEY_FILE": filepath.Join(dir, "nope")}, KeyAuthEncryptionKey, "",
			"TMCP_ENCRYPTION_KEY_FILE (auth.encryption_key_file in the config file): cannot read " + filepath.Join(dir, "nope")},
		{"Empty", map[string]string{"TMCP_ENCRYPTION_KEY_FILE": write("empty", "\n")}, KeyAuthEncryptionKey, "", "is empty"},
		{"TooLarge", map[string]string{"TMCP_ENCRYPTION_KEY_FILE": write("large", strings.Repeat("x", maxSecretFile+1))}, KeyAuthEncryptionKey, "", "not a secret file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("XDG_CONFIG_HOME", t.TempDir())
			for k, val := range tc.env {
				t.Setenv(k, val)
			}
			v, err := New("")
			if err != nil {
				t.Fatal(err)
			}
			err = ReadSecretFiles(v)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "inline-value") {
					t.Fatalf("the error shows the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := v.GetString(tc.key); got != tc.want {
				t.Fatalf("%s = %q, want %q", tc.key, got, tc.want)
			}
		})
	}
}

// Every secret setting has its file setting, with a flag where the
// secret has one.
func TestSecretKeys_HaveFileSettings(t *testing.T) {
	for _, key := range secretKeys {
		f := Lookup(FileOf(key))
		if s := Lookup(key); (s.Flag == "") != (f.Flag == "") || (s.Flag != "" && f.Flag != s.Flag+"-file") {
			t.Errorf("%s: flag %q, its file's %q", key, s.Flag, f.Flag)
		}
	}
}
