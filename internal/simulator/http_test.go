package simulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAuth(t *testing.T) {
	tests := []struct {
		name   string
		header string
		want   int
	}{
		{"no header", "", http.StatusUnauthorized},
		{"wrong key", "Bearer nope", http.StatusUnauthorized},
		{"basic scheme", "Basic " + testKey, http.StatusUnauthorized},
		{"key without scheme", testKey, http.StatusUnauthorized},
		{"key prefix", "Bearer " + testKey[:5], http.StatusUnauthorized},
		{"right key", "Bearer " + testKey, http.StatusNotFound},
		{"lower-case scheme", "bearer " + testKey, http.StatusNotFound},
	}
	s, _ := mustServer(t, Config{})
	unauthorized := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := serve(t, s, http.MethodGet, "/calls/v1/conversations/CC-none", nil, tt.header)
			if resp.status != tt.want {
				t.Fatalf("status %d %s, want %d", resp.status, resp.raw, tt.want)
			}
			if tt.want == http.StatusUnauthorized {
				unauthorized++
				if diff := cmp.Diff(map[string]any{"message": "Invalid or missing API key"}, resp.body); diff != "" {
					t.Errorf("401 body (-want +got):\n%s", diff)
				}
			}
		})
	}
	if got := s.Stats(); got.Unauthorized != unauthorized || got.Requests["get"] != len(tests) {
		t.Errorf("Unauthorized %d requests %v, want %d and %d gets", got.Unauthorized, got.Requests, unauthorized, len(tests))
	}
}

