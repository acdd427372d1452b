package bench

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/authserver"
	"github.com/tmcp-dev/tmcp/internal/sqlitefile"
	"github.com/tmcp-dev/tmcp/internal/store"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// Soak parameters: an hour on a fake clock, each family refreshing every
// soakEvery, access tokens living soakAccessTTL (so that their rows reach
// a steady state within the hour), a sweep every minute as Run does.
const (
	soakFamilies  = 20
	soakEvery     = 15 * time.Second
	soakHour      = time.Hour
	soakAccessTTL = 5 * time.Minute
)

// BenchmarkStorageSoak refreshes soakFamilies token families for an hour
// of fake time against a real SQLite file, sweeping every minute, and
// reports the rows and bytes each refresh leaves behind once the first
// 15 minutes have filled the steady state: about 0 now, against about
// one row (a used refresh token kept until its 720 h expiry) with the
// sweep as it was, run alongside as the baseline.
func BenchmarkStorageSoak(b *testing.B) {
	for i := 0; i < b.N; i++ {
		now := soak(b, true)
		before := soak(b, false)
		for _, r := range []struct {
			name string
			f    soakFigures
		}{{"now", now}, {"as before", before}} {
			fmt.Printf("storage soak %-9s  %d refreshes in 1h  rows %d at 15m → %d at 60m (%.3f a refresh)  file %d → %d bytes (%.1f a refresh)\n",
				r.name, r.f.refreshes, r.f.rows15, r.f.rows60, r.f.rowsPerRefresh(), r.f.bytes15, r.f.bytes60, r.f.bytesPerRefresh())
		}
		b.ReportMetric(float64(now.refreshes), "refreshes")
		b.ReportMetric(now.rowsPerRefresh(), "rows_per_refresh")
		b.ReportMetric(now.bytesPerRefresh(), "bytes_per_refresh")
		b.ReportMetric(before.rowsPerRefresh(), "rows_per_refresh_before")
		b.ReportMetric(before.bytesPerRefresh(), "bytes_per_refresh_before")
		b.ReportMetric(float64(now.rows60)/float64(now.rows15), "rows_60m_to_15m")
	}
}

type soakFigures struct {
	refreshes, refreshes15 int
	rows15, rows60         int64
	bytes15, bytes60       int64
}

func (f soakFigures) rowsPerRefresh() float64 {
	return float64(f.rows60-f.rows15) / float64(f.refreshes-f.refreshes15)
}

func (f soakFigures) bytesPerRefresh() float64 {
	return float64(f.bytes60-f.bytes15) / float64(f.refreshes-f.refreshes15)
}

// soak runs the hour; swept false sweeps as before this release (used
// refresh tokens kept until they expire).
func soak(b *testing.B, swept bool) soakFigures {
	clock := testkit.NewClock()
	stack := testkit.StartStack(b, testkit.AuthOptions{Now: clock.Now, Mutate: func(c *authserver.Config) {
		c.AccessTTL = soakAccessTTL
	}})
	c := stack.PublicClient(b)
	refresh := make([]string, soakFamilies)
	for j := range refresh {
		refresh[j] = c.SignInForTokens(nil)["refresh_token"].(string)
	}
	db, err := sqlitefile.Open(stack.StorePath)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	measure := func() (rows, bytes int64) {
		for _, table := range []string{"clients", "grants", "codes", "tokens", "pendings"} {
			var n int64
			if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
				b.Fatal(err)
			}
			rows += n
		}
		for _, p := range []string{stack.StorePath, stack.StorePath + "-wal"} {
			if fi, err := os.Stat(p); err == nil {
				bytes += fi.Size()
			}
		}
		return rows, bytes
	}
	var f soakFigures
	for elapsed := time.Duration(0); elapsed < soakHour; elapsed += soakEvery {
		clock.Advance(soakEvery)
		for j, rt := range refresh {
			status, tok := c.Form(c.Meta.TokenEndpoint, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
			if status != 200 {
				b.Fatalf("refresh at %s: %d %v", elapsed, status, tok)
			}
			refresh[j] = tok["refresh_token"].(string)
			f.refreshes++
		}
		if (elapsed+soakEvery)%time.Minute == 0 {
			if swept {
				stack.Auth.Sweep(ctx)
			} else if _, err := stack.Store.Sweep(ctx, clock.Now(), store.Retention{}); err != nil {
				b.Fatal(err)
			}
		}
		if elapsed+soakEvery == 15*time.Minute {
			f.rows15, f.bytes15 = measure()
			f.refreshes15 = f.refreshes
		}
	}
	f.rows60, f.bytes60 = measure()
	return f
}
