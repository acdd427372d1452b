//go:build unix && !linux

package gateway

// Only Linux has subreapers; elsewhere process 1 reaps what a stdio
// server leaves behind.
func becomeSubreaper() {}
