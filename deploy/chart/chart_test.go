package chart

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// TestChart_EveryManifestDecodesStrictly: each value set renders, passes
// values.schema.json, and every manifest is a valid object of its API
// type with no field the type lacks.
func TestChart_EveryManifestDecodesStrictly(t *testing.T) {
	for _, vs := range valueSets {
		t.Run(vs, func(t *testing.T) {
			m := mustRender(t, vs)
			if len(m.Deployments) != 2 || len(m.Services) != 2 || len(m.PDBs) != 2 {
				t.Fatalf("want 2 deployments, services and PDBs, got %d, %d, %d", len(m.Deployments), len(m.Services), len(m.PDBs))
			}
		})
	}
}

// TestChart_PodsAreHardened: every container of every pod runs as the
// non-root user with a read-only root filesystem, no privilege
// escalation and no capabilities; no service account token is mounted;
// /tmp and the state directory are volumes.
func TestChart_PodsAreHardened(t *testing.T) {
	for _, vs := range valueSets {
		t.Run(vs, func(t *testing.T) {
			for _, d := range mustRender(t, vs).Deployments {
				ps := d.Spec.Template.Spec
				if ps.SecurityContext == nil || ps.SecurityContext.RunAsNonRoot == nil || !*ps.SecurityContext.RunAsNonRoot {
					t.Errorf("%s: the pod may run as root", d.Name)
				}
				if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken {
					t.Errorf("%s: the service account token is mounted", d.Name)
				}
				for _, c := range ps.Containers {
					sc := c.SecurityContext
					switch {
					case sc == nil:
						t.Errorf("%s/%s: no securityContext", d.Name, c.Name)
					case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != 65532:
						t.Errorf("%s/%s: not the non-root user 65532", d.Name, c.Name)
					case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
						t.Errorf("%s/%s: root filesystem is writable", d.Name, c.Name)
					case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
						t.Errorf("%s/%s: privilege escalation allowed", d.Name, c.Name)
					case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0:
						t.Errorf("%s/%s: capabilities not all dropped", d.Name, c.Name)
					}
					mounts := map[string]bool{}
					for _, vm := range c.VolumeMounts {
						mounts[vm.MountPath] = true
					}
					if !mounts["/tmp"] {
						t.Errorf("%s/%s: /tmp is not a volume", d.Name, c.Name)
					}
				}
			}
		})
	}
}

// TestChart_ServersAreReplicatedProbedAndBudgeted: both servers run at
// least two replicas, are probed at /readyz (readiness) and /healthz
// (liveness) on their HTTP port, and have a PodDisruptionBudget and a
// Service whose selectors pick exactly their own pods.
func TestChart_ServersAreReplicatedProbedAndBudgeted(t *testing.T) {
	for _, vs := range valueSets {
		t.Run(vs, func(t *testing.T) {
			m := mustRender(t, vs)
			for _, comp := range []string{"auth", "resource"} {
				d := m.deployment(comp)
				if d == nil {
					t.Fatalf("no %s deployment", comp)
				}
				if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
					t.Errorf("%s: fewer than 2 replicas", d.Name)
				}
				c := container(d, comp)
				if c == nil {
					t.Fatalf("%s: no %s container", d.Name, comp)
				}
				for probe, path := range map[*corev1.Probe]string{c.ReadinessProbe: "/readyz", c.LivenessProbe: "/healthz"} {
					if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != path || probe.HTTPGet.Port.String() != "http" {
						t.Errorf("%s: want a probe of %s on port http, got %s", d.Name, path, describe(probe))
					}
				}
				pods := labels.Set(d.Spec.Template.Labels)
				other := m.deployment(map[string]string{"auth": "resource", "resource": "auth"}[comp])
				otherPods := labels.Set(other.Spec.Template.Labels)
				sel, err := metaSelector(d.Spec.Selector)
				if err != nil || !sel.Matches(pods) {
					t.Errorf("%s: its selector does not pick its pods (%v)", d.Name, err)
				}
				var pdbOK, svcOK bool
				for _, p := range m.PDBs {
					s, err := metaSelector(p.Spec.Selector)
					if err == nil && s.Matches(pods) && !s.Matches(otherPods) && p.Spec.MinAvailable != nil {
						pdbOK = true
					}
				}
				for _, s := range m.Services {
					sel := labels.SelectorFromSet(s.Spec.Selector)
					if s.Name == d.Name && sel.Matches(pods) && !sel.Matches(otherPods) {
						svcOK = true
					}
				}
				if !pdbOK {
					t.Errorf("%s: no PodDisruptionBudget selects exactly its pods", d.Name)
				}
				if !svcOK {
					t.Errorf("%s: no Service of that name selects exactly its pods", d.Name)
				}
			}
		})
	}
}

