package config

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"syscall"
)

// FileDevRecord is where `tmcp dev` notes its servers while it runs, so
// doctor and flow test find them with no flags.
const FileDevRecord = "dev.json"

// DevRecord is what `tmcp dev` notes.
type DevRecord struct {
	Sandbox  string `json:"sandbox"`
	Auth     string `json:"auth"`
	Resource string `json:"resource"`
	PID      int    `json:"pid"`
}

// WriteDevRecord notes rec in the state directory; the returned function
// removes it again.
func WriteDevRecord(stateDir string, rec DevRecord) (remove func(), err error) {
	path := filepath.Join(stateDir, FileDevRecord)
	raw, _ := json.MarshalIndent(rec, "", "  ")
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, append(raw, '\n'), 0o600); err != nil {
		return nil, err
	}
	return func() { os.Remove(path) }, nil
}

// ReadDevRecord reads the note of a running `tmcp dev`, if any.
func ReadDevRecord(stateDir string) (*DevRecord, error) {
	raw, err := os.ReadFile(filepath.Join(stateDir, FileDevRecord))
	if err != nil {
		return nil, err
	}
	var rec DevRecord
	if err := json.Unmarshal(raw, &rec); err != nil || rec.Auth == "" {
		return nil, errors.New("the tmcp dev record is unreadable")
	}
	// A record left by a tmcp dev that was killed names nothing running.
	if p, err := os.FindProcess(rec.PID); err != nil || p.Signal(syscall.Signal(0)) != nil {
		return nil, errors.New("the tmcp dev that wrote the record is gone")
	}
	return &rec, nil
}
