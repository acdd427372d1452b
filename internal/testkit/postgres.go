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

	"github.com/tmcp-dev/tmcp/internal/secrets"
)

// Postgres is a throwaway PostgreSQL cluster on loopback.
type Postgres struct {
	DSN  string // the cluster's postgres database
	dir  string
	opts string // pg_ctl's server options
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
	p.opts = opts
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

// PrivatePostgres starts a cluster of the test's own, to stop, restart,
// freeze and thaw (fault tests); it is removed when the test ends.
func PrivatePostgres(t testing.TB) *Postgres {
	t.Helper()
	p, err := startCluster()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL: %v", err)
		}
		t.Skipf("PostgreSQL is not available: %v", err)
	}
	t.Cleanup(func() {
		p.Thaw()
		_ = p.command("pg_ctl", "-D", p.dir, "-m", "immediate", "stop").Run()
		_ = os.RemoveAll(filepath.Dir(p.dir))
	})
	return p
}

// Stop shuts the cluster down at once (connections are cut).
func (p *Postgres) Stop(t testing.TB) {
	t.Helper()
	if out, err := p.command("pg_ctl", "-D", p.dir, "-m", "immediate", "-w", "stop").CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl stop: %v: %s", err, out)
	}
}

// Start starts a stopped cluster again, on the same port.
func (p *Postgres) Start(t testing.TB) {
	t.Helper()
	if out, err := p.command("pg_ctl", "-D", p.dir, "-o", p.opts, "-w", "-t", "30", "-l", filepath.Join(filepath.Dir(p.dir), "log"), "start").CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl start: %v: %s", err, out)
	}
}

// Freeze stops every process of the cluster (SIGSTOP): the database
// neither answers nor closes connections, as a hung host does.
func (p *Postgres) Freeze() { p.signal("-STOP") }

// Thaw resumes a frozen cluster.
func (p *Postgres) Thaw() { p.signal("-CONT") }

func (p *Postgres) signal(sig string) {
	raw, err := os.ReadFile(filepath.Join(p.dir, "postmaster.pid"))
	if err != nil {
		return
	}
	pid := strings.SplitN(string(raw), "\n", 2)[0]
	_ = exec.Command("pkill", sig, "-P", pid).Run()
	_ = exec.Command("kill", sig, pid).Run()
}
