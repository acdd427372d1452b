package resource

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/tmcp-dev/tmcp/pkg/oauth"
)

// toolFilter is, for --hide-unauthorized, which tools a principal may see
// in tools/list: those whose scopes under the tool policy it holds.
func (s *Server) toolFilter(p *Principal) func(name string) bool {
	return func(name string) bool { return oauth.ScopeSubset(s.toolNeeds(name), p.Scopes) }
}

// hideTools drops from a JSON-RPC message (or batch) the tools of a
// tools/list result that allowed refuses; anything else passes unchanged.
func hideTools(msg []byte, allowed func(string) bool) []byte {
	if !bytes.Contains(msg, []byte(`"tools"`)) {
		return msg
	}
	if t := bytes.TrimSpace(msg); bytes.HasPrefix(t, []byte("[")) {
		var batch []json.RawMessage
		if json.Unmarshal(t, &batch) != nil {
			return msg
		}
		for i := range batch {
			batch[i] = hideTools(batch[i], allowed)
		}
		out, _ := json.Marshal(batch)
		return out
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(msg, &m) != nil || m["result"] == nil {
		return msg
	}
	var result map[string]json.RawMessage
	if json.Unmarshal(m["result"], &result) != nil || result["tools"] == nil {
		return msg
	}
	var tools []json.RawMessage
	if json.Unmarshal(result["tools"], &tools) != nil {
		return msg
	}
	kept := tools[:0]
	for _, tool := range tools {
		var named struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(tool, &named) == nil && allowed(named.Name) {
			kept = append(kept, tool)
		}
	}
	result["tools"], _ = json.Marshal(kept)
	m["result"], _ = json.Marshal(result)
	out, _ := json.Marshal(m)
	return out
}

// hideInResponse filters a backend's answer to a tools/list: a JSON body
// at once, an SSE stream event by event as it passes.
func hideInResponse(resp *http.Response, allowed func(string) bool) error {
	switch ct := resp.Header.Get("Content-Type"); {
	case strings.HasPrefix(ct, "application/json"):
		body, err := io.ReadAll(resp.Body) // the backend's own answer, read whole to rewrite it
		resp.Body.Close()
		if err != nil {
			return err
		}
		body = hideTools(body, allowed)
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	case strings.HasPrefix(ct, "text/event-stream"):
		in := resp.Body
		r, w := io.Pipe()
		go func() {
			sc := bufio.NewScanner(in)
			sc.Buffer(make([]byte, 64*1024), maxRPCBody)
			var err error
			for sc.Scan() && err == nil {
				line := sc.Bytes()
				if data, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
					line = append([]byte("data: "), hideTools(data, allowed)...)
				}
				_, err = w.Write(append(line, '\n'))
			}
			in.Close()
			w.CloseWithError(sc.Err())
		}()
		resp.Body = r
		resp.ContentLength = -1
		resp.Header.Del("Content-Length")
	}
	return nil
}
