package campaign

import (
	"regexp"
	"strconv"
)

// ReportOptions tune WriteReport and WriteAttemptReport. The zero value is the safe default.
type ReportOptions struct {
	// Raw writes every cell as stored. By default a cell a spreadsheet would run as a
	// formula is neutralised (see SafeCell).
	Raw bool
	// BOM starts the file with a UTF-8 byte-order mark (EF BB BF), so that Excel on Windows
	// reads it as UTF-8 and shows accented names correctly. Off by default.
	BOM bool
}

// utf8BOM is the UTF-8 encoding of U+FEFF, the byte-order mark.
const utf8BOM = "\xEF\xBB\xBF"

// bom is what a report starts with: utf8BOM when o.BOM, else nothing.
func (o ReportOptions) bom() string {
	if o.BOM {
		return utf8BOM
	}
	return ""
}

func (o ReportOptions) cell(s string) string {
	if o.Raw {
		return s
	}
	return SafeCell(s)
}

// numberCell matches cells of digits and number punctuation only: numbers and phone numbers
// however written. A formula made of these can do arithmetic at most, never call a function
// or reach another cell, file or host.
var numberCell = regexp.MustCompile(`^[+-]?[0-9][0-9 ().+/-]*$`)

// SafeCell returns s made safe to open in a spreadsheet: a cell starting with =, +, -, @, a
// tab or a carriage return, which Excel, LibreOffice and Google Sheets may run as a formula
// (CSV injection), gets a leading apostrophe, which they show as text. Numbers ("-12.5")
// and phone numbers ("+14155550101", "+1 415 555 0101") are left as they are.
func SafeCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
	default:
		return s
	}
	if numberCell.MatchString(s) {
		return s
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil { // 1e6, -Inf, 0x1p-2
		return s
	}
	return "'" + s
}
