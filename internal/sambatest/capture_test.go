package sambatest

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// captureDir is where TestCapture writes.
var captureDir = filepath.Join("testdata", "captured")

// captureCommand re-runs the capture.
const captureCommand = "SRVCTL_CAPTURE=1 go test -count=1 -run '^TestCapture$' ./internal/sambatest/"

// decodePy prints Samba's own decoding (its NDR code) of each captured
// value: stdin has one "path kind" per line, argv[1] is the domain SID.
const decodePy = `
import base64, sys
from samba.ndr import ndr_unpack, ndr_print
from samba.dcerpc import dnsp, misc, security
domain = security.dom_sid(sys.argv[1])
for line in sys.stdin:
    path, kind = line.split()
    data = base64.b64decode(open(path).read())
    print("### " + path.split("/")[-1] + " (" + str(len(data)) + " bytes)")
    print("` + "```" + `")
    if kind == "dnsRecord":
        print(ndr_print(ndr_unpack(dnsp.DnssrvRpcRecord, data)).strip())
    elif kind == "dNSProperty":
        try:
            p = ndr_unpack(dnsp.DnsProperty, data)
        except Exception:
            p = ndr_unpack(dnsp.DnsProperty_short, data)
        print(ndr_print(p).strip())
    elif kind == "sd":
        sd = ndr_unpack(security.descriptor, data)
        print("SDDL, SIDs in full: " + sd.as_sddl())
        print("SDDL, domain SIDs abbreviated: " + sd.as_sddl(domain))
        print(ndr_print(sd).strip())
    elif kind == "sid":
        print(str(ndr_unpack(security.dom_sid, data)))
    elif kind == "guid":
        print(str(ndr_unpack(misc.GUID, data)))
    print("` + "```" + `")
    print()
`

// capturedValue is one attribute value TestCapture saves.
type capturedValue struct {
	file, kind, what string
	data             []byte
}

