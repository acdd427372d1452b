// Package scale holds tests of tmcp run as several processes: two auth
// servers and a resource server on one PostgreSQL database, and crash
// safety under SIGKILL. They start the real binary.
package scale
