package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// SaveUpstreamClient writes tmcp's client at TaskManager into the config
// file that `serve auth` reads, keeping the file's other settings. The
// file holds a secret, so it is written with mode 0600.
func SaveUpstreamClient(path, baseURL, clientID, clientSecret string) error {
	doc := map[string]any{}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("config file %s is not valid YAML: %w", path, err)
		}
		if doc == nil {
			doc = map[string]any{}
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		return err
	}
	tm, _ := doc["taskmanager"].(map[string]any)
	if tm == nil {
		tm = map[string]any{}
	}
	tm["base_url"], tm["client_id"], tm["client_secret"] = baseURL, clientID, clientSecret
	doc["taskmanager"] = tm
	out, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, out, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path) // atomic: a crash leaves the old file whole
}
