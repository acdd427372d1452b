package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/viper"
)

// ListSyntax says what ends one entry of a list setting.
type ListSyntax int

const (
	// Commas end entries; spaces inside an entry are kept: a group named
	// "Domain Users", a scope rule "delete_*=write admin".
	Commas ListSyntax = iota + 1
	// Words: commas and whitespace both end entries (scopes, origins,
	// schemes, CIDRs, hosts, URIs).
	Words
)

// lists are the settings that hold a list, and how their entries are
// separated. Every setting whose default is a []string is one.
var lists = map[string]ListSyntax{
	KeyAuthScopes:          Words,
	KeyTMScope:             Words,
	KeyTMScopeMap:          Commas,
	KeyAuthCORSOrigins:     Words,
	KeyAuthRegSchemes:      Words,
	KeyAuthTrustedProxy:    Words,
	KeyAuthAssertionAud:    Words,
	KeyAuthAllowUsers:      Commas,
	KeyAuthAllowDomains:    Commas,
	KeyAuthAllowGroups:     Commas,
	KeyResourceOrigins:     Words,
	KeyResourceHosts:       Words,
	KeyResourceToolScope:   Commas,
	KeyResourcePromptSc:    Commas,
	KeyResourceResSc:       Commas,
	KeyResourceStdioEnv:    Commas,
	KeySandboxRedirectURIs: Words,
}

// IsList reports whether setting key holds a list.
func IsList(key string) bool {
	_, ok := lists[key]
	return ok
}

// Lists are the keys of every list setting, sorted.
func Lists() []string {
	keys := make([]string, 0, len(lists))
	for k := range lists {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// List reads the list setting key the same way from every source: a flag
// (repeated, each value holding one or more entries), an environment
// variable, or the config file as a YAML list or one string. Commas (and
// for Words settings whitespace) separate entries; an empty entry, such as
// the one between two commas, is an error, so a typo never reaches the
// server as a half-read list.
func List(v *viper.Viper, key string) ([]string, error) {
	syntax, ok := lists[key]
	if !ok {
		panic("config: " + key + " is not a list setting")
	}
	return SplitList(v.Get(key), syntax)
}

// SplitList is List's parser, for a value read from elsewhere (a list
// inside auth.resource_servers): raw is a string, or a list of strings
// (a flag's values, a YAML list) each split alike. A blank string is an
// empty list; a blank entry of a list is an error.
func SplitList(raw any, syntax ListSyntax) ([]string, error) {
	var items []string
	switch x := raw.(type) {
	case nil:
		return nil, nil
	case string:
		if strings.TrimSpace(x) == "" {
			return nil, nil
		}
		items = []string{x}
	case []string:
		items = x
	case []any:
		for _, e := range x {
			switch e.(type) {
			case nil:
				items = append(items, "")
			case string, bool, int, int64, uint64, float64:
				items = append(items, fmt.Sprint(e))
			default:
				return nil, fmt.Errorf("a list entry is a %s; write each entry as a string", kindOf(e))
			}
		}
	default:
		return nil, fmt.Errorf("is a %s; write a list or a string of entries separated by commas", kindOf(raw))
	}
	var out []string
	for _, item := range items {
		for _, entry := range strings.Split(item, ",") {
			entry = strings.TrimSpace(entry)
			if entry == "" {
				return nil, errEmptyEntry(item)
			}
			if syntax == Words {
				out = append(out, strings.Fields(entry)...)
			} else {
				out = append(out, entry)
			}
		}
	}
	return out, nil
}

func errEmptyEntry(item string) error {
	if strings.TrimSpace(item) == "" {
		return errors.New("the list holds an empty entry")
	}
	return fmt.Errorf("%q holds an empty entry (a comma too many?)", item)
}

func kindOf(v any) string {
	switch v.(type) {
	case map[string]any, map[any]any:
		return "map"
	case []any:
		return "list"
	}
	return fmt.Sprintf("%T", v)
}
