package sambatest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// layoutVersion names what the cache holds; change it whenever the build
// below changes, so that every machine provisions anew.
const layoutVersion = "sambatest-1"

// The computer accounts of the cached domain.
var computers = []metaComputer{
	{Name: "KMS1", Addr: "127.0.89.1", Password: "Kms1-Machine-Pw!", InGroup: true},
	{Name: "KMS2", Addr: "127.0.89.2", Password: "Kms2-Machine-Pw!", InGroup: true},
	{Name: "KMS3", Addr: "127.0.89.3", Password: "Kms3-Machine-Pw!", InGroup: false},
}

// meta is what the build recorded about the cached domain (meta.json).
type meta struct {
	Samba     string         `json:"samba"`  // `samba -V`
	Layout    string         `json:"layout"` // layoutVersion
	Built     time.Time      `json:"built"`
	DomainSID string         `json:"domain_sid"`
	GroupDN   string         `json:"group_dn"`
	GroupSID  string         `json:"group_sid"`
	Computers []metaComputer `json:"computers"`
}

// metaComputer is one computer account of meta.
type metaComputer struct {
	Name     string `json:"name"`
	Addr     string `json:"addr"`
	Password string `json:"password"`
	InGroup  bool   `json:"in_group"`
	DN       string `json:"dn"`
	SID      string `json:"sid"`
}

// cache is the provisioned domain, ready to copy: dir/tree is samba's tree
// (never to be started in place again), dir/keytabs/NAME.keytab, and
// dir/meta.json.
type cache struct {
	dir  string
	meta *meta
}

func (c *cache) tree() string { return filepath.Join(c.dir, "tree") }

func (c *cache) keytab(name string) string {
	return filepath.Join(c.dir, "keytabs", name+".keytab")
}

// The cache this process found or built.
var (
	cacheMu     sync.Mutex
	cacheLoaded *cache
)

// ensureCache returns the cached domain for this Samba version and
// layout, provisioning it first if no process on the machine has yet. A
// file lock makes the other processes (and goroutines) wait for the one
// that builds it.
func ensureCache() (*cache, error) {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if cacheLoaded != nil {
		return cacheLoaded, nil
	}
	version, err := command{name: "samba", args: []string{"-V"}}.run()
	if err != nil {
		return nil, err
	}
	version = strings.TrimSpace(version)
	sum := sha256.Sum256([]byte(version + "\n" + layoutVersion))
	dir := filepath.Join(os.TempDir(), "srvctl-samba-"+hex.EncodeToString(sum[:6]))
	lock, err := lockFile(dir+".lock", false)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	c := &cache{dir: dir}
	if m, err := readMeta(dir); err == nil {
		c.meta = m
	} else {
		start := time.Now()
		if c.meta, err = build(dir, version); err != nil {
			return nil, fmt.Errorf("sambatest: provisioning the cached domain in %s: %w", dir, err)
		}
		fmt.Fprintf(os.Stderr, "sambatest: provisioned the cached Samba domain in %s in %v\n", dir, time.Since(start).Round(time.Millisecond))
	}
	cacheLoaded = c
	return c, nil
}

// readMeta reads dir/meta.json, which the build writes last.
func readMeta(dir string) (*meta, error) {
	data, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return nil, err
	}
	m := new(meta)
	if err := json.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "meta.json"), err)
	}
	return m, nil
}

// build provisions the domain into dir+".build", starts it once to add
// what only a running DC can (DNS records, SPNs), stops it, and renames
// the result to dir. Paths in the tree are not absolute (every start
// writes its own smb.conf), so the tree can be copied anywhere.
func build(dir, version string) (_ *meta, err error) {
	tmp := dir + ".build"
	if err := errors.Join(os.RemoveAll(dir), os.RemoveAll(tmp)); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(tmp, "keytabs"), 0o700); err != nil {
		return nil, err
	}
	tree := filepath.Join(tmp, "tree")
	empty := filepath.Join(tmp, "empty.conf") // or /etc/samba/smb.conf leaks in
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		return nil, err
	}
	_, err = command{name: "samba-tool", args: []string{"domain", "provision",
		"-s", empty, "--targetdir=" + tree, "--realm=" + realm, "--domain=" + netbios,
		"--server-role=dc", "--dns-backend=SAMBA_INTERNAL", "--host-name=" + strings.ToLower(dcName),
		"--host-ip=" + provisionIP, "--adminpass=" + adminPass,
	}, redact: []string{adminPass}, timeout: provisionTimeout}.run()
	if err != nil {
		return nil, err
	}
	m := &meta{Samba: version, Layout: layoutVersion, Built: time.Now().UTC()}
	dc := newDC(tree, m, Options{})
	if err := dc.start(); err != nil {
		return nil, err
	}
	err = populate(dc, m, filepath.Join(tmp, "keytabs"))
	if serr := dc.Stop(); serr != nil {
		return nil, errors.Join(err, serr)
	}
	if err != nil {
		return nil, err
	}
	// What the start added that belongs to one DC, not to the domain.
	for _, p := range []string{"etc", "tls", "run", "cache", "client", "samba.log", "krb5.conf", "msg.sock", "msg.lock"} {
		if err := os.RemoveAll(filepath.Join(tree, p)); err != nil {
			return nil, err
		}
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "meta.json"), append(data, '\n'), 0o644); err != nil {
		return nil, err
	}
	if err := os.Remove(empty); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, err
	}
	return m, nil
}

// populate adds the fixtures to the running build DC and records their
// DNs and SIDs in m: the SPNs the KDC needs for ldap/ and DNS/ (the
// dnsupdate service that would add them is off), passwords that never
// expire (the cache outlives maxPwdAge), the KMS group, the computer
// accounts with dNSHostName, SPNs, known passwords, A records and keytabs.
func populate(dc *DC, m *meta, keytabs string) error {
	local := []string{"-s", dc.smbConfPath()}
	if _, err := (command{name: "samba_spnupdate", args: local}).run(); err != nil {
		return err
	}
	steps := [][]string{
		{"domain", "passwordsettings", "set", "--max-pwd-age=0", "--min-pwd-age=0"},
		{"group", "add", groupName, "--group-scope=Global", "--group-type=Security"},
	}
	for _, c := range computers {
		steps = append(steps,
			[]string{"computer", "create", c.Name},
			[]string{"dns", "add", dc.Addr, dnsDomain, strings.ToLower(c.Name), "A", c.Addr})
	}
	var members []string
	for _, c := range computers {
		if c.InGroup {
			members = append(members, c.Name+"$")
		}
	}
	steps = append(steps, []string{"group", "addmembers", groupName, strings.Join(members, ",")})
	for _, s := range steps {
		if _, err := dc.sambaTool(s...).run(); err != nil {
			return err
		}
	}
	for _, c := range computers {
		cmd := dc.sambaTool("user", "setpassword", c.Name+"$", "--newpassword="+c.Password)
		cmd.redact = []string{c.Password}
		if _, err := cmd.run(); err != nil {
			return err
		}
	}
	l, err := dc.dialAdmin()
	if err != nil {
		return err
	}
	defer l.Close()
	for _, c := range computers {
		host := strings.ToLower(c.Name) + "." + dnsDomain
		dn := "CN=" + c.Name + ",CN=Computers," + baseDN
		mod := ldap.NewModifyRequest(dn, nil)
		mod.Replace("dNSHostName", []string{host})
		mod.Add("servicePrincipalName", []string{"HOST/" + host, "HOST/" + c.Name})
		if err := l.Modify(mod); err != nil {
			return fmt.Errorf("set dNSHostName of %s: %w", dn, err)
		}
		kt := filepath.Join(keytabs, c.Name+".keytab")
		if _, err := (command{name: "samba-tool", args: append([]string{"domain", "exportkeytab", kt, "--principal=" + c.Name + "$"}, local...)}).run(); err != nil {
			return err
		}
		sid, err := readSID(dc, l, dn)
		if err != nil {
			return err
		}
		c.DN, c.SID = dn, sid
		m.Computers = append(m.Computers, c)
	}
	if m.DomainSID, err = readSID(dc, l, baseDN); err != nil {
		return err
	}
	m.GroupDN = "CN=" + groupName + ",CN=Users," + baseDN
	if m.GroupSID, err = readSID(dc, l, m.GroupDN); err != nil {
		return err
	}
	return nil
}

// readSID reads the objectSid of dn.
func readSID(dc *DC, l *ldap.Conn, dn string) (string, error) {
	e, err := dc.entry(l, dn, "objectSid")
	if err != nil {
		return "", err
	}
	if e == nil {
		return "", fmt.Errorf("no object %s", dn)
	}
	return sidString(e.GetRawAttributeValue("objectSid"))
}

// copyTree copies the directory src into dst (which may exist):
// directories, regular files and symbolic links, with their modes;
// sockets and other special files are left out.
func copyTree(src, dst string) error {
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm())
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			return copyFile(path, target, info.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sambatest: copying %s to %s: %w", src, dst, err)
	}
	return nil
}

// copyFile copies the regular file src to dst, created with mode.
func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