// TestChart_SecretsComeFromSecrets: the database URL, the encryption key
// and the client secrets reach the pods only as references to the
// Secret, never as values in the manifests.
func TestChart_SecretsComeFromSecrets(t *testing.T) {
	want := map[string][]string{
		"auth":     {"TMCP_STORE", "TMCP_ENCRYPTION_KEY", "TASKMANAGER_CLIENT_SECRET", "TMCP_RESOURCE_CLIENT_SECRET"},
		"resource": {"TMCP_RESOURCE_CLIENT_SECRET"},
	}
	for _, vs := range valueSets {
		t.Run(vs, func(t *testing.T) {
			m := mustRender(t, vs)
			secretName := "tmcp"
			if vs == "gateway-sidecar.yaml" {
				secretName = "tmcp-prod"
			}
			for comp, names := range want {
				c := container(m.deployment(comp), comp)
				env := map[string]corev1.EnvVar{}
				for _, e := range c.Env {
					env[e.Name] = e
				}
				for _, n := range names {
					e, ok := env[n]
					switch {
					case !ok:
						t.Errorf("%s: no %s", comp, n)
					case e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil:
						t.Errorf("%s: %s is not from a Secret", comp, n)
					case e.ValueFrom.SecretKeyRef.Name != secretName:
						t.Errorf("%s: %s from Secret %q, want %q", comp, n, e.ValueFrom.SecretKeyRef.Name, secretName)
					}
				}
				for _, a := range c.Args {
					if strings.Contains(a, "secret") || strings.Contains(a, "postgres://") {
						t.Errorf("%s: a secret on the command line: %s", comp, a)
					}
				}
			}
		})
	}
}

// TestChart_GatewayModes: builtin serves the built-in tools (no
// --proxy); url passes the backend URL; sidecar runs the MCP server in
// the pod and points --proxy at it on loopback.
func TestChart_GatewayModes(t *testing.T) {
	for vs, want := range map[string]string{
		"minimal.yaml":         "",
		"gateway-url.yaml":     "--proxy=http://notes-mcp.tools.svc.cluster.local:3000/mcp",
		"gateway-sidecar.yaml": "--proxy=http://127.0.0.1:3000/mcp",
	} {
		t.Run(vs, func(t *testing.T) {
			d := mustRender(t, vs).deployment("resource")
			var got string
			for _, a := range container(d, "resource").Args {
				if strings.HasPrefix(a, "--proxy=") {
					got = a
				}
			}
			if got != want {
				t.Errorf("proxy argument %q, want %q", got, want)
			}
			if sidecar := container(d, "mcp-server") != nil; sidecar != (vs == "gateway-sidecar.yaml") {
				t.Errorf("sidecar container present: %v", sidecar)
			}
		})
	}
}

