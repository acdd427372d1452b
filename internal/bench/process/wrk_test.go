package process

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A target is one endpoint wrk drives: the same request, over and over,
// on every connection.
type target struct {
	name    string
	url     string
	body    string
	headers map[string]string
	script  string // the Lua file wrk reads; written by prepare
}

// prepare writes the target's request as a wrk script in dir.
func (t *target) prepare(tb testing.TB, dir string) {
	tb.Helper()
	var b strings.Builder
	b.WriteString("wrk.method = \"POST\"\n")
	fmt.Fprintf(&b, "wrk.body = %s\n", luaString(t.body))
	keys := make([]string, 0, len(t.headers))
	for k := range t.headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "wrk.headers[ %s ] = %s\n", luaString(k), luaString(t.headers[k]))
	}
	t.script = filepath.Join(dir, strings.NewReplacer(" ", "-", "/", "-").Replace(t.name)+".lua")
	if err := os.WriteFile(t.script, []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// luaString quotes s as a Lua long string, which takes every byte as is.
func luaString(s string) string {
	eq := ""
	for strings.Contains(s, "]"+eq+"]") {
		eq += "="
	}
	return "[" + eq + "[" + s + "]" + eq + "]"
}

// drive runs wrk against t for d (one thread, connections connections)
// and returns the requests a second; see wrkRate for what fails the run.
func drive(tb testing.TB, t *target, connections int, d time.Duration) float64 {
	tb.Helper()
	out, err := exec.Command("wrk", "-t1", "-c"+strconv.Itoa(connections), "-d"+d.String(), "--timeout", "10s",
		"-s", t.script, t.url).CombinedOutput()
	if err != nil {
		tb.Fatalf("wrk %s: %v\n%s", t.name, err, out)
	}
	rate, err := wrkRate(out)
	if err != nil {
		tb.Fatalf("%s: %v\n%s", t.name, err, out)
	}
	return rate
}

var (
	wrkRequests = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	wrkNon2xx   = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses:\s+([0-9]+)`)
	wrkSockErrs = regexp.MustCompile(`(?m)^\s*Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)`)
)

// wrkRate reads the requests a second from wrk's report. Only successful
// answers are throughput: an answer outside 2xx/3xx, a socket error, a
// script error (no request sent) or no rate at all is an error. (Each
// target's answer was checked to be a 2xx with the expected body before
// the rounds, so a 3xx cannot pass for one.)
func wrkRate(out []byte) (float64, error) {
	if m := wrkNon2xx.FindSubmatch(out); m != nil {
		return 0, fmt.Errorf("%s answers were not 2xx", m[1])
	}
	if m := wrkSockErrs.FindSubmatch(out); m != nil {
		return 0, fmt.Errorf("socket errors: connect %s, read %s, write %s, timeout %s", m[1], m[2], m[3], m[4])
	}
	m := wrkRequests.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no rate in wrk's report")
	}
	rate, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil || rate == 0 {
		return 0, fmt.Errorf("no request completed")
	}
	return rate, nil
}

// rounds drives each target in turn, n times over, so that drift in the
// machine's state (other processes, CPU boost) hits all alike, and
// returns each round's rates.
func rounds(tb testing.TB, n int, d time.Duration, targets ...*target) [][]float64 {
	out := make([][]float64, n)
	for r := range out {
		out[r] = make([]float64, len(targets))
		for i, t := range targets {
			runtime.GC()
			out[r][i] = drive(tb, t, connections, d)
		}
	}
	return out
}

// medianRatio is the median over rounds of target i's rate against
// target base's in the same round: a round in which the machine ran fast
// or slow for one side counts once, not by how far off it was.
func medianRatio(rs [][]float64, i, base int) float64 {
	ratios := make([]float64, len(rs))
	for r, rates := range rs {
		ratios[r] = rates[i] / rates[base]
	}
	return median(ratios)
}

// medianRate is target i's median rate over rounds.
func medianRate(rs [][]float64, i int) float64 {
	rates := make([]float64, len(rs))
	for r := range rs {
		rates[r] = rs[r][i]
	}
	return median(rates)
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}
