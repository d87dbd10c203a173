package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// TestComposeSafeDefaults pins docker-compose.yml's safe defaults: no secret has a default
// outside the simulator's own service (a default anyone can read is no secret), serve is
// published on the loopback interface only, and the image runs as a user other than root.
func TestComposeSafeDefaults(t *testing.T) {
	data, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Environment any      `yaml:"environment"`
			Ports       []string `yaml:"ports"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatal(err)
	}
	secret := regexp.MustCompile(`(?i)(KEY|SECRET|PASSWORD|TOKEN)`)
	defaulted := regexp.MustCompile(`\$\{[A-Z_]+:?-`)
	for name, svc := range compose.Services {
		env, _ := svc.Environment.(map[string]any)
		for k, v := range env {
			s, _ := v.(string)
			if name != "simulator" && secret.MatchString(k) && defaulted.MatchString(s) {
				t.Errorf("service %s: %s = %q has a default; a secret must be set by whoever runs it", name, k, s)
			}
		}
		for _, p := range svc.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("service %s publishes %q on every interface; bind it to 127.0.0.1", name, p)
			}
		}
	}
	if _, ok := compose.Services["serve"]; !ok {
		t.Error("no serve service")
	}
	dockerfile, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^USER nonroot`).Match(dockerfile) || !strings.Contains(string(dockerfile), "distroless/static-debian12:nonroot") {
		t.Error("the Dockerfile's image does not run as distroless's nonroot user")
	}
}