// TestChart_MetricsPortIsNamedAndFenced: with metrics on, both Services
// and pods expose a port named "metrics" (what a ServiceMonitor selects),
// tmcp's ops listener is bound to it, and the NetworkPolicy admits only
// the metricsFrom peers (by default the namespace's pods) to it.
func TestChart_MetricsPortIsNamedAndFenced(t *testing.T) {
	m := mustRender(t, "gateway-url.yaml")
	for _, s := range m.Services {
		if !slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == "metrics" }) {
			t.Errorf("Service %s: no port named metrics", s.Name)
		}
	}
	for comp, addr := range map[string]string{"auth": "--ops-addr=0.0.0.0:9464", "resource": "--ops-addr=0.0.0.0:9465"} {
		if c := container(m.deployment(comp), comp); !slices.Contains(c.Args, addr) {
			t.Errorf("%s: no %s in %q", comp, addr, c.Args)
		}
	}
	if len(m.ServiceMonitors) != 1 || len(m.ServiceMonitors[0].Spec.Endpoints) != 1 || m.ServiceMonitors[0].Spec.Endpoints[0].Port != "metrics" {
		t.Errorf("want one ServiceMonitor scraping port metrics, got %s", describe(m.ServiceMonitors))
	}
	if len(m.NetworkPolicies) != 2 {
		t.Fatalf("want 2 NetworkPolicies, got %d", len(m.NetworkPolicies))
	}
	for _, np := range m.NetworkPolicies {
		for _, rule := range np.Spec.Ingress {
			if rule.Ports[0].Port.String() == "metrics" && (len(rule.From) != 1 || rule.From[0].NamespaceSelector == nil) {
				t.Errorf("%s: metrics reachable from %s", np.Name, describe(rule.From))
			}
		}
	}

	for _, np := range mustRender(t, "minimal.yaml").NetworkPolicies {
		for _, rule := range np.Spec.Ingress {
			if rule.Ports[0].Port.String() != "metrics" {
				continue
			}
			if len(rule.From) != 1 || rule.From[0].PodSelector == nil || len(rule.From[0].PodSelector.MatchLabels) != 0 ||
				rule.From[0].NamespaceSelector != nil || rule.From[0].IPBlock != nil {
				t.Errorf("%s: by default metrics should be reachable from the namespace's pods only, not %s", np.Name, describe(rule.From))
			}
		}
	}

	off := mustRender(t, "gateway-sidecar.yaml")
	if len(off.NetworkPolicies) != 0 || len(off.ServiceMonitors) != 0 {
		t.Errorf("networkPolicy and metrics off, yet rendered %d policies and %d monitors", len(off.NetworkPolicies), len(off.ServiceMonitors))
	}
	for _, d := range off.Deployments {
		for _, a := range d.Spec.Template.Spec.Containers[0].Args {
			if strings.HasPrefix(a, "--ops-addr") {
				t.Errorf("%s: %s with metrics off", d.Name, a)
			}
		}
	}
}

// TestChart_BadValuesAreRefused: a missing required URL, an unknown mode,
// a misspelt key and tool scopes without a gateway each stop the
// rendering with a message naming the value.
func TestChart_BadValuesAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name      string
		overrides map[string]any
		want      string
	}{
		{"NoIssuer", map[string]any{"auth": map[string]any{"issuer": ""}}, "auth.issuer is required"},
		{"NoPublicURL", map[string]any{"resource": map[string]any{"publicURL": ""}}, "resource.publicURL is required"},
		{"IssuerNotAURL", map[string]any{"auth": map[string]any{"issuer": "auth.example.com"}}, "issuer"},
		{"UnknownMode", map[string]any{"resource": map[string]any{"mode": "stdio"}}, "mode"},
		{"MisspeltKey", map[string]any{"resource": map[string]any{"replica": 3}}, "replica"},
		{"OneReplicaTooFew", map[string]any{"auth": map[string]any{"replicas": 0}}, "replicas"},
		{"URLModeWithoutURL", map[string]any{"resource": map[string]any{"mode": "url"}}, "resource.backend.url is required"},
		{"SidecarWithoutImage", map[string]any{"resource": map[string]any{"mode": "sidecar"}}, "resource.backend.sidecar.image is required"},
		{"ToolScopesWithoutGateway", map[string]any{"resource": map[string]any{"toolScopes": []any{"x=admin"}}}, "resource.toolScopes applies to a gateway"},
		{"ShortGracePeriod", map[string]any{"terminationGracePeriodSeconds": 5}, "terminationGracePeriodSeconds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render(t, "minimal.yaml", tc.overrides)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("want an error naming %q, got %v", tc.want, err)
			}
		})
	}
}
