package campaign

import (
	"fmt"
	"math"
	"reflect"
	"time"

	"go.yaml.in/yaml/v4"
)

// The setters of decoder.mapping's fields, one per kind of value a campaign file holds.

func (d *decoder) str(dst *string) setter {
	return func(key string, v *yaml.Node) error {
		switch {
		case isNull(v):
			*dst = ""
		case v.Kind != yaml.ScalarNode:
			return d.errorAt(key, v, "must be text, got "+kindName(v))
		default:
			*dst = v.Value
		}
		return nil
	}
}

func (d *decoder) integer(dst *int) setter {
	return func(key string, v *yaml.Node) error {
		if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" || v.Decode(dst) != nil {
			return d.errorAt(key, v, "must be a whole number, got "+kindName(v))
		}
		return nil
	}
}

func (d *decoder) float(dst *float64) setter {
	return func(key string, v *yaml.Node) error {
		tag := v.ShortTag()
		if v.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || v.Decode(dst) != nil {
			return d.errorAt(key, v, "must be a number, got "+kindName(v))
		}
		if math.IsNaN(*dst) || math.IsInf(*dst, 0) {
			return d.errorAt(key, v, "must be a finite number, got "+v.Value)
		}
		return nil
	}
}

func (d *decoder) duration(dst *Duration) setter {
	return func(key string, v *yaml.Node) error {
		const want = "must be a duration such as 500ms, 30s, 5m or 1h30m"
		switch tag := v.ShortTag(); {
		case v.Kind != yaml.ScalarNode:
			return d.errorAt(key, v, want+", got "+kindName(v))
		case (tag == "!!int" || tag == "!!float") && v.Value != "0":
			return d.errorAt(key, v, fmt.Sprintf("%s, got %s; add a unit: s for seconds, m for minutes", want, v.Value))
		case tag != "!!str" && tag != "!!int":
			return d.errorAt(key, v, want+", got "+kindName(v))
		}
		t, err := time.ParseDuration(v.Value)
		if err != nil {
			return d.errorAt(key, v, fmt.Sprintf("%s, got %q", want, v.Value))
		}
		*dst = Duration(t)
		return nil
	}
}

// timestamp decodes an RFC 3339 time with an offset, quoted or not.
func (d *decoder) timestamp(dst **time.Time) setter {
	return func(key string, v *yaml.Node) error {
		const want = "must be a date and time with an offset (RFC 3339), such as 2026-12-01T09:00:00-05:00 or 2026-12-01T14:00:00Z"
		if tag := v.ShortTag(); v.Kind != yaml.ScalarNode || (tag != "!!timestamp" && tag != "!!str") {
			return d.errorAt(key, v, want+", got "+kindName(v))
		}
		t, err := time.Parse(time.RFC3339, v.Value)
		if err != nil {
			msg := fmt.Sprintf("%s, got %q", want, v.Value)
			if len(v.Value) == len("2006-01-02") {
				msg += "; add the time and the offset, e.g. T09:00:00-05:00"
			}
			return d.errorAt(key, v, msg)
		}
		*dst = &t
		return nil
	}
}

// strs decodes a list of text, as []string{} when written empty or as nothing. example is a
// list to show in the error for a value that is not a list.
func (d *decoder) strs(dst *[]string, example string) setter {
	return func(key string, v *yaml.Node) error {
		if isNull(v) {
			*dst = []string{}
			return nil
		}
		if v.Kind != yaml.SequenceNode {
			return d.errorAt(key, v, "must be a list such as "+example+", got "+kindName(v))
		}
		out := make([]string, 0, len(v.Content))
		for i, item := range v.Content {
			k := fmt.Sprintf("%s[%d]", key, i)
			if err := d.noAlias(k, item); err != nil {
				return err
			}
			if item.Kind != yaml.ScalarNode || isNull(item) {
				return d.errorAt(k, item, "must be text, got "+kindName(item))
			}
			d.at[k] = spot{item.Line, item.Column, item.Line, item.Column}
			out = append(out, item.Value)
		}
		*dst = out
		return nil
	}
}

