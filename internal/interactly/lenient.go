package interactly

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
)

// flexString decodes a JSON string, number or boolean into its text, and
// null or anything else into "". The reference shows fields typed as
// strings arriving as booleans (analysis.successEvaluation) and ids that
// could plausibly arrive as numbers.
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		*s = ""
	case b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
	case bytes.Equal(b, []byte("true")), bytes.Equal(b, []byte("false")):
		*s = flexString(b)
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		*s = flexString(b)
	default: // null, objects and arrays carry no text.
		*s = ""
	}
	return nil
}

// flexFloat decodes a JSON number or numeric string; anything else is 0.
type flexFloat float64

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	v, err := strconv.ParseFloat(string(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	*f = flexFloat(v)
	return nil
}

// flexInt decodes a JSON number or numeric string, rounded to an integer;
// anything else is 0.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	var f flexFloat
	if err := f.UnmarshalJSON(b); err != nil {
		return err
	}
	*n = flexInt(math.Round(float64(f)))
	return nil
}

// flexBool decodes true, false, "true", "false", 1 and 0; anything else is
// false.
type flexBool bool

func (v *flexBool) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	t, err := strconv.ParseBool(string(s))
	*v = flexBool(err == nil && t)
	return nil
}

// rawObject keeps a raw JSON value, except that null and absent values
// become nil so that callers can test len(raw) == 0.
func rawObject(b json.RawMessage) json.RawMessage {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return nil
	}
	return append(json.RawMessage(nil), b...)
}

// flexMap decodes a JSON object; any other value (null, a string, an
// array) decodes as nil rather than failing the enclosing object.
type flexMap map[string]any

func (m *flexMap) UnmarshalJSON(b []byte) error {
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		*m = nil
		return nil
	}
	*m = v
	return nil
}
