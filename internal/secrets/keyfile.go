package secrets

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DecodeKey reads a 32-byte key given as base64 (standard or URL) or hex.
func DecodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, dec := range []func(string) ([]byte, error){
		base64.StdEncoding.DecodeString, base64.RawStdEncoding.DecodeString,
		base64.URLEncoding.DecodeString, base64.RawURLEncoding.DecodeString,
		hex.DecodeString,
	} {
		if b, err := dec(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("the key must be 32 bytes, written as base64 or hex")
}

// LoadOrCreateKey returns the 32-byte key kept in path, creating it (and its
// directory) with owner-only permissions the first time. A key file that
// others can read is refused rather than used.
func LoadOrCreateKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		if info, serr := os.Stat(path); serr == nil && info.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("key file %s is readable by others (mode %v); run chmod 600 on it", path, info.Mode().Perm())
		}
		key, derr := DecodeKey(string(data))
		if derr != nil {
			return nil, fmt.Errorf("key file %s: %w", path, derr)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	// The key is written whole to a temporary file and linked into place:
	// a process starting at the same moment (serve auth and serve resource
	// share the state directory) never reads a half-written file, and a
	// link never replaces a key another process put there first.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".key-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return LoadOrCreateKey(path) // another process won the race
	} else if err != nil {
		return nil, err
	}
	return key, nil
}

// LoadOrCreateSecret is LoadOrCreateKey for a shared secret string (such as
// a resource server's introspection secret on a single machine): the
// secret is the file's content, so an operator can copy it from there.
func LoadOrCreateSecret(path string) (string, error) {
	key, err := LoadOrCreateKey(path)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(key), nil
}
