package campaign

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"
)

// Parse decodes a campaign file. path only names the file in errors. It refuses, with a
// *FileError naming the line and key, YAML syntax errors, an empty file, unknown or repeated
// keys, values of the wrong type and unparsable durations. It neither fills in defaults nor
// checks ranges and required keys: call WithDefaults and Validate, or use ParseFile.
func Parse(path string, data []byte) (*File, error) { return parse(path, data, true) }

// parse is Parse; with hints, an unknown key that is known elsewhere in the file's layout
// gets a "did you mean" naming where it belongs (see decoder.elsewhere).
func parse(path string, data []byte, hints bool) (*File, error) {
	f := &File{src: source{path: path, at: make(map[string]spot), bare: make(map[string]bool)}}
	d := &decoder{path: path, at: f.src.at, bare: f.src.bare, hints: hints}
	root, err := d.document(data)
	if err != nil {
		return nil, err
	}
	err = d.mapping(root, "", d.fields(reflect.ValueOf(f).Elem()))
	if err != nil {
		return nil, err
	}
	f.DefaultRegion = strings.ToUpper(f.DefaultRegion)
	return f, nil
}

// source remembers where in the file Parse found each key, so that WithDefaults can tell
// "left out" from "written as zero" and Validate can point at a line.
type source struct {
	path string
	at   map[string]spot // by dotted key; list items as "retry.retryOn[1]"
	bare map[string]bool // list items written as a bare value, not as keys: "phoneNumberIds[0]"
}

type spot struct {
	keyLine, keyColumn     int
	valueLine, valueColumn int
}

// decoder walks a yaml.Node tree into a File. Walking nodes rather than calling
// yaml.Unmarshal is what lets every error name the key and its line.
type decoder struct {
	path string
	at   map[string]spot
	bare map[string]bool
	// hints: look for where an unknown key belongs (off while looking, so it does not recurse).
	hints bool
	// top lists the top-level keys, once the top-level mapping is being read.
	top []string
}

// setter stores the value v of key (a dotted path) or says why it cannot.
type setter func(key string, v *yaml.Node) error

// field is one known key of a mapping.
type field struct {
	name string
	set  setter
}

// document parses data and returns its top-level mapping.
func (d *decoder) document(data []byte) (*yaml.Node, error) {
	empty := &FileError{Path: d.path, Msg: "file is empty; start from campaigns/example.yaml"}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err == io.EOF {
		return nil, empty
	} else if err != nil {
		return nil, d.syntaxError(data, err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); err != io.EOF {
		if err != nil {
			return nil, d.syntaxError(data, err)
		}
		return nil, &FileError{Path: d.path, Line: next.Line, Msg: "file holds more than one YAML document; keep one and remove the --- line"}
	}
	root := doc.Content[0]
	switch {
	case root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null":
		return nil, empty
	case root.Kind != yaml.MappingNode:
		return nil, &FileError{Path: d.path, Line: root.Line, Column: root.Column,
			Msg: "must be a set of keys such as name: and assistantId:, got " + kindName(root)}
	}
	return root, nil
}

// syntaxError turns the *yaml.LoadError of a file YAML cannot read into a FileError at the
// error's line and column. An error with no position (bytes that are not UTF-8) names none.
func (d *decoder) syntaxError(data []byte, err error) *FileError {
	var le *yaml.LoadError
	if !errors.As(err, &le) {
		return &FileError{Path: d.path, Msg: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	line, column := le.Mark.Line, le.Mark.Column
	if line == 0 {
		return &FileError{Path: d.path, Msg: "not valid YAML: " + le.Message}
	}
	lines := bytes.Split(data, []byte("\n"))
	if line <= len(lines) {
		text := lines[line-1]
		indent := text[:len(text)-len(bytes.TrimLeft(text, " \t"))]
		if bytes.IndexByte(indent, '\t') >= 0 {
			return &FileError{Path: d.path, Line: line, Column: column, Msg: "indented with a tab; YAML indentation must use spaces"}
		}
	}
	return &FileError{Path: d.path, Line: line, Column: column, Msg: "not valid YAML: " + le.Message + "; check the indentation, and quote values that hold \": \" or start with a special character"}
}

func (d *decoder) errorAt(key string, n *yaml.Node, msg string) *FileError {
	return &FileError{Path: d.path, Line: n.Line, Column: n.Column, Key: key, Msg: msg}
}

// mapping sets each key of n through its field. key is n's own dotted path, "" at the top.
// A null node (a key written with nothing after it) counts as an empty mapping.
func (d *decoder) mapping(n *yaml.Node, key string, fields []field) error {
	if err := d.noAlias(key, n); err != nil {
		return err
	}
	names := make([]string, len(fields))
	for i, fl := range fields {
		names[i] = fl.name
	}
	if key == "" {
		d.top = names
	}
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return d.errorAt(key, n, fmt.Sprintf("must be a set of keys (%s), got %s", strings.Join(names, ", "), kindName(n)))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name, err := d.keyName(key, k)
		if err != nil {
			return err
		}
		child := join(key, name)
		j := slices.Index(names, name)
		if j < 0 {
			// A key known exactly elsewhere (indented wrongly) beats a near miss here.
			msg, near, at := "unknown key", suggest(name, names), ""
			if !strings.EqualFold(near, name) {
				at = d.elsewhere(name, key)
			}
			switch {
			case at != "":
				msg += " here (did you mean " + at + ")"
			case near != "":
				msg += " (did you mean " + near + "?)"
			}
			return d.errorAt(child, k, msg+"; known keys: "+strings.Join(names, ", "))
		}
		if s, dup := d.at[child]; dup {
			return d.errorAt(child, k, fmt.Sprintf("written twice; first on line %d", s.keyLine))
		}
		d.at[child] = spot{k.Line, k.Column, v.Line, v.Column}
		if err := d.noAlias(child, v); err != nil {
			return err
		}
		if err := fields[j].set(child, v); err != nil {
			return err
		}
	}
	return nil
}

// elsewhere says where a key called name is known, other than in the mapping at key, so that
// a key indented wrongly can be moved: "contacts.numberColumn? move it under contacts:", or
// "startAt at the top level? move it out of retry:". It returns "" when name is known
// nowhere else. It finds the sections' keys by parsing a one-key probe under each
// top-level key, so it always agrees with the decoder.
func (d *decoder) elsewhere(name, key string) string {
	if !d.hints {
		return ""
	}
	if key != "" && slices.Contains(d.top, name) {
		return name + " at the top level? move it out of " + key + ":"
	}
	for _, section := range d.top {
		if section == key {
			continue
		}
		probe := strconv.Quote(section) + ":\n  " + strconv.Quote(name) + ": {probe: 1}\n"
		_, err := parse("probe", []byte(probe), false)
		var fe *FileError
		if errors.As(err, &fe) && fe.Key == section+"."+name && !strings.HasPrefix(fe.Msg, "unknown key") {
			return section + "." + name + "? move it under " + section + ":"
		}
	}
	return ""
}

// fields returns the known keys of the struct v (addressable), one per exported field in
// field order, each named by the field's json tag and set through the setter for its Go
// type (setterFor).
func (d *decoder) fields(v reflect.Value) []field {
	t := v.Type()
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			panic("campaign: field " + t.Name() + "." + sf.Name + " has no json tag naming its key")
		}
		out = append(out, field{name, d.setterFor(v.Field(i), sf)})
	}
	return out
}

// setterFor returns the setter of struct field fv (addressable), described by sf, by its Go
// type: a struct is a section of keys, a pointer to a struct an optional section that is
// allocated when written, and *Duration is retention's days-or-duration. It panics on a type
// it has no setter for: every Parse meets it, so no test passes with one.
func (d *decoder) setterFor(fv reflect.Value, sf reflect.StructField) setter {
	switch p := fv.Addr().Interface().(type) {
	case *string:
		return d.str(p)
	case *int:
		return d.integer(p)
	case *float64:
		return d.float(p)
	case *Duration:
		return d.duration(p)
	case **Duration:
		return d.retention(p)
	case **time.Time:
		return d.timestamp(p)
	case *[]string:
		return d.strs(p, sf.Tag.Get("example"))
	case *[]Outcome:
		return d.outcomes(p)
	case *[]CallerID:
		return d.callerIDs(p)
	case *map[string]any:
		return d.freeform(p)
	}
	switch t := sf.Type; {
	case t.Kind() == reflect.Struct:
		return func(key string, v *yaml.Node) error { return d.mapping(v, key, d.fields(fv)) }
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct:
		return func(key string, v *yaml.Node) error {
			fv.Set(reflect.New(t.Elem()))
			return d.mapping(v, key, d.fields(fv.Elem()))
		}
	}
	panic("campaign: no decoder for field " + sf.Name + " of type " + sf.Type.String())
}

// keyName returns the text of mapping key k of the mapping at key.
func (d *decoder) keyName(key string, k *yaml.Node) (string, error) {
	switch {
	case k.Kind == yaml.AliasNode:
		return "", d.errorAt(key, k, "aliases (*name) are not supported as keys; write the key out")
	case k.ShortTag() == "!!merge":
		return "", d.errorAt(join(key, "<<"), k, "merge keys (<<) are not supported; write the keys out")
	case k.Kind != yaml.ScalarNode:
		return "", d.errorAt(key, k, "keys must be plain words, got "+kindName(k))
	}
	return k.Value, nil
}

// noAlias refuses aliases: following them by hand could expand a small file exponentially,
// and a campaign file has no need for them.
func (d *decoder) noAlias(key string, n *yaml.Node) error {
	if n.Kind == yaml.AliasNode {
		return d.errorAt(key, n, "aliases (*"+n.Value+") are not supported; write the value out")
	}
	return nil
}

func join(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// kindName describes n for "got ..." in messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a set of keys"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if isNull(n) {
		return "nothing"
	}
	s := n.Value
	if r := []rune(s); len(r) > 40 {
		s = string(r[:37]) + "..."
	}
	switch n.ShortTag() {
	case "!!bool", "!!int", "!!float":
		return s
	}
	return strconv.Quote(s)
}

// suggest returns the name in names that key was most likely meant to be, or "".
func suggest(key string, names []string) string {
	best, bestDist := "", 3
	for _, name := range names {
		if strings.EqualFold(key, name) {
			return name
		}
		if dist := editDistance(strings.ToLower(key), strings.ToLower(name)); dist < bestDist {
			best, bestDist = name, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