// TestCapture saves raw attribute values from a Samba DC, after the
// Microsoft scenario's first step, into testdata/captured/ for the
// decoder unit tests, with captured.md saying what each is and how Samba
// decodes it. It runs only with SRVCTL_CAPTURE=1 (see captureCommand).
func TestCapture(t *testing.T) {
	if os.Getenv("SRVCTL_CAPTURE") != "1" {
		t.Skip("set SRVCTL_CAPTURE=1 to re-capture testdata/captured/ from a Samba DC")
	}
	dc := Start(t, Options{})
	kms1 := dc.Computer(t, "KMS1")

	// KMS1 registers _vlmcs._tcp (and _gone._tcp, tombstoned below) by
	// GSS-TSIG; _static._tcp is added by samba-tool (static).
	cc := dc.KinitKeytab(t, kms1.SAM, kms1.Keytab)
	script := "update add _vlmcs._tcp.srvctl.test. 3600 IN SRV 0 100 1688 kms1.srvctl.test.\n" +
		"update add _gone._tcp.srvctl.test. 1200 IN SRV 5 50 1688 kms1.srvctl.test."
	out, err := dc.NSUpdateGSS(t, cc, script)
	t.Logf("nsupdate as KMS1 (%v):\n%s", err, out)
	if got := srvStrings(t, dc, "_vlmcs._tcp.srvctl.test."); len(got) != 1 {
		t.Fatalf("SRV after KMS1's update: %v", got)
	}
	dc.AddStatic(t, "_static._tcp", "SRV", "kms3.srvctl.test 1688 10 5")
	dc.Tombstone(t, "_gone._tcp")

	l := dc.LDAP(t)
	read := func(dn string, attrs ...string) map[string][][]byte {
		e, err := dc.entry(l, dn, attrs...)
		if err != nil || e == nil {
			t.Fatalf("read %s: %v (entry %v)", dn, err, e)
		}
		vals := map[string][][]byte{}
		for _, a := range attrs {
			vals[a] = e.GetRawAttributeValues(a)
			if len(vals[a]) == 0 {
				t.Fatalf("%s has no %s", dn, a)
			}
		}
		return vals
	}
	node := read(dc.NodeDN("_vlmcs._tcp"), "dnsRecord", "nTSecurityDescriptor")
	zone := read(dc.ZoneDN, "dNSProperty")
	group := read(dc.GroupDN, "objectSid", "objectGUID")
	k1 := read(kms1.DN, "objectSid")
	gone := read(dc.NodeDN("_gone._tcp"), "dnsRecord")
	static := read(dc.NodeDN("_static._tcp"), "dnsRecord")

	vlmcsDN := dc.NodeDN("_vlmcs._tcp")
	values := []capturedValue{
		{"vlmcs-dnsRecord-srv.b64", "dnsRecord", "dnsRecord of " + vlmcsDN + ": the SRV record KMS1 registered by `nsupdate -g` (`0 100 1688 kms1.srvctl.test.`, TTL 3600), a dynamic record (TimeStamp set)", node["dnsRecord"][0]},
		{"vlmcs-nTSecurityDescriptor.b64", "sd", "nTSecurityDescriptor of " + vlmcsDN + ", read with the SD flags control value 7 (owner, group, DACL; no SACL): owner KMS1$", node["nTSecurityDescriptor"][0]},
		{"group-objectSid.b64", "sid", "objectSid of " + dc.GroupDN, group["objectSid"][0]},
		{"group-objectGUID.b64", "guid", "objectGUID of " + dc.GroupDN, group["objectGUID"][0]},
		{"kms1-objectSid.b64", "sid", "objectSid of " + kms1.DN + " (the node's owner)", k1["objectSid"][0]},
		{"tombstone-dnsRecord.b64", "dnsRecord", "dnsRecord of " + dc.NodeDN("_gone._tcp") + " after KMS1 added an SRV record there and every record of the name was deleted (`update delete`): the node is tombstoned (dNSTombstoned TRUE), its one record has type 0 and holds the time of deletion", gone["dnsRecord"][0]},
		{"static-dnsRecord.b64", "dnsRecord", "dnsRecord of " + dc.NodeDN("_static._tcp") + ": an SRV record added by `samba-tool dns add` (`kms3.srvctl.test 1688 10 5`, so priority 10, weight 5, port 1688), static (TimeStamp 0)", static["dnsRecord"][0]},
	}
	if len(node["dnsRecord"]) != 1 || len(gone["dnsRecord"]) != 1 || len(static["dnsRecord"]) != 1 {
		t.Fatalf("dnsRecord values: vlmcs %d, tombstone %d, static %d; want 1 each", len(node["dnsRecord"]), len(gone["dnsRecord"]), len(static["dnsRecord"]))
	}
	for i, v := range zone["dNSProperty"] {
		values = append(values, capturedValue{fmt.Sprintf("zone-dNSProperty-%d.b64", i), "dNSProperty",
			fmt.Sprintf("dNSProperty value %d (LDAP order) of %s", i, dc.ZoneDN), v})
	}

	// Replace what an earlier capture wrote.
	if err := os.MkdirAll(captureDir, 0o755); err != nil {
		t.Fatal(err)
	}
	old, err := filepath.Glob(filepath.Join(captureDir, "*.b64"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	var list strings.Builder
	for _, v := range values {
		path := filepath.Join(captureDir, v.file)
		if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(v.data)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&list, "%s %s\n", path, v.kind)
	}
	decoded, err := command{name: python3, args: []string{"-c", decodePy, dc.DomainSID}, stdin: list.String()}.run()
	if err != nil {
		t.Fatal(err)
	}

	var md strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&md, format+"\n", args...) }
	version, _ := command{name: "samba", args: []string{"-V"}}.run()
	p("# Attribute values captured from a Samba AD DC")
	p("")
	p("Raw LDAP attribute values, base64 (one value per file), read as the Administrator over LDAPS from a throwaway Samba AD DC of `internal/sambatest`, for the decoder unit tests. Generated, with this file, by (as root, Samba installed):")
	p("")
	p("    %s", captureCommand)
	p("")
	p("Do not edit: re-run the command. Every run provisions nothing new (the cached domain) but registers new records, so timestamps, serials and the node's GUIDs change; SIDs change only when the cached domain is provisioned anew (new Samba version or harness layout).")
	p("")
	p("- Samba: %s", strings.TrimSpace(version))
	p("- Captured: %s", time.Now().UTC().Format(time.DateOnly))
	p("- Domain %s, realm %s, DN %s, domain SID `%s`", dc.Domain, dc.Realm, dc.BaseDN, dc.DomainSID)
	p("- KMS1$ `%s` (%s), group `%s` (%s)", kms1.SID, kms1.DN, dc.GroupSID, dc.GroupDN)
	p("- The zone %s is AD-integrated (DomainDnsZones), `allow dns updates = secure only` in smb.conf", dc.ZoneDN)
	p("")
	p("What happened before the capture: KMS1$ (Kerberos, keytab) sent one GSS-TSIG update adding `_vlmcs._tcp.srvctl.test. 3600 SRV 0 100 1688 kms1.srvctl.test.` and `_gone._tcp.srvctl.test. 1200 SRV 5 50 1688 kms1.srvctl.test.`; the Administrator added `_static._tcp` SRV `10 5 1688 kms3.srvctl.test.` with `samba-tool dns add`, then deleted every record of `_gone._tcp` by a GSS-TSIG update.")
	p("")
	p("## Files")
	p("")
	p("| file | what it is |")
	p("| --- | --- |")
	for _, v := range values {
		p("| `%s` | %s |", v.file, v.what)
	}
	p("")
	p("## Samba's own decoding of each value")
	p("")
	p("By Samba's NDR code (`ndr_print` of `dnsp.DnssrvRpcRecord`, `dnsp.DnsProperty`, `security.descriptor` with `as_sddl`, `security.dom_sid`, `misc.GUID`). dnsRecord fields: `wDataLength`, `wType` (33 SRV, 0 tombstone), `version` (5), `rank`, `flags`, `dwSerial`, `dwTtlSeconds` (big-endian on the wire), `dwReserved`, `dwTimeStamp` (hours since 1601-01-01 UTC, 0 = static), `data`. dNSProperty ids: 0x02 ALLOW_UPDATE (0 none, 1 nonsecure and secure, 2 secure only), 0x10 NOREFRESH_INTERVAL and 0x20 REFRESH_INTERVAL (hours), 0x40 AGING_STATE, others as MS-DNSP 2.3.2.1.")
	p("")
	md.WriteString(decoded)
	p("## The same objects as samba-tool shows them")
	p("")
	for _, args := range [][]string{
		{"dns", "query", dc.Addr, "srvctl.test", "_vlmcs._tcp", "SRV"},
		{"dns", "query", dc.Addr, "srvctl.test", "_static._tcp", "SRV"},
		{"dns", "zoneinfo", dc.Addr, "srvctl.test"},
		{"dsacl", "get", "--objectdn=" + vlmcsDN},
		{"group", "show", dc.Group, "--attributes=objectSid,objectGUID,groupType"},
	} {
		out := dc.SambaTool(t, args...)
		quoted := make([]string, len(args))
		for i, a := range args {
			quoted[i] = a
			if strings.ContainsAny(a, " $") {
				quoted[i] = "'" + a + "'"
			}
		}
		p("`samba-tool %s`:", strings.Join(quoted, " "))
		p("```")
		p("%s", strings.TrimSpace(out))
		p("```")
		p("")
	}
	r, err := dc.Query("_gone._tcp.srvctl.test.", dns.TypeSRV)
	if err != nil {
		t.Fatal(err)
	}
	p("A query for `_gone._tcp.srvctl.test. SRV` after the tombstoning answers %s with %d records.", dns.RcodeToString[r.Rcode], len(r.Answer))
	if err := os.WriteFile(filepath.Join(captureDir, "captured.md"), []byte(md.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d values and captured.md to %s", len(values), captureDir)
}
