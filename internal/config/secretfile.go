package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/viper"
)

// secretKeys are the settings that hold a secret. Each has a companion
// setting <key>_file (flag --<flag>-file, environment <NAME>_FILE) naming
// a file to read it from: Kubernetes secrets, systemd credentials
// ($CREDENTIALS_DIRECTORY) and Docker secrets are mounted files, and a
// value in a file stays out of the process list and the environment.
var secretKeys = []string{
	KeyTMSecret, KeyTMAdminCookie, KeySessionCookie, KeyAuthEncryptionKey, KeyAuthRegToken, KeyAuthResSecret,
	KeySandboxClientSecret, KeySandboxPassword,
}

// fileSuffix names a secret's file setting.
const fileSuffix = "_file"

// maxSecretFile bounds what is read from a secret file: a secret is short,
// and a path pointing at a large file by mistake must not fill memory.
const maxSecretFile = 64 << 10

func init() {
	for _, key := range secretKeys {
		s := Lookup(key)
		f := Setting{Key: key + fileSuffix, Default: "", Help: "file to read " + strings.TrimSuffix(firstWords(s.Help), " ") + " from (instead of the value itself)"}
		if s.Flag != "" {
			f.Flag = s.Flag + "-file"
		}
		for _, env := range s.env {
			f.env = append(f.env, env+"_FILE")
		}
		settings = append(settings, f)
	}
}

// firstWords is a setting's help up to its first parenthesis or colon:
// what the secret is, without how it defaults.
func firstWords(help string) string {
	if i := strings.IndexAny(help, "(:"); i > 0 {
		return strings.TrimSpace(help[:i])
	}
	return help
}

// FileOf is the key of the setting naming the file secret key is read
// from, or "" when key is no secret.
func FileOf(key string) string {
	for _, k := range secretKeys {
		if k == key {
			return key + fileSuffix
		}
	}
	return ""
}

// ReadSecretFiles sets each secret whose file setting is given to the
// file's contents, without the line ending an editor or `echo` leaves.
// Setting a secret both ways is refused: which one wins would be a guess.
// Errors name the setting and the file, never what the file holds.
func ReadSecretFiles(v *viper.Viper) error {
	for _, key := range secretKeys {
		path := v.GetString(key + fileSuffix)
		if path == "" {
			continue
		}
		fs, s := Lookup(key+fileSuffix), Lookup(key)
		if v.GetString(key) != "" {
			return fmt.Errorf("%s and %s are both set: give the secret one way", describe(s), describe(fs))
		}
		secret, err := readSecretFile(path)
		if err != nil {
			return fmt.Errorf("%s: %w", describe(fs), err)
		}
		v.Set(key, secret)
	}
	return nil
}

func readSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return "", fmt.Errorf("cannot read %s: %v", path, pe.Err)
		}
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %v", path, err)
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("%s is larger than %d KiB: not a secret file", path, maxSecretFile>>10)
	}
	secret := strings.TrimRight(string(b), "\r\n")
	if strings.TrimSpace(secret) == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return secret, nil
}

// describe names a setting by its flag (if any), first environment
// variable and key.
func describe(s Setting) string {
	if s.Flag == "" {
		return fmt.Sprintf("%s (%s in the config file)", s.Env()[0], s.Key)
	}
	return fmt.Sprintf("--%s (%s, %s in the config file)", s.Flag, s.Env()[0], s.Key)
}

// IsFileSetting says whether key is a secret's file setting, which comes
// with the secret's own flag.
func IsFileSetting(key string) bool {
	secret, ok := strings.CutSuffix(key, fileSuffix)
	return ok && FileOf(secret) == key
}
