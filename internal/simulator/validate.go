package simulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// problem is one entry of a FastAPI validation body:
// {"detail": [{"type", "loc", "msg", "input"}]}.
type problem struct {
	Type  string `json:"type"`
	Loc   []any  `json:"loc"`
	Msg   string `json:"msg"`
	Input any    `json:"input"`
}

func missing(loc ...any) problem {
	return problem{Type: "missing", Loc: loc, Msg: "Field required"}
}

// decodeProblem turns a JSON decoding error into the problem FastAPI
// would report for it.
func decodeProblem(err error) problem {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		loc := []any{"body"}
		for f := range strings.SplitSeq(typ.Field, ".") {
			if f != "" {
				loc = append(loc, f)
			}
		}
		t := typ.Type
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		p := problem{Type: "string_type", Loc: loc, Msg: "Input should be a valid string", Input: typ.Value}
		switch t.Kind() {
		case reflect.Map, reflect.Struct:
			p.Type, p.Msg = "dict_type", "Input should be a valid dictionary"
		case reflect.Slice:
			p.Type, p.Msg = "list_type", "Input should be a valid list"
		case reflect.Bool:
			p.Type, p.Msg = "bool_type", "Input should be a valid boolean"
		case reflect.Int, reflect.Int64, reflect.Float64:
			p.Type, p.Msg = "int_type", "Input should be a valid integer"
		}
		return p
	}
	var syn *json.SyntaxError
	offset := int64(0)
	if errors.As(err, &syn) {
		offset = syn.Offset
	}
	return problem{Type: "json_invalid", Loc: []any{"body", offset}, Msg: "JSON decode error", Input: map[string]any{}}
}

// connectRequest is a validated Connect Call body.
type connectRequest struct {
	Direction     string
	PhoneNumberID string
	Customer      struct{ Number, Name string }
	AssistantID   string
	Assistant     map[string]any
	Metadata      map[string]any
	vars          map[string]string // assistantOverrides.dynamicVariables
}

// parseConnect reads and validates a Connect Call body the way a FastAPI
// service with the documented fields would (api-reference/calls/connect).
func parseConnect(body []byte) (connectRequest, []problem) {
	var in struct {
		Direction     *string `json:"direction"`
		PhoneNumberID *string `json:"phoneNumberId"`
		Customer      *struct {
			Number *string `json:"number"`
			Name   *string `json:"name"`
		} `json:"customer"`
		AssistantID        *string        `json:"assistantId"`
		Assistant          map[string]any `json:"assistant"`
		AssistantOverrides map[string]any `json:"assistantOverrides"`
		Metadata           map[string]any `json:"metadata"`
	}
	var req connectRequest
	if len(bytes.TrimSpace(body)) == 0 {
		return req, []problem{missing("body")}
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return req, []problem{decodeProblem(err)}
	}
	var problems []problem
	req.Direction = "outbound"
	if in.Direction != nil {
		req.Direction = *in.Direction
		if req.Direction != "outbound" && req.Direction != "inbound" {
			problems = append(problems, problem{Type: "literal_error", Loc: []any{"body", "direction"},
				Msg: "Input should be 'outbound' or 'inbound'", Input: req.Direction})
		}
	}
	switch {
	case in.PhoneNumberID == nil:
		problems = append(problems, missing("body", "phoneNumberId"))
	case *in.PhoneNumberID == "":
		problems = append(problems, problem{Type: "string_too_short", Loc: []any{"body", "phoneNumberId"},
			Msg: "String should have at least 1 character", Input: ""})
	default:
		req.PhoneNumberID = *in.PhoneNumberID
	}
	switch {
	case in.Customer == nil:
		problems = append(problems, missing("body", "customer"))
	case in.Customer.Number == nil:
		problems = append(problems, missing("body", "customer", "number"))
	case !e164.MatchString(*in.Customer.Number):
		problems = append(problems, problem{Type: "value_error", Loc: []any{"body", "customer", "number"},
			Msg: "Value error, number must be in E.164 format, e.g. +14155550123", Input: *in.Customer.Number})
	default:
		req.Customer.Number = *in.Customer.Number
	}
	if in.Customer != nil && in.Customer.Name != nil {
		req.Customer.Name = *in.Customer.Name
	}
	if in.AssistantID != nil {
		req.AssistantID = *in.AssistantID
	}
	req.Assistant = in.Assistant
	req.Metadata = in.Metadata
	if raw, ok := in.AssistantOverrides["dynamicVariables"]; ok && raw != nil {
		vars, isMap := raw.(map[string]any)
		if !isMap {
			problems = append(problems, problem{Type: "dict_type", Loc: []any{"body", "assistantOverrides", "dynamicVariables"},
				Msg: "Input should be a valid dictionary", Input: raw})
		}
		req.vars = make(map[string]string, len(vars))
		for k, v := range vars {
			str, isString := v.(string)
			if !isString {
				problems = append(problems, problem{Type: "string_type", Loc: []any{"body", "assistantOverrides", "dynamicVariables", k},
					Msg: "Input should be a valid string", Input: v})
			}
			req.vars[k] = str
		}
	}
	return req, problems
}

// listQuery is a validated List Calls query.
type listQuery struct {
	start, end time.Time
	page, size int
	desc       bool
}

// parseList validates List Calls' query (api-reference/calls/list-calls):
// startDate and endDate required, page >= 1 (default 1), 1 <= size <= 100
// (default 10), sort a field name optionally prefixed with "-".
func parseList(q map[string][]string) (listQuery, []problem) {
	get := func(k string) (string, bool) {
		v, ok := q[k]
		if !ok || len(v) == 0 {
			return "", false
		}
		return v[0], true
	}
	lq := listQuery{page: 1, size: 10}
	var problems []problem
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"startDate", &lq.start}, {"endDate", &lq.end}} {
		v, ok := get(f.name)
		if !ok {
			problems = append(problems, missing("query", f.name))
			continue
		}
		t, err := parseDate(v)
		if err != nil {
			problems = append(problems, problem{Type: "datetime_from_date_parsing", Loc: []any{"query", f.name},
				Msg: "Input should be a valid datetime or date", Input: v})
			continue
		}
		*f.dst = t
	}
	for _, f := range []struct {
		name    string
		dst     *int
		lo, hi  int
		tooHigh string
	}{{"page", &lq.page, 1, 0, ""}, {"size", &lq.size, 1, 100, "Input should be less than or equal to 100"}} {
		v, ok := get(f.name)
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			problems = append(problems, problem{Type: "int_parsing", Loc: []any{"query", f.name},
				Msg: "Input should be a valid integer, unable to parse string as an integer", Input: v})
		case n < f.lo:
			problems = append(problems, problem{Type: "greater_than_equal", Loc: []any{"query", f.name},
				Msg: fmt.Sprintf("Input should be greater than or equal to %d", f.lo), Input: v})
		case f.hi > 0 && n > f.hi:
			problems = append(problems, problem{Type: "less_than_equal", Loc: []any{"query", f.name}, Msg: f.tooHigh, Input: v})
		default:
			*f.dst = n
		}
	}
	if v, ok := get("sort"); ok {
		lq.desc = strings.HasPrefix(v, "-")
	}
	return lq, problems
}

// parseDate reads an ISO-8601 date-time (with or without zone and
// fractional seconds; no zone means UTC) or a plain date.
func parseDate(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot parse %q as a date", s)
}
