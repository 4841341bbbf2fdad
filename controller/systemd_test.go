package controller

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srvctl/srvctl/config"
	"github.com/srvctl/srvctl/internal/golden"
)

// TestShippedUnits checks that deploy/systemd holds what Units renders for
// the default paths (go test -update rewrites them).
func TestShippedUnits(t *testing.T) {
	units, err := Units(UnitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(units) != 3 {
		t.Fatalf("got %d units, want 3", len(units))
	}
	for _, u := range units {
		golden.Check(t, filepath.Join("..", "deploy", "systemd", u.Name), []byte(u.Content))
	}
}

// TestUnitsVerify has systemd-analyze verify the units rendered for a
// config with credentials, a key read directly, bindfile zones and a state
// file outside StateDirectory=.
func TestUnitsVerify(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and systemd-analyze is needed: %v", err)
		}
		t.Skipf("systemd-analyze is not installed (apt-get install -y systemd): %v", err)
	}
	bin, err := os.Executable() // any existing absolute path: verify checks it exists
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{
		Keys: []config.Key{
			{Name: "srvctl-corp.", SecretFile: "/run/credentials/srvctl.service/corp.key", Credential: "corp.key"},
			{Name: "other.", SecretFile: "/etc/srvctl/keys/other.key"},
			{Name: "kms1-self."},
		},
		Zones: []config.Zone{
			{Name: "corp.example.com.", Backend: config.DefaultBackend},
			{Name: "lab.example.org.", Backend: config.BindfileBackend, File: "/etc/bind/fragments/lab.vlmcs", ZoneFile: "/var/lib/bind/db.lab"},
		},
		Audit: config.Audit{StateFile: "/srv/srvctl/state.json"},
	}
	for _, user := range []string{"", "root"} {
		units, err := Units(UnitOptions{Binary: bin, Config: "/etc/srvctl/srvctl.yaml", User: user, OnCalendar: "*:0/15", Cfg: cfg})
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		var paths []string
		for _, u := range units {
			p := filepath.Join(dir, u.Name)
			if err := os.WriteFile(p, []byte(u.Content), 0o644); err != nil {
				t.Fatal(err)
			}
			paths = append(paths, p)
		}
		svc := units[0].Content
		for _, want := range []string{
			"LoadCredential=corp.key:/etc/srvctl/corp.key\n",
			"# key other: secret_file /etc/srvctl/keys/other.key is read directly",
			"ReadWritePaths=/etc/bind/fragments\nReadWritePaths=/srv/srvctl\nReadWritePaths=/var/lib/bind\n",
			"ExecStart=" + bin + " run --config /etc/srvctl/srvctl.yaml\n",
			"ExecReload=/bin/kill -HUP $MAINPID\n",
		} {
			if !strings.Contains(svc, want) {
				t.Errorf("user %q: srvctl.service lacks %q:\n%s", user, want, svc)
			}
		}
		if got := strings.Contains(svc, "DynamicUser cannot") || strings.Contains(svc, "a DynamicUser can do neither"); got != (user == "") {
			t.Errorf("user %q: the bindfile note is there: %v, want %v", user, got, user == "")
		}
		if !strings.Contains(units[2].Content, "OnCalendar=*:0/15\n") {
			t.Errorf("timer: no OnCalendar=*:0/15:\n%s", units[2].Content)
		}
		cmd := exec.Command(sa, append([]string{"verify", "--man=no"}, paths...)...)
		out, err := cmd.CombinedOutput()
		// verify exits 0 on warnings (an unknown key, say): those count too.
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("user %q: systemd-analyze verify: %v\n%s", user, err, out)
		}
	}
}

func TestUnitsRefuse(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    UnitOptions
		want string
	}{
		{"relative binary", UnitOptions{Binary: "bin/srvctl"}, `binary "bin/srvctl": systemd needs an absolute path`},
		{"space in config", UnitOptions{Config: "/etc/my srvctl/srvctl.yaml"}, `config "/etc/my srvctl/srvctl.yaml": a path with spaces`},
		{"percent", UnitOptions{Binary: "/opt/100%/srvctl"}, `binary "/opt/100%/srvctl": a path with spaces`},
		{"user with slash", UnitOptions{User: "../root"}, `user "../root" is not a user name`},
		{"calendar newline", UnitOptions{OnCalendar: "hourly\nExecStartPre=/bin/sh"}, "on-calendar"},
		{"fragment dir with a space", UnitOptions{Cfg: &config.Config{Zones: []config.Zone{{Backend: config.BindfileBackend, File: "/etc/bind/my frags/lab.vlmcs"}}}},
			`"/etc/bind/my frags": a path or credential name with spaces`},
		{"credential with percent", UnitOptions{Cfg: &config.Config{Keys: []config.Key{{Name: "k.", SecretFile: "/etc/srvctl/100%.key", Credential: "100%.key"}}}},
			`"100%.key:/etc/srvctl/100%.key": a path or credential name with spaces`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Units(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
