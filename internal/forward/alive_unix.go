//go:build unix

package forward

import (
	"crypto/tls"
	"net"
	"syscall"
)

// alive reports whether an idle connection is still open: a backend that
// closed it (Node and uvicorn close idle connections after five seconds)
// has sent its FIN, which a non-blocking peek reads as end of file.
func alive(c net.Conn) bool {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	open := true
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
			// Nothing to read: open and quiet, as an idle one should be.
		case err != nil || n == 0:
			open = false // closed or reset
		default:
			open = false // bytes nobody asked for: not safe to reuse
		}
		return true
	})
	return err == nil && open
}
