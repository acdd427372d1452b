// Package image builds tmcp's container image without a container daemon
// or a base image: one layer holding the static binary, the CA bundle
// outbound TLS needs, an /etc/passwd naming the non-root user and a state
// directory it owns, for each platform, joined in one OCI image index and
// written as an OCI image layout (the OCI image spec's image-layout.md).
// Every timestamp is fixed and every list sorted, so the same binaries and
// CA bundle give the same digest on any machine.
package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Where things are in the image.
const (
	Binary   = "/usr/local/bin/tmcp"
	StateDir = "/var/lib/tmcp"
	Home     = "/home/nonroot"
	CABundle = "/etc/ssl/certs/ca-certificates.crt"
	// UID is the non-root user (and group) the image runs as: the
	// "nonroot" of distroless and Chainguard images.
	UID = 65532
)

// Platform is one binary and the platform it was built for.
type Platform struct {
	OS, Arch string
	Binary   string // path of the static tmcp binary for this platform
}

// Options say what goes into the image.
type Options struct {
	Platforms []Platform
	// CACerts is a PEM bundle of the roots outbound TLS trusts (TaskManager,
	// an OpenID provider, a gateway's backend); empty leaves it out.
	CACerts string
	// Created is every timestamp in the image (SOURCE_DATE_EPOCH).
	Created time.Time
	// Version and Source become OCI annotations in the image config's labels.
	Version, Source string
}

// Build returns the image index with one image for each platform.
func Build(o Options) (v1.ImageIndex, error) {
	if len(o.Platforms) == 0 {
		return nil, fmt.Errorf("image: no platform to build for")
	}
	var ca []byte
	if o.CACerts != "" {
		b, err := os.ReadFile(o.CACerts)
		if err != nil {
			return nil, fmt.Errorf("image: CA bundle: %w", err)
		}
		ca = b
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range o.Platforms {
		bin, err := os.ReadFile(p.Binary)
		if err != nil {
			return nil, fmt.Errorf("image: %s/%s binary: %w", p.OS, p.Arch, err)
		}
		img, err := platformImage(o, p, bin, ca)
		if err != nil {
			return nil, fmt.Errorf("image: %s/%s: %w", p.OS, p.Arch, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: p.OS, Architecture: p.Arch}},
		})
	}
	return idx, nil
}

func platformImage(o Options, p Platform, bin, ca []byte) (v1.Image, error) {
	files, err := layerTar(o.Created, bin, ca)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(files)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: v1.Time{Time: o.Created}, CreatedBy: "tmcp deploy/image", Comment: "tmcp " + o.Version},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = p.OS, p.Arch
	cf.Created = v1.Time{Time: o.Created}
	cf.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", UID, UID),
		Entrypoint: []string{Binary},
		WorkingDir: StateDir,
		Env: []string{
			"PATH=/usr/local/bin",
			"HOME=" + Home,
			"TMCP_STATE_DIR=" + StateDir,
			// Inside a container loopback is the container's own: listen
			// where a published port reaches.
			"TMCP_AUTH_HOST=0.0.0.0",
			"MCP_RESOURCE_HOST=0.0.0.0",
			"TMCP_SANDBOX_HOST=0.0.0.0",
		},
		ExposedPorts: map[string]struct{}{"9000/tcp": {}, "8001/tcp": {}, "4321/tcp": {}},
		Volumes:      map[string]struct{}{StateDir: {}},
		Labels: map[string]string{
			"org.opencontainers.image.title":    "tmcp",
			"org.opencontainers.image.version":  o.Version,
			"org.opencontainers.image.source":   o.Source,
			"org.opencontainers.image.licenses": "Apache-2.0",
		},
	}
	if ca != nil {
		cf.Config.Env = append(cf.Config.Env, "SSL_CERT_FILE="+CABundle)
	}
	return mutate.ConfigFile(img, cf)
}

// entry is one file or directory of the layer.
type entry struct {
	name string
	mode int64
	uid  int
	body []byte
	dir  bool
}

// layerTar is the layer's tar: parents before children, sorted, every
// header with the same timestamp and no user or group names.
func layerTar(created time.Time, bin, ca []byte) ([]byte, error) {
	entries := []entry{
		{name: "etc", mode: 0o755, dir: true},
		{name: "etc/passwd", mode: 0o644, body: []byte(fmt.Sprintf(
			"root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:%s:/sbin/nologin\n", UID, UID, Home))},
		{name: "etc/group", mode: 0o644, body: []byte(fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", UID))},
		{name: "home", mode: 0o755, dir: true},
		{name: Home[1:], mode: 0o700, uid: UID, dir: true},
		{name: "tmp", mode: 0o1777, dir: true},
		{name: "usr", mode: 0o755, dir: true},
		{name: "usr/local", mode: 0o755, dir: true},
		{name: "usr/local/bin", mode: 0o755, dir: true},
		{name: Binary[1:], mode: 0o755, body: bin},
		{name: "var", mode: 0o755, dir: true},
		{name: "var/lib", mode: 0o755, dir: true},
		{name: StateDir[1:], mode: 0o700, uid: UID, dir: true},
	}
	if ca != nil {
		entries = append(entries,
			entry{name: "etc/ssl", mode: 0o755, dir: true},
			entry{name: "etc/ssl/certs", mode: 0o755, dir: true},
			entry{name: CABundle[1:], mode: 0o644, body: ca})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{
			Name:     e.name,
			Mode:     e.mode,
			Uid:      e.uid,
			Gid:      e.uid,
			ModTime:  created,
			Typeflag: tar.TypeReg,
			Size:     int64(len(e.body)),
		}
		if e.dir {
			h.Name, h.Typeflag, h.Size = e.name+"/", tar.TypeDir, 0
		}
		if path.Clean(e.name) != e.name {
			return nil, fmt.Errorf("bad path %q", e.name)
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Write writes idx as an OCI image layout at dir, tagged ref (the
// org.opencontainers.image.ref.name annotation, so `podman load` and
// `skopeo copy oci:DIR:REF` find it).
func Write(dir, ref string, idx v1.ImageIndex) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendIndex(idx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref}))
}
