package secrets

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestSealer_RoundTripAndBinding(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	s, err := NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	sealed := s.Seal([]byte("upstream-token"), []byte("grant-1"))
	if bytes.Contains(sealed, []byte("upstream-token")) {
		t.Fatal("sealed value contains the plaintext")
	}
	got, err := s.Open(sealed, []byte("grant-1"))
	if err != nil || string(got) != "upstream-token" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := s.Open(sealed, []byte("grant-2")); err != ErrUnseal {
		t.Fatalf("opened under another row's binding: %v", err)
	}
	other, _ := NewSealer(bytes.Repeat([]byte{8}, 32))
	if _, err := other.Open(sealed, []byte("grant-1")); err != ErrUnseal {
		t.Fatalf("opened with another key: %v", err)
	}
	if _, err := NewSealer([]byte("short")); err == nil {
		t.Fatal("a short key was accepted")
	}
}

func TestLoadOrCreateKey_CreatesOnceWithOwnerOnlyMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "encryption.key")
	k1, err := LoadOrCreateKey(path)
	if err != nil || len(k1) != 32 {
		t.Fatalf("create: %v", err)
	}
	info, _ := os.Stat(path)
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v, want 0600", info.Mode().Perm())
	}
	k2, err := LoadOrCreateKey(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("reload gave another key: %v", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a world-readable key file was used: %v", err)
	}
}

func TestDecodeKey_Formats(t *testing.T) {
	for _, s := range []string{strings.Repeat("ab", 32), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		if _, err := DecodeKey(s); err != nil {
			t.Errorf("DecodeKey(%q) = %v", s, err)
		}
	}
	if _, err := DecodeKey("too-short"); err == nil {
		t.Error("a short key decoded")
	}
}

func TestNewToken_PrefixAndEntropy(t *testing.T) {
	a, b := NewToken(PrefixAccessToken), NewToken(PrefixAccessToken)
	if a == b || !strings.HasPrefix(a, "tmcp_at_") || len(a) != len("tmcp_at_")+43 {
		t.Fatalf("tokens %q %q", a, b)
	}
	if Hash(a) == a || len(Hash(a)) != 64 {
		t.Fatal("Hash is not a SHA-256 hex digest")
	}
}

func TestLoadOrCreateSecret_IsTheFileContent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resource-secret")
	s, err := LoadOrCreateSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if strings.TrimSpace(string(data)) != s || len(s) < 40 {
		t.Fatalf("secret %q is not the file's content %q", s, data)
	}
}

// Processes starting together (serve auth and serve resource on one state
// directory) all get the one key, and none reads a half-written file.
func TestLoadOrCreateKey_ConcurrentStartsAgree(t *testing.T) {
	for round := range 50 {
		path := filepath.Join(t.TempDir(), "state", "resource-secret")
		keys := make([][]byte, 8)
		errs := make([]error, 8)
		var wg sync.WaitGroup
		for i := range keys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				keys[i], errs[i] = LoadOrCreateKey(path)
			}()
		}
		wg.Wait()
		for i := range keys {
			if errs[i] != nil {
				t.Fatalf("round %d, start %d: %v", round, i, errs[i])
			}
			if !bytes.Equal(keys[i], keys[0]) {
				t.Fatalf("round %d: starts got different keys", round)
			}
		}
		if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
			t.Fatalf("round %d: %d files left in the directory, want the key alone", round, len(entries))
		}
	}
}
