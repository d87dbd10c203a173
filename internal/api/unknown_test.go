package api

import (
	"reflect"
	"slices"
	"testing"
)

// TestUnknownField checks that an unknown member is found by its JSON pointer at any depth
// (struct, pointer, slice, map, embedded struct), with the names allowed where it stands,
// and that names match case-insensitively, as encoding/json matches them.
func TestUnknownField(t *testing.T) {
	type Inner struct {
		Number string `json:"number"`
		Skip   string `json:"-"`
	}
	type Embedded struct {
		Zone string `json:"zone"`
	}
	type body struct {
		Embedded
		Name   string            `json:"name"`
		Inner  *Inner            `json:"inner"`
		Items  []Inner           `json:"items"`
		ByKey  map[string]Inner  `json:"byKey"`
		Labels map[string]string `json:"labels,omitempty"`
		Plain  int
	}
	for _, tt := range []struct {
		name, data, pointer string
		allowed             []string
	}{
		{"top level", `{"name": "a", "cps": 3}`, "/cps", []string{"Plain", "byKey", "inner", "items", "labels", "name", "zone"}},
		{"in a pointer", `{"inner": {"number": "1", "numbr": "2"}}`, "/inner/numbr", []string{"number"}},
		{"in a slice", `{"items": [{"number": "1"}, {"nmber": "2"}]}`, "/items/1/nmber", []string{"number"}},
		{"in a map", `{"byKey": {"a/b": {"x": 1}}}`, "/byKey/a~1b/x", []string{"number"}},
		{"a field tagged -", `{"inner": {"Skip": "x"}}`, "/inner/Skip", []string{"number"}},
		{"none, in any case", `{"NAME": "a", "Zone": "z", "plain": 1, "labels": {"any": "x"}, "inner": {"Number": "1"}}`, "", nil},
		{"not the type's shape", `{"items": {"number": "1"}}`, "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pointer, allowed, ok := unknownField([]byte(tt.data), reflect.TypeFor[*body](), "")
			if pointer != tt.pointer || !slices.Equal(allowed, tt.allowed) || ok != (tt.pointer != "") {
				t.Errorf("unknownField(%s) = %q, %q, %v; want %q, %q", tt.data, pointer, allowed, ok, tt.pointer, tt.allowed)
			}
		})
	}
}