// callerIDs decodes phoneNumberIds: a list whose items are each an id, or keys {id, number,
// maxConcurrentCalls}. It is []CallerID{} when written empty or as nothing.
func (d *decoder) callerIDs(dst *[]CallerID) setter {
	return func(key string, v *yaml.Node) error {
		const want = `must be a list of Interactly phone number ids such as [p1, p2], where an item may also be {id: p1, number: "+14155550100", maxConcurrentCalls: 5}`
		if isNull(v) {
			*dst = []CallerID{}
			return nil
		}
		if v.Kind != yaml.SequenceNode {
			return d.errorAt(key, v, want+", got "+kindName(v))
		}
		out := make([]CallerID, len(v.Content))
		for i, item := range v.Content {
			k := fmt.Sprintf("%s[%d]", key, i)
			if err := d.noAlias(k, item); err != nil {
				return err
			}
			d.at[k] = spot{item.Line, item.Column, item.Line, item.Column}
			c := &out[i]
			switch {
			case item.Kind == yaml.MappingNode:
				if err := d.mapping(item, k, d.fields(reflect.ValueOf(c).Elem())); err != nil {
					return err
				}
			case item.Kind == yaml.ScalarNode && !isNull(item):
				c.ID = item.Value
				d.bare[k] = true
			default:
				return d.errorAt(k, item, `must be a phone number id, or keys such as {id: p1, number: "+14155550100"}, got `+kindName(item))
			}
		}
		*dst = out
		return nil
	}
}

func (d *decoder) outcomes(dst *[]Outcome) setter {
	return func(key string, v *yaml.Node) error {
		if isNull(v) {
			*dst = []Outcome{}
			return nil
		}
		if v.Kind != yaml.SequenceNode {
			return d.errorAt(key, v, "must be a list such as [busy, no-answer], got "+kindName(v))
		}
		out := make([]Outcome, 0, len(v.Content))
		for i, item := range v.Content {
			k := fmt.Sprintf("%s[%d]", key, i)
			if err := d.noAlias(k, item); err != nil {
				return err
			}
			if item.Kind != yaml.ScalarNode {
				return d.errorAt(k, item, "must be busy, no-answer or failed, got "+kindName(item))
			}
			d.at[k] = spot{item.Line, item.Column, item.Line, item.Column}
			out = append(out, Outcome(item.Value))
		}
		*dst = out
		return nil
	}
}

// freeform decodes a mapping of any YAML into JSON-friendly values: maps with string keys,
// []any, string, bool, int, float64 and nil. Under key "assistantOverrides", a
// dynamicVariables mapping becomes map[string]any of strings.
func (d *decoder) freeform(dst *map[string]any) setter {
	return func(key string, v *yaml.Node) error {
		if isNull(v) {
			return nil
		}
		if v.Kind != yaml.MappingNode {
			return d.errorAt(key, v, "must be a set of keys, got "+kindName(v))
		}
		val, err := d.value(key, v)
		if err != nil {
			return err
		}
		m := val.(map[string]any)
		if key == "assistantOverrides" {
			if err := d.dynamicVariables(m, v); err != nil {
				return err
			}
		}
		*dst = m
		return nil
	}
}

// dynamicVariables replaces m["dynamicVariables"] by its values as written, as strings.
func (d *decoder) dynamicVariables(m map[string]any, n *yaml.Node) error {
	const key = "assistantOverrides.dynamicVariables"
	var dv *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "dynamicVariables" {
			dv = n.Content[i+1]
		}
	}
	if dv == nil {
		return nil
	}
	if isNull(dv) {
		delete(m, "dynamicVariables")
		return nil
	}
	if dv.Kind != yaml.MappingNode {
		return d.errorAt(key, dv, "must map variable names to values, got "+kindName(dv))
	}
	vars := make(map[string]any, len(dv.Content)/2)
	for i := 0; i+1 < len(dv.Content); i += 2 {
		k, v := dv.Content[i], dv.Content[i+1]
		switch {
		case isNull(v):
			vars[k.Value] = ""
		case v.Kind != yaml.ScalarNode:
			return d.errorAt(join(key, k.Value), v, "must be text or a number, got "+kindName(v)+"; dynamic variables are strings")
		default:
			vars[k.Value] = v.Value
		}
	}
	m["dynamicVariables"] = vars
	return nil
}

// value converts n to a JSON-friendly Go value.
func (d *decoder) value(key string, n *yaml.Node) (any, error) {
	if err := d.noAlias(key, n); err != nil {
		return nil, err
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			name, err := d.keyName(key, k)
			if err != nil {
				return nil, err
			}
			child := join(key, name)
			if _, dup := m[name]; dup {
				return nil, d.errorAt(child, k, "written twice")
			}
			if m[name], err = d.value(child, v); err != nil {
				return nil, err
			}
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, item := range n.Content {
			var err error
			if s[i], err = d.value(fmt.Sprintf("%s[%d]", key, i), item); err != nil {
				return nil, err
			}
		}
		return s, nil
	}
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool", "!!int":
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, d.errorAt(key, n, "cannot read "+n.Value+": "+err.Error())
		}
		return v, nil
	case "!!float":
		var v float64
		if err := n.Decode(&v); err != nil {
			return nil, d.errorAt(key, n, "cannot read "+n.Value+": "+err.Error())
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, d.errorAt(key, n, "must be a finite number, got "+n.Value+"; quote it to send it as text")
		}
		return v, nil
	}
	return n.Value, nil // strings, and timestamps and custom tags as written
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }
