package config

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestReadmeExamples loads every YAML example of the README, without
// opening the secret files they name, so the documentation cannot drift
// from what Load accepts.
func TestReadmeExamples(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?ms)^```yaml\n(.*?)^```").FindAllSubmatch(data, -1)
	// The README has a complete annotated config and a minimal one; fewer
	// blocks means the pattern broke, and the test would check nothing.
	if len(blocks) < 2 {
		t.Fatalf("found %d YAML examples in README.md, want at least 2", len(blocks))
	}
	for i, b := range blocks {
		path := filepath.Join(t.TempDir(), "srvctl.yaml")
		if err := os.WriteFile(path, b[1], 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(LoadOptions{Path: path, Env: []string{}, NoSecrets: true}); err != nil {
			t.Errorf("README.md YAML example %d:\n%s\n%v", i+1, b[1], err)
		}
	}
}

// TestExampleConfig loads the example config make install puts in
// /etc/srvctl, without its secret files.
func TestExampleConfig(t *testing.T) {
	cfg, err := Load(LoadOptions{Path: filepath.Join("..", "deploy", "srvctl.example.yaml"), Env: []string{}, NoSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Keys[0].Credential != "srvctl-corp.key" || cfg.Schedule != "@every 1h" {
		t.Errorf("example: credential %q, schedule %q", cfg.Keys[0].Credential, cfg.Schedule)
	}
}
