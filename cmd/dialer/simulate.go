package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/dialerhq/dialer/internal/simulator"
)

// envWebhookSecret names the environment variable holding the secret the simulator sends
// with its webhooks: an environment variable, never a flag, since flags show in ps.
const envWebhookSecret = "INTERACTLY_WEBHOOK_SECRET"

// simFlags are the simulator's knobs, shared by `dialer simulate` and `dialer run --simulate`
// (whose flags carry the prefix "sim-").
type simFlags struct {
	prefix                                string
	mix                                   string
	ring, talk                            string
	rateLimited, serverErrors, lost, slow float64
	getCallErrors                         float64
	webhookURL                            string
	webhookLoss                           float64
	controlTypo                           bool
	seed                                  int64
	// getenv reads INTERACTLY_WEBHOOK_SECRET; nil means os.Getenv.
	getenv func(string) string
}

func (sf *simFlags) register(fs interface {
	StringVar(*string, string, string, string)
	Float64Var(*float64, string, float64, string)
	Int64Var(*int64, string, int64, string)
	BoolVar(*bool, string, bool, string)
}, prefix string) {
	sf.prefix = prefix
	fs.StringVar(&sf.mix, prefix+"mix", "completed=70,busy=12,no-answer=13,failed=5", "simulated outcomes by weight")
	fs.StringVar(&sf.ring, prefix+"ring", "1s-3s", "simulated ring time, MIN-MAX")
	fs.StringVar(&sf.talk, prefix+"talk", "2s-5s", "simulated conversation length, MIN-MAX")
	fs.Float64Var(&sf.rateLimited, prefix+"rate-limited", 0, "share of requests the simulator answers 429 (0..1)")
	fs.Float64Var(&sf.serverErrors, prefix+"server-errors", 0, "share of requests the simulator answers 5xx (0..1)")
	fs.Float64Var(&sf.lost, prefix+"lost-responses", 0, "share of Connect Calls that place the call but answer 504 (0..1)")
	fs.Float64Var(&sf.slow, prefix+"slow", 0, "share of requests answered after 3s (0..1)")
	fs.Float64Var(&sf.getCallErrors, prefix+"get-call-errors", 0, "share of Get Call requests the simulator answers 503 (0..1); 1 leaves only webhooks")
	fs.StringVar(&sf.webhookURL, prefix+"webhook-url", "", "post Interactly webhooks (server messages) about every call to this URL; the secret comes from "+envWebhookSecret)
	fs.Float64Var(&sf.webhookLoss, prefix+"webhook-loss", 0, "share of webhooks the simulator drops (0..1)")
	fs.BoolVar(&sf.controlTypo, prefix+"control-typo", false, `publish monitor.controlUrl misspelt ".../convesations/{id}/control", as one API sample does`)
	fs.Int64Var(&sf.seed, prefix+"seed", 1, "seed for the simulator's choices")
}

// config builds the simulator's configuration for apiKey from the flags, with the webhook
// secret from INTERACTLY_WEBHOOK_SECRET. A flag out of range is a usage error naming it.
func (sf *simFlags) config(apiKey string) (simulator.Config, error) {
	for _, f := range []struct {
		name  string
		share float64
	}{
		{"rate-limited", sf.rateLimited}, {"server-errors", sf.serverErrors}, {"lost-responses", sf.lost},
		{"slow", sf.slow}, {"get-call-errors", sf.getCallErrors}, {"webhook-loss", sf.webhookLoss},
	} {
		if !(f.share >= 0 && f.share <= 1) {
			return simulator.Config{}, fmt.Errorf("%w: --%s%s %v: want a share between 0 and 1", errUsage, sf.prefix, f.name, f.share)
		}
	}
	if sf.webhookURL != "" {
		u, err := url.Parse(sf.webhookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			shown := sf.webhookURL
			if err == nil {
				shown = u.Redacted()
			}
			return simulator.Config{}, fmt.Errorf("%w: --%swebhook-url %q: want an absolute http or https URL, such as http://127.0.0.1:8080/webhooks", errUsage, sf.prefix, shown)
		}
	}
	getenv := sf.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	mix, err := simulator.ParseMix(sf.mix)
	if err != nil {
		return simulator.Config{}, fmt.Errorf("%w: mix: %v", errUsage, err)
	}
	ringMin, ringMax, err := parseRange(sf.ring)
	if err != nil {
		return simulator.Config{}, fmt.Errorf("%w: ring: %v", errUsage, err)
	}
	talkMin, talkMax, err := parseRange(sf.talk)
	if err != nil {
		return simulator.Config{}, fmt.Errorf("%w: talk: %v", errUsage, err)
	}
	return simulator.Config{
		APIKey: apiKey, Mix: mix, Seed: sf.seed,
		RingMin: ringMin, RingMax: ringMax, TalkMin: talkMin, TalkMax: talkMax,
		Faults: simulator.Faults{
			RateLimited: sf.rateLimited, ServerError: sf.serverErrors,
			LostResponse: sf.lost, Slow: sf.slow, GetCallError: sf.getCallErrors,
		},
		Webhooks: simulator.WebhookConfig{
			URL: sf.webhookURL, Secret: getenv(envWebhookSecret), Loss: sf.webhookLoss,
		},
		ControlTypo: sf.controlTypo,
	}, nil
}

// parseRange parses "1s-3s" (or one duration) into a min and max.
func parseRange(s string) (time.Duration, time.Duration, error) {
	lo, hi, found := strings.Cut(s, "-")
	if !found {
		hi = lo
	}
	a, err := time.ParseDuration(lo)
	if err != nil {
		return 0, 0, fmt.Errorf("%q: want MIN-MAX durations such as 1s-3s", s)
	}
	b, err := time.ParseDuration(hi)
	if err != nil || b < a {
		return 0, 0, fmt.Errorf("%q: want MIN-MAX durations such as 1s-3s", s)
	}
	return a, b, nil
}

// startSimulator serves a simulator on addr until ctx is done, then stops its webhooks; it
// returns its base URL.
func startSimulator(ctx context.Context, addr string, cfg simulator.Config) (*simulator.Server, string, error) {
	sim, err := simulator.New(cfg)
	if err != nil {
		return nil, "", err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("simulator: %w", err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
		_ = sim.Close()
	}()
	return sim, "http://" + ln.Addr().String(), nil
}

// randomKey returns a fresh API key for an in-process simulator.
func randomKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "sim-" + hex.EncodeToString(b[:])
}

func runSimulate(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "simulate", "[--addr HOST:PORT] [flags]")
	addr := fs.String("addr", "127.0.0.1:9090", "address to listen on")
	sf := simFlags{getenv: e.getenv}
	sf.register(fs, "")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	key := e.getenv("INTERACTLY_API_KEY")
	if key == "" {
		return errors.New("INTERACTLY_API_KEY is not set: set it to the key the simulator should accept (and give workers the same)")
	}
	cfg, err := sf.config(key)
	if err != nil {
		return err
	}
	_, base, err := startSimulator(ctx, *addr, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "Interactly simulator on %s (Bearer key from INTERACTLY_API_KEY); counters at %s/_simulator/stats\n", base, base)
	if cfg.Webhooks.URL != "" {
		secret := "with the secret from " + envWebhookSecret
		if cfg.Webhooks.Secret == "" {
			secret = "without a secret (" + envWebhookSecret + " is not set)"
		}
		shown := cfg.Webhooks.URL
		if u, err := url.Parse(shown); err == nil {
			shown = u.Redacted()
		}
		fmt.Fprintf(e.stderr, "webhooks go to %s %s\n", shown, secret)
	}
	<-ctx.Done()
	return nil
}
