// Command image builds tmcp's container image from this repository as an
// OCI image layout, with no container daemon and nothing pulled from a
// registry:
//
//	go run ./cmd/image -out ../dist/oci -platforms linux/amd64,linux/arm64
//
// (run in deploy/). Load it with `podman load -i` after `tar -C DIR -cf
// tmcp.tar .`, or copy it to a registry with `skopeo copy oci:DIR:REF
// docker://…`. SOURCE_DATE_EPOCH, when set, is every timestamp in it.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tmcp-dev/tmcp/deploy/image"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run() error {
	out := flag.String("out", "", "directory to write the OCI image layout to (replaced)")
	repo := flag.String("repo", "..", "the tmcp repository to build")
	platforms := flag.String("platforms", "linux/amd64,linux/arm64", "platforms to build for, separated by commas")
	version := flag.String("version", "dev", "version the binary reports and the image is tagged with")
	commit := flag.String("commit", "none", "commit the binary reports")
	ca := flag.String("ca-certs", "/etc/ssl/certs/ca-certificates.crt", "PEM bundle of the roots outbound TLS trusts (empty: none)")
	flag.Parse()
	if *out == "" {
		return fmt.Errorf("-out is required")
	}
	created := time.Unix(0, 0).UTC()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH %q is not a number of seconds", s)
		}
		created = time.Unix(sec, 0).UTC()
	}
	tmp, err := os.MkdirTemp("", "tmcp-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	opts := image.Options{CACerts: *ca, Created: created, Version: *version, Source: "https://github.com/tmcp-dev/tmcp"}
	for _, p := range strings.Split(*platforms, ",") {
		goos, goarch, ok := strings.Cut(strings.TrimSpace(p), "/")
		if !ok || goos == "" || goarch == "" {
			return fmt.Errorf("platform %q: want OS/ARCH, like linux/amd64", p)
		}
		bin := filepath.Join(tmp, goos+"-"+goarch, "tmcp")
		if err := image.GoBuild(*repo, goos, goarch, *version, *commit, created.Format(time.RFC3339), bin); err != nil {
			return err
		}
		opts.Platforms = append(opts.Platforms, image.Platform{OS: goos, Arch: goarch, Binary: bin})
	}
	idx, err := image.Build(opts)
	if err != nil {
		return err
	}
	if err := image.Write(*out, *version, idx); err != nil {
		return err
	}
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s %s\n", *out, d)
	return nil
}
