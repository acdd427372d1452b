package image

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// hostBinary builds tmcp once for this machine's architecture, as the
// image does.
func hostBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tmcp-image-test-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "tmcp")
		binErr = GoBuild("../..", "linux", runtime.GOARCH, "1.2.3-test", "abc1234", "2026-01-01T00:00:00Z", binPath)
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// writeLayout builds the image for this machine's platform and reads it
// back from the OCI layout, as a runtime would.
func writeLayout(t *testing.T, ca string) (v1.ImageIndex, v1.Image) {
	t.Helper()
	idx, err := Build(Options{
		Platforms: []Platform{{OS: "linux", Arch: runtime.GOARCH, Binary: hostBinary(t)}},
		CACerts:   ca,
		Created:   time.Unix(1700000000, 0).UTC(),
		Version:   "1.2.3-test",
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "oci")
	if err := Write(dir, "1.2.3-test", idx); err != nil {
		t.Fatal(err)
	}
	root, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	rm, err := root.IndexManifest()
	if err != nil || len(rm.Manifests) != 1 || rm.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "1.2.3-test" {
		t.Fatalf("index.json: want one tagged image index, got %+v (%v)", rm, err)
	}
	read, err := root.ImageIndex(rm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := read.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Platform == nil ||
		im.Manifests[0].Platform.OS != "linux" || im.Manifests[0].Platform.Architecture != runtime.GOARCH {
		t.Fatalf("image index: want one linux/%s image, got %+v", runtime.GOARCH, im.Manifests)
	}
	img, err := read.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return read, img
}

// files reads the image's one layer: names, headers and contents.
func files(t *testing.T, img v1.Image) (map[string]*tar.Header, map[string][]byte) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("want one layer, got %d (%v)", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	hdrs, bodies := map[string]*tar.Header{}, map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hdrs, bodies
		}
		if err != nil {
			t.Fatal(err)
		}
		name := "/" + strings.TrimSuffix(h.Name, "/")
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		hdrs[name], bodies[name] = h, b
	}
}

// TestImage_RunsAsNonRootWithTheBinaryAsEntrypoint: the config names the
// binary as entrypoint, runs as 65532:65532, keeps state in a volume the
// user owns, and needs no shell (there is none in the image).
func TestImage_RunsAsNonRootWithTheBinaryAsEntrypoint(t *testing.T) {
	_, img := writeLayout(t, "")
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532", c.User)
	}
	if strings.Join(c.Entrypoint, " ") != Binary || len(c.Cmd) != 0 {
		t.Errorf("entrypoint %q cmd %q, want [%s] and none", c.Entrypoint, c.Cmd, Binary)
	}
	if _, ok := c.Volumes[StateDir]; !ok {
		t.Errorf("no volume at %s: %v", StateDir, c.Volumes)
	}
	if !contains(c.Env, "TMCP_STATE_DIR="+StateDir) {
		t.Errorf("env %q lacks TMCP_STATE_DIR=%s", c.Env, StateDir)
	}
	hdrs, _ := files(t, img)
	for _, sh := range []string{"/bin/sh", "/bin/bash", "/bin/busybox", "/usr/bin/sh"} {
		if _, ok := hdrs[sh]; ok {
			t.Errorf("the image has a shell: %s", sh)
		}
	}
	for name, h := range hdrs {
		if h.Typeflag == tar.TypeSymlink || h.Typeflag == tar.TypeLink {
			t.Errorf("%s is a link", name)
		}
		if h.Mode&0o6000 != 0 {
			t.Errorf("%s is setuid or setgid (%o)", name, h.Mode)
		}
		owned := name == StateDir || name == Home
		if h.Uid == UID != owned {
			t.Errorf("%s is owned by %d", name, h.Uid)
		}
	}
	if h := hdrs[StateDir]; h == nil || h.Typeflag != tar.TypeDir || h.Mode != 0o700 {
		t.Errorf("state dir: %+v", h)
	}
}

// TestImage_BinaryIsStaticAndRunsVersion: the binary in the layer has no
// program interpreter (no libc needed) and, run straight out of the
// layer, reports the version it was built with.
func TestImage_BinaryIsStaticAndRunsVersion(t *testing.T) {
	_, img := writeLayout(t, "")
	hdrs, bodies := files(t, img)
	if h := hdrs[Binary]; h == nil || h.Mode != 0o755 {
		t.Fatalf("binary %s: %+v", Binary, h)
	}
	f, err := elf.NewFile(bytes.NewReader(bodies[Binary]))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the binary asks for a dynamic loader: it is not static")
		}
	}
	bin := filepath.Join(t.TempDir(), "tmcp")
	if err := os.WriteFile(bin, bodies[Binary], 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "version")
	cmd.Env = []string{"HOME=" + t.TempDir(), "TMCP_STATE_DIR=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "tmcp 1.2.3-test ") {
		t.Fatalf("tmcp version: %q (%v)", out, err)
	}
}

// TestImage_SameInputsSameDigest: two builds of the same binary and CA
// bundle are byte for byte the same image.
func TestImage_SameInputsSameDigest(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, img := writeLayout(t, ca)
	b, _ := writeLayout(t, ca)
	da, err := a.Digest()
	if err != nil {
		t.Fatal(err)
	}
	db, err := b.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if da != db {
		t.Errorf("two builds differ: %s and %s", da, db)
	}
	_, bodies := files(t, img)
	if _, ok := bodies[CABundle]; !ok {
		t.Errorf("no CA bundle at %s", CABundle)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
