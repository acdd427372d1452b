package image

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// GoBuild builds ./cmd/tmcp of the repository at repo for goos/goarch into
// out, the way the release does (.goreleaser.yaml's builds): static (no
// cgo), -trimpath, no VCS stamp, the version information from the linker,
// so the binary depends only on the source and these arguments.
func GoBuild(repo, goos, goarch, version, commit, date, out string) error {
	pkg := "github.com/tmcp-dev/tmcp/internal/cli/version"
	ldflags := strings.Join([]string{
		"-s", "-w",
		"-X", pkg + ".Version=" + version,
		"-X", pkg + ".Commit=" + commit,
		"-X", pkg + ".Date=" + date,
	}, " ")
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", out, "./cmd/tmcp")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch, "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build for %s/%s: %w\n%s", goos, goarch, err, b)
	}
	return nil
}
