package ui

import (
	"testing"
	"time"
)

func TestDuration_OneFormat(t *testing.T) {
	for d, want := range map[time.Duration]string{
		300 * time.Microsecond: "<1ms", 254 * time.Millisecond: "254ms", 12340 * time.Millisecond: "12.3s",
		5 * time.Minute: "5m", 90 * time.Second: "1m30s", 2 * time.Hour: "2h", 2*time.Hour + 30*time.Second: "2h0m30s",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}