func TestErrorShapes(t *testing.T) {
	s, _ := mustServer(t, Config{})
	valid := func(edit func(map[string]any)) map[string]any {
		b := connectBody("+14155550123", "Jane", nil, nil)
		edit(b)
		return b
	}
	tests := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		want   any
	}{
		{
			name: "missing phoneNumberId", method: "POST", path: "/calls/v1/conversations/connect",
			body:   valid(func(b map[string]any) { delete(b, "phoneNumberId") }),
			status: 422,
			want:   detail(map[string]any{"type": "missing", "loc": []any{"body", "phoneNumberId"}, "msg": "Field required", "input": nil}),
		},
		{
			name: "missing customer", method: "POST", path: "/calls/v1/conversations/connect",
			body:   valid(func(b map[string]any) { delete(b, "customer") }),
			status: 422,
			want:   detail(map[string]any{"type": "missing", "loc": []any{"body", "customer"}, "msg": "Field required", "input": nil}),
		},
		{
			name: "missing customer.number and phoneNumberId together", method: "POST", path: "/calls/v1/conversations/connect",
			body:   valid(func(b map[string]any) { b["customer"] = map[string]any{"name": "Jane"}; b["phoneNumberId"] = "" }),
			status: 422,
			want: detail(
				map[string]any{"type": "string_too_short", "loc": []any{"body", "phoneNumberId"}, "msg": "String should have at least 1 character", "input": ""},
				map[string]any{"type": "missing", "loc": []any{"body", "customer", "number"}, "msg": "Field required", "input": nil},
			),
		},
		{
			name: "number not E.164", method: "POST", path: "/calls/v1/conversations/connect",
			body:   connectBody("(415) 555-0123", "Jane", nil, nil),
			status: 422,
			want: detail(map[string]any{"type": "value_error", "loc": []any{"body", "customer", "number"},
				"msg": "Value error, number must be in E.164 format, e.g. +14155550123", "input": "(415) 555-0123"}),
		},
		{
			name: "number with leading zero", method: "POST", path: "/calls/v1/conversations/connect",
			body:   connectBody("+0415555", "Jane", nil, nil),
			status: 422,
			want: detail(map[string]any{"type": "value_error", "loc": []any{"body", "customer", "number"},
				"msg": "Value error, number must be in E.164 format, e.g. +14155550123", "input": "+0415555"}),
		},
		{
			name: "number as a JSON number", method: "POST", path: "/calls/v1/conversations/connect",
			body:   valid(func(b map[string]any) { b["customer"] = map[string]any{"number": 14155550123} }),
			status: 422,
			want: detail(map[string]any{"type": "string_type", "loc": []any{"body", "customer", "number"},
				"msg": "Input should be a valid string", "input": "number"}),
		},
		{
			name: "bad direction", method: "POST", path: "/calls/v1/conversations/connect",
			body:   valid(func(b map[string]any) { b["direction"] = "sideways" }),
			status: 422,
			want: detail(map[string]any{"type": "literal_error", "loc": []any{"body", "direction"},
				"msg": "Input should be 'outbound' or 'inbound'", "input": "sideways"}),
		},
		{
			name: "dynamic variable not a string", method: "POST", path: "/calls/v1/conversations/connect",
			body: valid(func(b map[string]any) {
				b["assistantOverrides"] = map[string]any{"dynamicVariables": map[string]any{"visits": 3}}
			}),
			status: 422,
			want: detail(map[string]any{"type": "string_type", "loc": []any{"body", "assistantOverrides", "dynamicVariables", "visits"},
				"msg": "Input should be a valid string", "input": float64(3)}),
		},
		{
			name: "invalid JSON", method: "POST", path: "/calls/v1/conversations/connect", body: `{"phoneNumberId": `,
			status: 422,
			want:   detail(map[string]any{"type": "json_invalid", "loc": []any{"body", float64(18)}, "msg": "JSON decode error", "input": map[string]any{}}),
		},
		{
			name: "empty body", method: "POST", path: "/calls/v1/conversations/connect", body: "",
			status: 422,
			want:   detail(map[string]any{"type": "missing", "loc": []any{"body"}, "msg": "Field required", "input": nil}),
		},
		{
			name: "unknown call", method: "GET", path: "/calls/v1/conversations/CC-00000000-0000-4000-8000-000000000000",
			status: 404, want: map[string]any{"message": "Conversation not found"},
		},
		{
			name: "control of an unknown call", method: "POST", path: "/calls/v1/conversations/CC-x/control", body: map[string]any{"type": "end"},
			status: 404, want: map[string]any{"message": "Conversation not found"},
		},
		{
			name: "unknown path", method: "GET", path: "/calls/v2/whatever",
			status: 404, want: map[string]any{"detail": "Not Found"},
		},
		{
			name: "wrong method", method: "DELETE", path: "/calls/v1/conversations/CC-x",
			status: 405, want: map[string]any{"detail": "Method Not Allowed"},
		},
		{
			name: "list without dates", method: "GET", path: "/calls/v1/conversations?page=0&size=101",
			status: 422,
			want: detail(
				map[string]any{"type": "missing", "loc": []any{"query", "startDate"}, "msg": "Field required", "input": nil},
				map[string]any{"type": "missing", "loc": []any{"query", "endDate"}, "msg": "Field required", "input": nil},
				map[string]any{"type": "greater_than_equal", "loc": []any{"query", "page"}, "msg": "Input should be greater than or equal to 1", "input": "0"},
				map[string]any{"type": "less_than_equal", "loc": []any{"query", "size"}, "msg": "Input should be less than or equal to 100", "input": "101"},
			),
		},
		{
			name: "list with a bad date", method: "GET", path: "/calls/v1/conversations?startDate=yesterday&endDate=2025-03-15",
			status: 422,
			want: detail(map[string]any{"type": "datetime_from_date_parsing", "loc": []any{"query", "startDate"},
				"msg": "Input should be a valid datetime or date", "input": "yesterday"}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := serve(t, s, tt.method, tt.path, tt.body)
			if resp.status != tt.status {
				t.Fatalf("status %d %s, want %d", resp.status, resp.raw, tt.status)
			}
			if diff := cmp.Diff(tt.want, resp.body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
	if n := s.Stats().Dials; n != 0 {
		t.Errorf("%d dials from invalid requests", n)
	}
}

func detail(problems ...map[string]any) map[string]any {
	d := make([]any, len(problems))
	for i, p := range problems {
		d[i] = p
	}
	return map[string]any{"detail": d}
}

func TestList(t *testing.T) {
	s, clock := mustServer(t, Config{})
	var ids []string
	for i := range 25 {
		clock.Set(epoch.Add(time.Duration(i) * time.Minute))
		ids = append(ids, mustConnect(t, s, connectBody(fmt.Sprintf("+1415555%04d", i), "", nil, map[string]any{"n": float64(i)})))
	}
	clock.Advance(time.Hour)
	tests := []struct {
		name      string
		query     url.Values
		wantTotal int
		wantIDs   []string
	}{
		{"first page of the window", url.Values{"startDate": {isoTime(epoch.Add(5 * time.Minute))}, "endDate": {isoTime(epoch.Add(20 * time.Minute))}, "size": {"5"}}, 16, ids[5:10]},
		{"last partial page", url.Values{"startDate": {isoTime(epoch.Add(5 * time.Minute))}, "endDate": {isoTime(epoch.Add(20 * time.Minute))}, "size": {"5"}, "page": {"4"}}, 16, ids[20:21]},
		{"past the end", url.Values{"startDate": {isoTime(epoch)}, "endDate": {isoTime(epoch.Add(time.Hour))}, "page": {"9"}}, 25, nil},
		{"default size 10, descending", url.Values{"startDate": {"2025-03-14"}, "endDate": {"2025-03-15"}, "sort": {"-startAt"}}, 25, reversed(ids[15:25])},
		{"offset dates", url.Values{"startDate": {"2025-03-14T10:00:00+01:00"}, "endDate": {"2025-03-14T09:01:00.000Z"}, "sort": {"startAt"}}, 2, ids[0:2]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := serve(t, s, http.MethodGet, "/calls/v1/conversations?"+tt.query.Encode(), nil)
			if resp.status != 200 {
				t.Fatalf("status %d %s", resp.status, resp.raw)
			}
			var got []string
			for _, c := range field(resp.body, "conversations").([]any) {
				got = append(got, field(c, "id").(string))
			}
			if total := field(resp.body, "totalCount"); total != float64(tt.wantTotal) {
				t.Errorf("totalCount %v, want %d", total, tt.wantTotal)
			}
			if diff := cmp.Diff(tt.wantIDs, got); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

func TestDebugEndpoints(t *testing.T) {
	s, _ := mustServer(t, Config{})
	id := mustConnect(t, s, connectBody("+14155550123", "Jane", map[string]string{"day": "Friday"}, map[string]any{"idempotencyKey": "c1:1:1"}))
	resp := serve(t, s, http.MethodGet, "/_simulator/stats", nil, "")
	if resp.status != 200 {
		t.Fatalf("stats: %d %s", resp.status, resp.raw)
	}
	var stats Stats
	if err := json.Unmarshal([]byte(resp.raw), &stats); err != nil {
		t.Fatal(err)
	}
	want := Stats{
		Dials: 1, DialsByNumber: map[string]int{"+14155550123": 1}, DialsByKey: map[string]int{"c1:1:1": 1},
		PeakLiveCalls: 1, MaxDialsInOneSecond: 1, Requests: map[string]int{"connect": 1}, Faults: map[string]int{},
		Controls: map[string]int{},
		Webhooks: WebhookStats{Sent: map[string]int{}, Lost: map[string]int{}, Failed: map[string]int{}},
	}
	if diff := cmp.Diff(want, stats); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	resp = serve(t, s, http.MethodGet, "/_simulator/dials", nil, "")
	var dials []Dial
	if err := json.Unmarshal([]byte(resp.raw), &dials); err != nil {
		t.Fatalf("dials %s: %v", resp.raw, err)
	}
	if diff := cmp.Diff(s.Dials(), dials); diff != "" {
		t.Errorf("dials over HTTP (-direct +http):\n%s", diff)
	}
	if len(dials) != 1 || dials[0].CallID != id || dials[0].DynamicVariables["day"] != "Friday" || dials[0].Outcome != "completed" {
		t.Errorf("dials %+v", dials)
	}
	if resp := serve(t, s, http.MethodPost, "/_simulator/stats", nil, ""); resp.status != 405 {
		t.Errorf("POST stats: %d", resp.status)
	}
}

// TestAccounts checks that each account's key places calls for that account, and that an
// account sees its own calls only, as on Interactly.
func TestAccounts(t *testing.T) {
	const eastKey = "east-key-5e2a"
	s, _ := mustServer(t, Config{Accounts: map[string]string{"east": eastKey}})
	east := "Bearer " + eastKey
	resp := serve(t, s, http.MethodPost, "/calls/v1/conversations/connect", connectBody("+14155550100", "", nil, nil), east)
	if resp.status != http.StatusCreated {
		t.Fatalf("connect with east's key: %d %s", resp.status, resp.raw)
	}
	eastCall := field(resp.body, "id").(string)
	defaultCall := mustConnect(t, s, connectBody("+14155550101", "", nil, nil))

	for _, tt := range []struct {
		name, auth, id string
		want           int
	}{
		{"east reads its call", east, eastCall, http.StatusOK},
		{"default reads its call", "Bearer " + testKey, defaultCall, http.StatusOK},
		{"default cannot read east's call", "Bearer " + testKey, eastCall, http.StatusNotFound},
		{"east cannot read default's call", east, defaultCall, http.StatusNotFound},
	} {
		if resp := serve(t, s, http.MethodGet, "/calls/v1/conversations/"+tt.id, nil, tt.auth); resp.status != tt.want {
			t.Errorf("%s: status %d %s, want %d", tt.name, resp.status, resp.raw, tt.want)
		}
	}
	q := url.Values{"startDate": {isoTime(epoch.Add(-time.Hour))}, "endDate": {isoTime(epoch.Add(time.Hour))}}
	resp = serve(t, s, http.MethodGet, "/calls/v1/conversations?"+q.Encode(), nil, east)
	if total := field(resp.body, "totalCount"); total != float64(1) {
		t.Errorf("east lists %v calls, want its 1 (%s)", total, resp.raw)
	}
	var got []string
	for _, d := range s.Dials() {
		got = append(got, d.Account)
	}
	if diff := cmp.Diff([]string{"east", DefaultAccount}, got); diff != "" {
		t.Errorf("Dial.Account (-want +got):\n%s", diff)
	}
	if _, err := New(Config{APIKey: testKey, Accounts: map[string]string{"east": testKey}}); err == nil {
		t.Error("New accepted an account whose key is APIKey's")
	}
}
