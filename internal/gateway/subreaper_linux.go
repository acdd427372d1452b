package gateway

import "golang.org/x/sys/unix"

// becomeSubreaper makes tmcp the parent of the processes its stdio
// servers leave behind when they exit (PR_SET_CHILD_SUBREAPER), so that
// endGroup can reap them instead of leaving them to process 1, which in
// a container may reap nothing.
func becomeSubreaper() { unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }
