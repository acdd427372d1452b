package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// FileDevLock is held by the `tmcp dev` that uses the state directory.
const FileDevLock = "dev.lock"

// LockStateDir makes this process the one `tmcp dev` of stateDir: a second
// one would share its databases and, on exit, remove the first's record.
// A lock whose process is gone (killed) is taken over. The returned
// function releases it.
func LockStateDir(stateDir string) (unlock func(), err error) {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(stateDir, FileDevLock)
	for range 2 {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			_, werr := fmt.Fprintf(f, "%d\n", os.Getpid())
			if cerr := f.Close(); werr == nil {
				werr = cerr
			}
			if werr != nil {
				os.Remove(path)
				return nil, werr
			}
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		raw, _ := os.ReadFile(path)
		pid, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
		if pid > 0 && pid != os.Getpid() && alive(pid) {
			return nil, fmt.Errorf("another tmcp dev (process %d) runs with state directory %s: stop it, or give this one its own --state-dir", pid, stateDir)
		}
		os.Remove(path) // stale: its process is gone
	}
	return nil, fmt.Errorf("cannot take the lock %s", path)
}

// alive reports whether process pid runs (one of another user's answers
// "not permitted", and runs).
func alive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}
