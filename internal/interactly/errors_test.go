package interactly

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/testutil"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"message", `{"message":"Invalid API key"}`, "Invalid API key"},
		{
			"fastapi validation detail",
			`{"detail":[{"loc":["body","customer","number"],"msg":"value is not a valid E.164 number","type":"value_error"},
			{"loc":["body","phoneNumberId"],"msg":"Field required","type":"missing"}]}`,
			"body.customer.number: value is not a valid E.164 number; body.phoneNumberId: Field required",
		},
		{"fastapi detail with numeric loc", `{"detail":[{"loc":["body",3],"msg":"JSON decode error","type":"json_invalid"}]}`, "body.3: JSON decode error"},
		{"fastapi detail string", `{"detail":"Not Found"}`, "Not Found"},
		{"error string", `{"error":"rate limited"}`, "rate limited"},
		{"error object", `{"error":{"message":"upstream down","code":503}}`, "upstream down"},
		{"message wins over detail", `{"message":"m","detail":"d"}`, "m"},
		{"html gateway page", `<html><body><h1>504 Gateway Time-out</h1></body></html>`, ""},
		{"empty", ``, ""},
		{"json without explanation", `{"ok":false}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, errorMessage([]byte(tt.body))); diff != "" {
				t.Errorf("errorMessage (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   string
		want time.Duration
	}{
		{"absent", "", 0},
		{"seconds", "3", 3 * time.Second},
		{"fractional seconds", "1.5", 1500 * time.Millisecond},
		{"http date", now.Add(7 * time.Second).Format(http.TimeFormat), 7 * time.Second},
		{"date in the past", now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"negative", "-4", 0},
		{"garbage", "soon", 0},
		{"not a number", "NaN", 0},
		{"too long", "1e300", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retryAfter(tt.in, now); got != tt.want {
				t.Errorf("retryAfter(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestAPIErrorText(t *testing.T) {
	tests := []struct {
		name string
		err  *APIError
		want string
	}{
		{"status and message", &APIError{Op: "connect call", Status: 422, Message: "body.customer.number: bad"}, "interactly: connect call: 422 Unprocessable Entity: body.customer.number: bad"},
		{"status and raw body", &APIError{Op: "get call", Status: 502, Body: "<html>\n<h1>Bad Gateway</h1>\n</html>"}, "interactly: get call: 502 Bad Gateway: <html> <h1>Bad Gateway</h1> </html>"},
		{"retry after", &APIError{Op: "get call", Status: 429, RetryAfter: 2 * time.Second}, "interactly: get call: 429 Too Many Requests (retry after 2s)"},
		{"transport", &APIError{Op: "list calls", Err: errors.New("dial tcp: connection refused")}, "interactly: list calls: dial tcp: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.err.Error()); diff != "" {
				t.Errorf("Error() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIsRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", errors.New("x"), false},
		{"retryable", &APIError{Retryable: true}, true},
		{"wrapped retryable", fmt.Errorf("dial: %w", &APIError{Retryable: true}), true},
		{"permanent", &APIError{Status: 401}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsRetryable(tt.err); got != tt.want {
				t.Errorf("IsRetryable = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestKeyNeverInErrors provokes every kind of failure, including servers
// that echo the Authorization header back, and checks that the API key
// appears nowhere in the error.
func TestKeyNeverInErrors(t *testing.T) {
	echo := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"message":"bad token %s"}`, r.Header.Get("Authorization"))
		}
	}
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + closed.Addr().String()
	closed.Close()

	tests := []struct {
		name    string
		handler http.Handler
		baseURL string // overrides the test server
		ctx     func() context.Context
	}{
		{name: "401 echoing the header", handler: echo(http.StatusUnauthorized)},
		{name: "500 echoing the header", handler: echo(http.StatusInternalServerError)},
		{name: "200 with an unreadable body", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"id": %s`, r.Header.Get("Authorization"))
		})},
		{name: "connection refused", handler: http.NotFoundHandler(), baseURL: closedURL},
		{name: "canceled context", handler: http.NotFoundHandler(), ctx: func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := setup(t, tt.handler, Config{RetryBudget: time.Second})
			if tt.baseURL != "" {
				c.base = tt.baseURL
			}
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx()
			}
			_, err := c.GetCall(ctx, "CC-1")
			if err == nil {
				t.Fatal("GetCall succeeded")
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %T is not an *APIError", err)
			}
			for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), apiErr.Message, apiErr.Body} {
				if strings.Contains(s, testKey) {
					t.Errorf("API key leaked: %s", s)
				}
			}
		})
	}
}

func TestConfigHidesKey(t *testing.T) {
	cfg := Config{APIKey: testKey, BaseURL: "https://api-qa.interactly.ai"}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	slogJSON(&logged, cfg)
	for _, s := range []string{
		cfg.String(), fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg),
		fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), logged.String(),
	} {
		if strings.Contains(s, testKey) {
			t.Errorf("API key leaked: %s", s)
		}
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // a substring; "" for success
	}{
		{"defaults", Config{APIKey: "k"}, ""},
		{"trailing slash", Config{APIKey: "k", BaseURL: "https://api-qa.interactly.ai/"}, ""},
		{"missing key", Config{}, "Config.APIKey is required"},
		{"blank key", Config{APIKey: "  \n"}, "Config.APIKey is required"},
		{"key with newline", Config{APIKey: "abc\ndef"}, "Config.APIKey contains whitespace"},
		{"unparsable base", Config{APIKey: "k", BaseURL: "http://[::1"}, "Config.BaseURL"},
		{"relative base", Config{APIKey: "k", BaseURL: "api.interactly.ai"}, "Config.BaseURL"},
		{"ftp base", Config{APIKey: "k", BaseURL: "ftp://api.interactly.ai"}, "Config.BaseURL"},
		{"negative delay", Config{APIKey: "k", BaseDelay: -time.Second}, "Config.BaseDelay"},
		{"max below base", Config{APIKey: "k", BaseDelay: time.Second, MaxDelay: time.Millisecond}, "Config.MaxDelay"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); !testutil.ErrMatches(err, tt.wantErr) {
				t.Fatalf("New error = %v, want one containing %q (none for \"\")", err, tt.wantErr)
			}
		})
	}
}

func TestAPIErrorFields(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		header  map[string]string
		body    string
		want    APIError
		wantErr error
	}{
		{
			name: "422 fastapi", status: 422,
			body: `{"detail":[{"loc":["body","customer","number"],"msg":"Field required","type":"missing"}]}`,
			want: APIError{Op: "get call", Status: 422, Message: "body.customer.number: Field required",
				Body: `{"detail":[{"loc":["body","customer","number"],"msg":"Field required","type":"missing"}]}`},
		},
		{
			name: "404 message", status: 404, body: `{"message":"Conversation not found"}`,
			want: APIError{Op: "get call", Status: 404, Message: "Conversation not found", Body: `{"message":"Conversation not found"}`},
		},
		{
			name: "long html body truncated", status: 403, body: strings.Repeat("x", 5000),
			want: APIError{Op: "get call", Status: 403, Body: strings.Repeat("x", 4096)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}), Config{})
			_, err := c.GetCall(context.Background(), "CC-1")
			var got *APIError
			if !errors.As(err, &got) {
				t.Fatalf("error %v is not an *APIError", err)
			}
			if diff := cmp.Diff(tt.want, *got, cmpopts.IgnoreUnexported(APIError{})); diff != "" {
				t.Errorf("APIError (-want +got):\n%s", diff)
			}
		})
	}
}
