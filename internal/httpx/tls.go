package httpx

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
)

// certReloader serves the certificate in its files and loads it again
// when either file changes, so a renewed certificate (cert-manager,
// certbot, a Kubernetes secret's update) is served without a restart.
// Each handshake looks at the files' size and time; a pair that does not
// load (a renewal half written) keeps the old one in service.
type certReloader struct {
	certFile, keyFile string
	logf              func(format string, args ...any) // the server's error log

	mu     sync.Mutex
	cert   *tls.Certificate
	stamp  [2]fileStamp
	warned [2]fileStamp // the stamps of a pair that failed, reported once
}

type fileStamp struct {
	size int64
	mod  time.Time
}

func newCertReloader(certFile, keyFile string, logf func(string, ...any)) (*certReloader, error) {
	c := &certReloader{certFile: certFile, keyFile: keyFile, logf: logf}
	stamp, err := c.stamps()
	if err == nil {
		err = c.load(stamp)
	}
	if err != nil {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	return c, nil
}

func (c *certReloader) stamps() ([2]fileStamp, error) {
	var out [2]fileStamp
	for i, name := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return out, err
		}
		out[i] = fileStamp{fi.Size(), fi.ModTime()}
	}
	return out, nil
}

func (c *certReloader) load(stamp [2]fileStamp) error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return err
	}
	c.cert, c.stamp = &cert, stamp
	return nil
}

// getCertificate is tls.Config.GetCertificate.
func (c *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	stamp, err := c.stamps()
	if err != nil || stamp == c.stamp || stamp == c.warned {
		return c.cert, nil // a file being replaced, or nothing new
	}
	if err := c.load(stamp); err != nil {
		c.warned = stamp
		c.logf("the TLS certificate files %s and %s changed but do not load (%v); serving the previous certificate", c.certFile, c.keyFile, err)
		return c.cert, nil
	}
	c.logf("TLS certificate reloaded from %s", c.certFile)
	return c.cert, nil
}
