package testkit

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tmcp-dev/tmcp/pkg/secrets"
)

// Postgres is a throwaway PostgreSQL cluster on loopback.
type Postgres struct {
	DSN  string // the cluster's postgres database
	dir  string
	bin  string
	user string
	// external clusters belong to whoever started them.
	external bool
}

var (
	pgOnce   sync.Once
	pgShared *Postgres
	pgErr    error
)

// StartPostgres returns a DSN for a fresh, empty schema in a PostgreSQL
// cluster started from Debian's binaries for this test process (one
// cluster a process, stopped when the process's tests end via
// StopPostgres). Without PostgreSQL installed the test skips, except
// under CI, where .ci/run installs it.
func StartPostgres(t testing.TB) string {
	t.Helper()
	pgOnce.Do(func() {
		if dsn := os.Getenv("TMCP_TEST_POSTGRES"); dsn != "" { // a cluster .ci/run started
			pgShared = &Postgres{DSN: dsn, external: true}
			return
		}
		pgShared, pgErr = startCluster()
	})
	if pgErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL: %v", pgErr)
		}
		t.Skipf("PostgreSQL is not available: %v", pgErr)
	}
	schema := sanitize("t_" + secrets.Random(8))
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgShared.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	sep := "?"
	if strings.Contains(pgShared.DSN, "?") {
		sep = "&"
	}
	return pgShared.DSN + sep + "search_path=" + schema
}

func sanitize(s string) string {
	out := []rune{}
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			out = append(out, r)
		} else if r >= 'A' && r <= 'Z' {
			out = append(out, r+('a'-'A'))
		} else {
			out = append(out, '_')
		}
	}
	return string(out)
}

// StopPostgres stops the cluster, if one was started; call it from
// TestMain after m.Run.
func StopPostgres() {
	if pgShared == nil || pgShared.external {
		return
	}
	cmd := pgShared.command("pg_ctl", "-D", pgShared.dir, "-m", "immediate", "stop")
	_ = cmd.Run()
	_ = os.RemoveAll(filepath.Dir(pgShared.dir))
}

func findPGBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Strings(dirs)
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	return "", fmt.Errorf("no initdb under /usr/lib/postgresql (apt-get install postgresql)")
}

// command runs a PostgreSQL binary, as the postgres user when this
// process is root (initdb refuses to run as root).
func (p *Postgres) command(name string, args ...string) *exec.Cmd {
	bin := filepath.Join(p.bin, name)
	if p.user != "" {
		return exec.Command("runuser", append([]string{"-u", p.user, "--", bin}, args...)...)
	}
	return exec.Command(bin, args...)
}

func startCluster() (*Postgres, error) {
	bin, err := findPGBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "tmcp-pg-")
	if err != nil {
		return nil, err
	}
	p := &Postgres{dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
		p.user = "postgres"
	}
	data := filepath.Join(dir, "data")
	if out, err := p.command("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	p.dir = data
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", port, dir)
	if out, err := p.command("pg_ctl", "-D", data, "-o", opts, "-w", "-t", "30", "-l", filepath.Join(dir, "log"), "start").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pg_ctl start: %v: %s", err, out)
	}
	p.DSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, p.DSN)
		if err == nil {
			conn.Close(ctx)
			return p, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
