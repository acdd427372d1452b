// Package chart holds the tests of tmcp's Helm chart (deploy/helm/tmcp):
// each value set in testdata/ is rendered with Helm's own engine and
// schema validation, every manifest is decoded strictly into its
// Kubernetes API type (an unknown or misplaced field fails), the
// hardening and probes are checked on every pod, and every flag and
// environment variable the chart hands tmcp is checked against what the
// built binary says it takes.
package chart
