package campaign

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSyntaxErrorPosition checks that a file YAML cannot read is refused at the position
// yaml's typed error gives, and without one when the error has none.
func TestSyntaxErrorPosition(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		want *FileError
	}{
		{"unclosed quote", "name: flu\nassistantId: 'a\n",
			&FileError{Path: "c.yaml", Line: 3, Column: 1, Msg: `not valid YAML: found unexpected end of stream; check the indentation, and quote values that hold ": " or start with a special character`}},
		{"not UTF-8", "name: \xff\n",
			&FileError{Path: "c.yaml", Msg: "not valid YAML: invalid leading UTF-8 octet (value: 255)"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tt.in))
			if diff := cmp.Diff(tt.want, err); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}
