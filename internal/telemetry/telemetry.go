// Package telemetry is tmcp's OpenTelemetry tracing: the exporter the
// standard OTEL_* environment variables configure (OTLP over HTTP, off
// unless an exporter is set), W3C Trace Context (traceparent) in and out
// of every HTTP hop, and the spans' names and attributes. Spans never
// carry tokens, secrets, codes, cookies or email addresses: only methods,
// route patterns, hosts, status codes and protocol names.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Propagator is W3C Trace Context (traceparent, tracestate).
var Propagator = propagation.TraceContext{}

const instrumentation = "github.com/tmcp-dev/tmcp"

// exporting is set once Setup installs an exporter. Until then no span
// is started: the trace context that came in is passed on as it is,
// which is what a no-op span would do, without its cost on every
// request.
var exporting atomic.Bool

// Tracer is tmcp's tracer from the global provider: a no-op until Setup
// installs an exporter.
func Tracer() trace.Tracer { return otel.Tracer(instrumentation) }

// Enabled reports whether the environment asks for traces: an OTLP
// endpoint or OTEL_TRACES_EXPORTER=otlp, and not OTEL_SDK_DISABLED or
// OTEL_TRACES_EXPORTER=none.
func Enabled(getenv func(string) string) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return false
	}
	switch exp := getenv("OTEL_TRACES_EXPORTER"); exp {
	case "none":
		return false
	case "":
		return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	default:
		return true
	}
}

// check refuses what tmcp cannot do, rather than exporting nothing in
// silence: another exporter, or OTLP over gRPC.
func check(getenv func(string) string) error {
	if exp := getenv("OTEL_TRACES_EXPORTER"); exp != "" && exp != "otlp" {
		return fmt.Errorf("OTEL_TRACES_EXPORTER=%q: tmcp exports traces with otlp (or none)", exp)
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p := getenv(name); p != "" {
			if p != "http/protobuf" {
				return fmt.Errorf("%s=%q: tmcp sends OTLP over HTTP only; use http/protobuf (a collector's port 4318)", name, p)
			}
			break
		}
	}
	return nil
}

// Setup installs the tracer provider and propagator the environment
// configures, and returns what flushes and stops it. With no exporter
// set it installs only the propagator: incoming traceparent still passes
// on to TaskManager and the MCP servers behind the gateway, so their
// traces connect through tmcp.
func Setup(ctx context.Context, version string, log *slog.Logger) (func(context.Context) error, error) {
	otel.SetTextMapPropagator(Propagator)
	if !Enabled(os.Getenv) {
		return func(context.Context) error { return nil }, nil
	}
	if err := check(os.Getenv); err != nil {
		return nil, err
	}
	exp, err := otlptracehttp.New(ctx) // endpoint, headers, TLS, timeout from OTEL_EXPORTER_OTLP_*
	if err != nil {
		return nil, fmt.Errorf("OpenTelemetry exporter: %w", err)
	}
	// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override these.
	res, err := resource.New(ctx, resource.WithAttributes(attribute.String("service.name", "tmcp"), attribute.String("service.version", version)),
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	// The sampler comes from OTEL_TRACES_SAMPLER (default: parent-based,
	// always on), the batching from OTEL_BSP_*.
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	exporting.Store(true)
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Warn("trace export failed", "err", err) }))
	log.Info("traces exported over OTLP/HTTP")
	return tp.Shutdown, nil
}

// SignInCookie carries a sign-in's trace context from the authorize
// request to the callback: the browser in between sends no traceparent,
// and without it the callback (and the TaskManager call it makes) would
// start a trace of its own.
const SignInCookie = "tmcp_trace"

// carrier reads the trace context of r: its traceparent header, else the
// sign-in cookie.
func carrier(r *http.Request) propagation.TextMapCarrier {
	c := propagation.HeaderCarrier(r.Header)
	if c.Get("traceparent") != "" {
		return c
	}
	if len(r.Header["Cookie"]) == 0 { // most requests: no cookies to parse
		return c
	}
	if ck, err := r.Cookie(SignInCookie); err == nil {
		return propagation.MapCarrier{"traceparent": ck.Value}
	}
	return c
}

// StartServer starts the server span of r, the child of its caller's
// span when it sent one. End it with EndServer once the route is known.
func StartServer(r *http.Request) (context.Context, trace.Span) {
	ctx := Propagator.Extract(r.Context(), carrier(r))
	if !exporting.Load() {
		return ctx, trace.SpanFromContext(ctx)
	}
	return Tracer().Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", r.Method)))
}

// EndServer names the span after the route pattern that matched (never
// the path, which may hold ids) and records the status.
func EndServer(span trace.Span, r *http.Request, status int) {
	if !span.IsRecording() {
		return
	}
	if route := r.Pattern; route != "" {
		if !strings.Contains(route, " ") { // a pattern for any method
			route = r.Method + " " + route
		}
		span.SetName(route)
		span.SetAttributes(attribute.String("http.route", r.Pattern))
	}
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
}

// Traceparent is the traceparent header value of ctx's span, or "".
func Traceparent(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	c := propagation.MapCarrier{}
	Propagator.Inject(ctx, c)
	return c["traceparent"]
}

// Inject puts ctx's trace context into h.
func Inject(ctx context.Context, h http.Header) {
	Propagator.Inject(ctx, propagation.HeaderCarrier(h))
}

// StartClient starts the client span of an HTTP call to host, named
// "METHOD host", and returns the context to send with.
func StartClient(ctx context.Context, method, host string) (context.Context, trace.Span) {
	if !exporting.Load() {
		return ctx, trace.SpanFromContext(ctx)
	}
	return Tracer().Start(ctx, method+" "+host, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("http.request.method", method), attribute.String("server.address", host)))
}

// EndClient records a call's outcome on its span and ends it.
func EndClient(span trace.Span, status int, err error) {
	if !span.IsRecording() {
		return
	}
	if status > 0 {
		span.SetAttributes(attribute.Int("http.response.status_code", status))
	}
	if err != nil {
		// The error's text can hold a URL with a query: only its kind.
		span.SetStatus(codes.Error, "request failed")
	} else if status >= 500 {
		span.SetStatus(codes.Error, strconv.Itoa(status))
	}
	span.End()
}

// Transport is base with a client span around each request and its
// trace context sent along.
func Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{base: base}
}

type transport struct{ base http.RoundTripper }

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, span := StartClient(r.Context(), r.Method, r.URL.Host)
	r = r.Clone(ctx)
	Inject(ctx, r.Header)
	resp, err := t.base.RoundTrip(r)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	EndClient(span, status, err)
	return resp, err
}
