package chart

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	loader "helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

const chartDir = "../helm/tmcp"

// manifests is one rendering, decoded.
type manifests struct {
	Deployments     []*appsv1.Deployment
	Services        []*corev1.Service
	PDBs            []*policyv1.PodDisruptionBudget
	NetworkPolicies []*networkingv1.NetworkPolicy
	ServiceAccounts []*corev1.ServiceAccount
	ServiceMonitors []*monitoringv1.ServiceMonitor
}

// render renders the chart with the values file (testdata/NAME) and
// overrides, as `helm template` would: schema validation included.
func render(t *testing.T, valuesFile string, overrides map[string]any) (map[string]string, error) {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	vals := map[string]any{}
	if valuesFile != "" {
		b, err := os.ReadFile(filepath.Join("testdata", valuesFile))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, &vals); err != nil {
			t.Fatalf("%s: %v", valuesFile, err)
		}
	}
	if overrides != nil {
		vals = util.MergeTables(overrides, vals)
	}
	top, err := util.ToRenderValues(ch, vals, common.ReleaseOptions{Name: "tmcp", Namespace: "mcp", IsInstall: true, Revision: 1}, nil)
	if err != nil {
		return nil, err
	}
	return engine.Engine{Strict: true}.RenderWithContext(t.Context(), ch, top)
}

// decode reads every document of every rendered template into its API
// type, refusing unknown fields, duplicate fields and unknown kinds.
func decode(t *testing.T, out map[string]string) manifests {
	t.Helper()
	var m manifests
	names := make([]string, 0, len(out))
	for name := range out {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if strings.HasSuffix(name, "NOTES.txt") {
			continue
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(out[name])))
		for {
			doc, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if len(bytes.TrimSpace(doc)) == 0 || onlyComments(doc) {
				continue
			}
			var head struct{ APIVersion, Kind string }
			if err := yaml.Unmarshal(doc, &head); err != nil {
				t.Fatalf("%s: %v\n%s", name, err, doc)
			}
			var obj any
			switch head.APIVersion + " " + head.Kind {
			case "apps/v1 Deployment":
				d := &appsv1.Deployment{}
				m.Deployments, obj = append(m.Deployments, d), d
			case "v1 Service":
				s := &corev1.Service{}
				m.Services, obj = append(m.Services, s), s
			case "policy/v1 PodDisruptionBudget":
				p := &policyv1.PodDisruptionBudget{}
				m.PDBs, obj = append(m.PDBs, p), p
			case "networking.k8s.io/v1 NetworkPolicy":
				n := &networkingv1.NetworkPolicy{}
				m.NetworkPolicies, obj = append(m.NetworkPolicies, n), n
			case "v1 ServiceAccount":
				a := &corev1.ServiceAccount{}
				m.ServiceAccounts, obj = append(m.ServiceAccounts, a), a
			case "monitoring.coreos.com/v1 ServiceMonitor":
				s := &monitoringv1.ServiceMonitor{}
				m.ServiceMonitors, obj = append(m.ServiceMonitors, s), s
			default:
				t.Fatalf("%s: a %s %s, which this test does not know how to check", name, head.APIVersion, head.Kind)
			}
			if err := decodeStrict(doc, obj); err != nil {
				t.Fatalf("%s: %v\n%s", name, err, doc)
			}
		}
	}
	return m
}

// decodeStrict decodes one YAML document the way the API server's strict
// field validation reads JSON: field names match case-sensitively (Go's
// encoding/json would take readOnlyRootFileSystem for
// readOnlyRootFilesystem), and an unknown or repeated field is an error.
func decodeStrict(doc []byte, obj any) error {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(js, obj, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

func onlyComments(doc []byte) bool {
	for _, l := range strings.Split(string(doc), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}

// deployment is the one named NAME-COMPONENT.
func (m manifests) deployment(component string) *appsv1.Deployment {
	for _, d := range m.Deployments {
		if d.Name == "tmcp-"+component {
			return d
		}
	}
	return nil
}

func container(d *appsv1.Deployment, name string) *corev1.Container {
	for i := range d.Spec.Template.Spec.Containers {
		if c := &d.Spec.Template.Spec.Containers[i]; c.Name == name {
			return c
		}
	}
	return nil
}

func mustRender(t *testing.T, valuesFile string) manifests {
	t.Helper()
	out, err := render(t, valuesFile, nil)
	if err != nil {
		t.Fatalf("%s: %v", valuesFile, err)
	}
	return decode(t, out)
}

var valueSets = []string{"minimal.yaml", "gateway-url.yaml", "gateway-sidecar.yaml"}

func describe(v any) string { return fmt.Sprintf("%+v", v) }

func metaSelector(s *metav1.LabelSelector) (labels.Selector, error) {
	return metav1.LabelSelectorAsSelector(s)
}
