package config

import (
	"slices"
	"strings"
	"testing"
)

// Every setting whose default is a list is read as one (List), so no list
// is split one way from a flag and another from the environment.
func TestLists_EveryListDefaultIsAListSetting(t *testing.T) {
	for _, s := range settings {
		if _, isList := s.Default.([]string); isList && !IsList(s.Key) {
			t.Errorf("%s has a list default but is not in lists", s.Key)
		}
	}
	for key := range lists {
		Lookup(key) // panics on a key that is not a setting
	}
}

// Commas end entries; Words settings split on whitespace too; a blank
// string is an empty list, an empty entry an error.
func TestSplitList_SeparatorsAndEmptyEntries(t *testing.T) {
	for _, tc := range []struct {
		raw    any
		syntax ListSyntax
		want   []string
		err    string
	}{
		{"a,b", Commas, []string{"a", "b"}, ""},
		{" a , b c ", Commas, []string{"a", "b c"}, ""},
		{" a , b c ", Words, []string{"a", "b", "c"}, ""},
		{[]string{"a,b", "c d"}, Commas, []string{"a", "b", "c d"}, ""},
		{[]any{"x=1 2", 42, true}, Commas, []string{"x=1 2", "42", "true"}, ""},
		{"", Words, nil, ""},
		{"   ", Commas, nil, ""},
		{nil, Commas, nil, ""},
		{[]string{}, Words, nil, ""},
		{"a,,b", Words, nil, `"a,,b" holds an empty entry`},
		{"a,", Commas, nil, `"a," holds an empty entry`},
		{",", Commas, nil, "empty entry"},
		{[]any{"a", ""}, Words, nil, "the list holds an empty entry"},
		{[]any{"a", nil}, Words, nil, "the list holds an empty entry"},
		{[]any{map[string]any{"echo": "write"}}, Commas, nil, "a list entry is a map"},
		{map[string]any{"echo": "write"}, Commas, nil, "is a map"},
	} {
		got, err := SplitList(tc.raw, tc.syntax)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("SplitList(%#v) = %v, %v; want an error with %q", tc.raw, got, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("SplitList(%#v) = %q, %v; want %q", tc.raw, got, err, tc.want)
		}
	}
}
