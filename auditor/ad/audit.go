package ad

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/srvctl/srvctl/auditor"
	"github.com/srvctl/srvctl/auditor/ad/wire"
	"github.com/srvctl/srvctl/zones"
)

// Host is a configured KMS host.
type Host struct {
	// Name is its FQDN (canonical: lower case, trailing dot).
	Name string
	// Account is its sAMAccountName ("KMS1$"; the $ may be left out) when
	// the account is not to be found by its dNSHostName.
	Account string
}

// Request is one zone to audit.
type Request struct {
	// Zone is the zone (canonical).
	Zone string
	// Owner is the audited name relative to the zone, or absolute in it;
	// default DefaultOwner.
	Owner string
	// Hosts are the KMS hosts that should be able to update the name.
	Hosts []Host
	// Served is what the zone's DNS servers answer for the name; nil: not
	// compared with the directory.
	Served []zones.Record
	// Desired are the records srvctl wants there, for the commands that
	// pre-create an absent node; default: the first host on port 1688.
	Desired []zones.Record
}

// reZone is a request after its names are made canonical.
type reZone struct {
	req   Request
	zone  string // canonical
	rel   string // owner relative to the zone ("@" for the apex)
	owner string // owner, absolute
	hosts []hostKey
	err   string // why the request cannot be audited
}

// normalize makes a request's names canonical.
func normalize(r Request) reZone {
	z := reZone{req: r, zone: zones.Canonical(r.Zone)}
	owner := strings.ToLower(cmp.Or(r.Owner, DefaultOwner))
	switch {
	case owner == "@" || owner == z.zone:
		z.rel, z.owner = "@", z.zone
	case strings.HasSuffix(owner, "."+z.zone):
		z.rel, z.owner = strings.TrimSuffix(owner, "."+z.zone), owner
	case strings.HasSuffix(owner, "."):
		z.rel, z.owner = strings.TrimSuffix(owner, "."), owner
		z.err = fmt.Sprintf("the name %s is not in the zone %s", owner, z.zone)
	default:
		z.rel, z.owner = owner, owner+"."+z.zone
		if z.zone == "." {
			z.owner = owner + "."
		}
	}
	for _, h := range r.Hosts {
		z.hosts = append(z.hosts, hostKey{name: zones.Canonical(h.Name), account: h.Account})
	}
	return z
}

// nodeDN is the DN of the node rel in the zone object zoneDN.
func nodeDN(rel, zoneDN string) string { return "DC=" + escapeRDN(rel) + "," + zoneDN }

// escapeRDN escapes an attribute value for a DN (RFC 4514, with the
// characters Active Directory also wants escaped): ,+"\<>;= with a
// backslash, a leading # or space and a trailing space likewise, and
// control characters as \xx.
func escapeRDN(v string) string {
	var b strings.Builder
	for i, r := range v {
		switch {
		case strings.ContainsRune(`,+"\<>;=`, r),
			i == 0 && (r == '#' || r == ' '),
			r == ' ' && i == len(v)-1:
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// daclSDDL is the DACL of sd in SDDL, with its flags: "D:AI(A;;...)".
func daclSDDL(sd *wire.SecurityDescriptor) string {
	const bits = wire.ControlDACLPresent | wire.ControlDACLProtected | wire.ControlDACLAutoInherited | wire.ControlDACLAutoInheritReq
	return (&wire.SecurityDescriptor{Control: sd.Control&bits | wire.ControlDACLPresent, DACL: sd.DACL}).SDDL()
}

// Audit reads, for every request, the zone, its node, the group and the
// hosts' accounts, and decides per zone and host whether the host can
// update the node, why, and what fixes it. Each distinct account is read
// once however many zones name it, and the nodes of a partition with one
// search: the LDAP round trips grow with the hosts, not with the zones (see
// the package documentation). Group members that are none of the
// configured hosts (Options.Hosts, else the requests' hosts) are extra
// members. A zone that is not in the directory, or whose node cannot be
// read, is a finding; the error is for what spoils the whole audit (the
// connection, the group or account searches, ctx).
func (c *Client) Audit(ctx context.Context, reqs []Request) (*Report, error) {
	start, ops := c.now(), c.ops.Load()
	rep := &Report{Time: start, Server: c.host, URL: c.ep.String(), User: c.user, Domain: c.netbios, DomainDN: c.domainDN,
		Accounts: []Account{}, Findings: []Finding{}, Zones: []Zone{}}

	rzs := make([]reZone, len(reqs))
	var zoneNames []string
	var hosts []hostKey
	seenZone, seenHost := map[string]bool{}, map[hostKey]bool{}
	for i, r := range reqs {
		rzs[i] = normalize(r)
		if !seenZone[rzs[i].zone] {
			seenZone[rzs[i].zone] = true
			zoneNames = append(zoneNames, rzs[i].zone)
		}
		for _, h := range rzs[i].hosts {
			if !seenHost[h] {
				seenHost[h] = true
				hosts = append(hosts, h)
			}
		}
	}

	found, skipped, err := c.findZones(ctx, zoneNames)
	if err != nil {
		return nil, err
	}
	grp, err := c.findGroup(ctx)
	if err != nil {
		return nil, err
	}
	accts, err := c.findAccounts(ctx, hosts)
	if err != nil {
		return nil, err
	}
	// Each distinct node once.
	var refs []nodeRef
	index := map[string]int{}
	for _, rz := range rzs {
		if zi := found[rz.zone]; zi != nil && rz.err == "" {
			dn := nodeDN(rz.rel, zi.dn)
			if _, ok := index[dn]; !ok {
				index[dn] = len(refs)
				refs = append(refs, nodeRef{dn: dn, rel: rz.rel, base: zi.base})
			}
		}
	}
	read, readErrs := c.readNodes(ctx, refs)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	nodes := make([]*nodeInfo, len(rzs))
	nodeErrs := make([]error, len(rzs))
	for i, rz := range rzs {
		if zi := found[rz.zone]; zi != nil && rz.err == "" {
			k := index[nodeDN(rz.rel, zi.dn)]
			nodes[i], nodeErrs[i] = read[k], readErrs[k]
		}
	}

	j := newJudge(c, start, grp, accts, hosts)
	j.skipped = skipped
	// The SIDs to name: the owners, and the subjects of deny ACEs (a fix
	// that removes one names it).
	var need []wire.SID
	for _, n := range nodes {
		if n == nil || n.sd == nil {
			continue
		}
		if n.sd.Owner != nil {
			need = append(need, *n.sd.Owner)
		}
		if n.sd.DACL != nil {
			for _, a := range n.sd.DACL.ACEs {
				if a.IsDeny() {
					need = append(need, a.SID)
				}
			}
		}
	}
	need = slices.DeleteFunc(need, func(s wire.SID) bool { return j.names[s.String()] != nil })
	resolved, err := c.resolveSIDs(ctx, need)
	if err != nil {
		return nil, err
	}
	for k, a := range resolved {
		j.names[k] = a
	}

	j.fill(rep, rzs, hosts, found, nodes, nodeErrs)
	rep.Operations = c.ops.Load() - ops
	rep.Duration = c.now().Sub(start)
	c.log.Info("AD audit done", zap.Int("zones", len(rep.Zones)), zap.Int("hosts", len(hosts)),
		zap.Int64("ldap_operations", rep.Operations), zap.Stringer("level", rep.Level))
	return rep, nil
}

// judge turns what was read into findings.
type judge struct {
	c      *Client
	now    time.Time
	grp    *groupInfo
	accts  map[hostKey]*account
	names  map[string]*account // by SID string: every account read
	hostOf map[string]string   // account SID string → configured host
	fix    fixer
	// skipped are the DNS partitions not searched because another DC
	// holds them, with why.
	skipped []string
}

// newJudge returns a judge that knows the group's members and the hosts'
// accounts by SID.
func newJudge(c *Client, now time.Time, grp *groupInfo, accts map[hostKey]*account, hosts []hostKey) *judge {
	j := &judge{c: c, now: now, grp: grp, accts: accts, names: map[string]*account{}, hostOf: map[string]string{},
		fix: fixer{dc: c.host, domain: c.netbios}}
	for _, h := range hosts {
		if a := accts[h]; a != nil {
			j.names[a.sid.String()] = a
			if j.hostOf[a.sid.String()] == "" {
				j.hostOf[a.sid.String()] = h.name
			}
		}
	}
	for _, m := range grp.members {
		j.names[m.sid.String()] = m
	}
	return j
}

// fill judges everything read into rep: the group and accounts, each zone,
// and the levels.
func (j *judge) fill(rep *Report, rzs []reZone, hosts []hostKey, found map[string]*zoneInfo, nodes []*nodeInfo, nodeErrs []error) {
	j.global(rep, hosts)
	for i := range rzs {
		z := j.zone(rzs[i], found[rzs[i].zone], nodes[i], nodeErrs[i])
		z.Level = auditor.OK
		for _, f := range z.Findings {
			z.Level = worse(z.Level, f.Level)
		}
		rep.Zones = append(rep.Zones, z)
	}
	rep.Level = auditor.OK
	for _, f := range rep.Findings {
		rep.Level = worse(rep.Level, f.Level)
	}
	for _, z := range rep.Zones {
		rep.Level = worse(rep.Level, z.Level)
	}
}

// add appends a finding of kind k to list, at its level.
func (j *judge) add(list *[]Finding, k Kind, host string, fix []string, format string, args ...any) {
	lvl, ok := j.c.severity[k]
	if !ok {
		lvl = defaultLevel[k]
	}
	*list = append(*list, Finding{Kind: k, Level: lvl, Host: host, Detail: fmt.Sprintf(format, args...), Fix: fix})
}

// groupName is the group's name in commands: its sAMAccountName once
// found, else the configured name.
func (j *judge) groupName() string { return cmp.Or(j.grp.report.SAM, j.grp.report.Name) }

// inGroup reports whether the account is in the group, transitively.
func (j *judge) inGroup(a *account) bool {
	if !j.grp.report.Found {
		return false
	}
	if a.tokenErr == nil && a.token().Contains(j.grp.sid) {
		return true
	}
	return slices.ContainsFunc(j.grp.members, func(m *account) bool { return m.sid.Equal(a.sid) })
}

// lookupText says how a host's account is looked up.
func lookupText(h hostKey) (attr, value string) {
	if h.account != "" {
		return "sAMAccountName", h.account
	}
	return "dNSHostName", strings.TrimSuffix(h.name, ".")
}

// global reports the group and the accounts.
func (j *judge) global(rep *Report, hosts []hostKey) {
	g := j.grp
	rep.Group = g.report
	for _, m := range g.members {
		rep.Group.Members = append(rep.Group.Members, Member{DN: m.dn, SAM: m.sam, DNSHostName: m.dnsHostName, SID: m.sid.String(),
			Disabled: m.disabled(), Host: cmp.Or(j.hostOf[m.sid.String()], j.configuredHost(m))})
	}
	switch {
	case g.problem != "":
		j.add(&rep.Findings, KindNoGroup, "", nil, "the KMS host group %q: %s", g.report.Name, g.problem)
	case !g.report.Found:
		fix := j.fix.createGroup(g.report.Name)
		for _, h := range hosts {
			if a := j.accts[h]; a != nil {
				fix = append(fix, j.fix.addMember(g.report.Name, a.sam)...)
			}
		}
		j.add(&rep.Findings, KindNoGroup, "", fix,
			"no group %q in %s: create it as a global security group and add the KMS hosts, then grant it write access on each zone's node (Microsoft's \"change the Default DNS Permissions for SRV Records\")",
			g.report.Name, j.c.domainDN)
	case !g.report.Security:
		j.add(&rep.Findings, KindGroupType, "", j.fix.groupType(g.report.DN, g.report.SAM, g.report.Scope),
			"%s is a %s distribution group (groupType %d): a distribution group is in no security token, so access granted to it lets no host update; make it a global security group (its SID, and so the grants, stay)",
			g.report.DN, g.report.Scope, g.report.GroupType)
	case g.report.Scope != "global":
		j.add(&rep.Findings, KindGroupType, "", j.fix.groupType(g.report.DN, g.report.SAM, g.report.Scope),
			"%s is a %s security group (groupType %d), not a global one as Microsoft's procedure has it: grants still work for members of this domain",
			g.report.DN, g.report.Scope, g.report.GroupType)
	}

	configured := map[string]bool{}
	for _, h := range hosts {
		a := j.accts[h]
		attr, value := lookupText(h)
		acc := Account{Host: h.name, Lookup: attr}
		if a == nil {
			rep.Accounts = append(rep.Accounts, acc)
			j.add(&rep.Findings, KindNoAccount, h.name, nil,
				"no account with %s %s in %s: the host cannot sign dynamic updates (GSS-TSIG) as itself, so AD permissions cannot let it publish (not joined to this domain?)",
				attr, value, j.c.domainDN)
			continue
		}
		configured[a.sid.String()] = true
		acc.Found, acc.DN, acc.SAM, acc.DNSHostName, acc.SID, acc.Disabled = true, a.dn, a.sam, a.dnsHostName, a.sid.String(), a.disabled()
		acc.InGroup = j.inGroup(a)
		for _, s := range a.groups {
			acc.TokenGroups = append(acc.TokenGroups, s.String())
		}
		slices.Sort(acc.TokenGroups)
		rep.Accounts = append(rep.Accounts, acc)
		if a.tokenErr != nil {
			j.add(&rep.Findings, KindReadError, h.name, nil, "%v: its access is judged without its groups", a.tokenErr)
		}
		if a.disabled() {
			j.add(&rep.Findings, KindAccountDisabled, h.name, j.fix.enableAccount(a.sam),
				"the account %s (%s) is disabled: the host cannot authenticate, so none of its updates are accepted", a.sam, a.dn)
		}
		if g.report.Found && !acc.InGroup {
			j.add(&rep.Findings, KindNotInGroup, h.name, j.fix.addMember(j.groupName(), a.sam),
				"%s (%s) is not in %s: it gets none of the group's access (after adding it, the host sees the membership once it reboots or runs `klist -li 0x3e7 purge`)",
				a.sam, h.name, j.fix.account(j.groupName()))
		}
	}
	for _, m := range g.members {
		if configured[m.sid.String()] || j.configuredHost(m) != "" {
			continue
		}
		j.add(&rep.Findings, KindExtraMember, m.sam, j.fix.removeMember(j.groupName(), m.sam),
			"%s (%s) is in %s but is not a configured KMS host: it can rewrite the records wherever the group may write; add it to the config, or remove it from the group",
			m.sam, m.dn, j.fix.account(j.groupName()))
	}
}

// configuredHost returns the configured host (Options.Hosts) that names
// the account a, "" for none.
func (j *judge) configuredHost(a *account) string {
	for _, h := range j.c.hosts {
		if h.names(a) {
			return h.name
		}
	}
	return ""
}

// principal describes a SID.
func (j *judge) principal(s wire.SID) *Principal {
	p := &Principal{SID: s.String()}
	if j.grp.report.Found && s.Equal(j.grp.sid) {
		p.Found, p.DN, p.Name = true, j.grp.report.DN, j.fix.account(j.groupName())
		return p
	}
	if a := j.names[s.String()]; a != nil {
		p.Found, p.DN, p.Disabled, p.Host = true, a.dn, a.disabled(), j.hostOf[s.String()]
		p.Name = j.fix.account(a.sam)
		if !s.IsDomainSID() {
			p.Name = `BUILTIN\` + a.sam
		}
		return p
	}
	if n, ok := wellKnown[s.String()]; ok {
		p.Found, p.Name = true, n
	}
	return p
}

// wellKnown names the SIDs that are no directory object.
var wellKnown = map[string]string{
	"S-1-1-0":  "Everyone",
	"S-1-3-0":  "CREATOR OWNER",
	"S-1-3-1":  "CREATOR GROUP",
	"S-1-3-4":  "OWNER RIGHTS",
	"S-1-5-2":  `NT AUTHORITY\NETWORK`,
	"S-1-5-7":  `NT AUTHORITY\ANONYMOUS LOGON`,
	"S-1-5-9":  `NT AUTHORITY\ENTERPRISE DOMAIN CONTROLLERS`,
	"S-1-5-10": `NT AUTHORITY\SELF`,
	"S-1-5-11": `NT AUTHORITY\Authenticated Users`,
	"S-1-5-15": `NT AUTHORITY\This Organization`,
	"S-1-5-18": `NT AUTHORITY\SYSTEM`,
	"S-1-18-1": "Authentication authority asserted identity",
	"S-1-18-2": "Service asserted identity",
}

// administrative reports whether s is an administrator or the system: an
// owner that pre-created the node, not a KMS host.
func (j *judge) administrative(s wire.SID) bool {
	switch s.String() {
	case "S-1-5-18", "S-1-5-9", "S-1-5-32-544":
		return true
	}
	if s.IsDomainSID() {
		switch s.RID() {
		case 500, 512, 516, 518, 519:
			return true
		}
	}
	a := j.names[s.String()]
	return a != nil && a.serverTrust()
}

// denyACEs returns the deny ACEs that took write on dnsRecord or on
// dNSTombstoned away in acc (at most two; one when the same ACE took
// both).
func denyACEs(sd *wire.SecurityDescriptor, acc wire.Access) []wire.ACE {
	var out []wire.ACE
	seen := -1
	for _, g := range []wire.Grant{acc.DNSRecord, acc.DNSTombstoned} {
		if g.Decision == wire.Denied && g.Source == wire.SourceACE && sd.DACL != nil && g.Index < len(sd.DACL.ACEs) && g.Index != seen {
			seen = g.Index
			out = append(out, sd.DACL.ACEs[g.Index])
		}
	}
	return out
}

// describeDeny says which deny ACE decided, for whom, and, when it is
// inherited, that it is to be removed where it is set.
func (j *judge) describeDeny(ace wire.ACE) string {
	who := j.principal(ace.SID)
	s := fmt.Sprintf("the deny ACE %s (for %s) comes first and wins over any grant", ace.SDDL(), cmp.Or(who.Name, who.SID))
	if ace.Flags&wire.ACEInherited != 0 {
		s += "; it is inherited: remove it where it is set, on the zone or above"
	}
	return s
}

// trustee is how `dsacls /R` names the subject of a deny ACE to remove:
// DOMAIN\name for an account or group of the domain, "" for any other
// SID (dsacls /R would also remove its allow ACEs, such as Everyone's
// read access).
func (j *judge) trustee(s wire.SID) string {
	if !s.IsDomainSID() {
		return ""
	}
	if who := j.principal(s); who.Found && strings.Contains(who.Name, `\`) {
		return who.Name
	}
	return ""
}

// grantACE is the ACE a grant adds for the group sid.
func grantACE(sid wire.SID) wire.ACE {
	return wire.ACE{Type: wire.ACEAccessAllowed, Mask: grantRights, SID: sid}
}

// repair returns the commands that let a KMS host in the group, whose
// token is tok, update the node (sd, at dn), each step checked on a copy
// of the DACL: first the removal of every explicit deny ACE that decides
// against it (as `dsacls /R` would do it, the trustee's allow ACEs too),
// then the group's grant if it is still needed. An inherited deny ACE
// cannot be removed on the node: the commands stop there (describeDeny
// says where to remove it). Without the group, the grant names it.
func (j *judge) repair(sd *wire.SecurityDescriptor, dn string, tok wire.Token) []string {
	if sd == nil || sd.HasNullDACL() {
		return nil
	}
	sim := &wire.SecurityDescriptor{Revision: sd.Revision, Control: sd.Control, Owner: sd.Owner, Group: sd.Group,
		DACL: &wire.ACL{Revision: sd.DACL.Revision, ACEs: slices.Clone(sd.DACL.ACEs)}}
	var fix []string
	removed := map[string]bool{}
	for range 8 {
		acc := wire.CheckAccess(sim, tok)
		if acc.Verdict == wire.CanUpdate {
			return fix
		}
		if denies := denyACEs(sim, acc); len(denies) > 0 {
			for _, ace := range denies {
				sid := ace.SID.String()
				if ace.Flags&wire.ACEInherited != 0 || removed[sid] {
					return fix
				}
				removed[sid] = true
				trustee := j.trustee(ace.SID)
				fix = append(fix, j.fix.removeDeny(dn, trustee, sid)...)
				sim.DACL.ACEs = slices.DeleteFunc(sim.DACL.ACEs, func(a wire.ACE) bool {
					return a.Flags&wire.ACEInherited == 0 && a.SID.Equal(ace.SID) && (a.IsDeny() || trustee != "")
				})
			}
			continue
		}
		if !j.grp.report.Found {
			return append(fix, j.fix.grantByName(dn, j.groupName())...)
		}
		if _, added, err := wire.AddAllowACE(sim.DACL, grantACE(j.grp.sid)); err != nil || !added {
			return fix
		}
		fix = append(fix, j.fix.grant(dn, j.groupName(), j.grp.sid.String())...)
	}
	return fix
}

// zone judges one request.
func (j *judge) zone(rz reZone, zi *zoneInfo, n *nodeInfo, nodeErr error) Zone {
	z := Zone{Zone: rz.zone, Owner: rz.owner, Hosts: []HostAccess{}, Findings: []Finding{}}
	unknown := func(reason string) {
		for _, h := range rz.hosts {
			ha := HostAccess{Host: h.name, Verdict: VerdictUnknown, Reason: reason}
			if a := j.accts[h]; a != nil {
				ha.Account = a.sam
			}
			z.Hosts = append(z.Hosts, ha)
		}
	}
	if rz.err != "" {
		j.add(&z.Findings, KindReadError, "", nil, "%s", rz.err)
		unknown(rz.err)
		return z
	}
	if zi == nil {
		notSearched := ""
		if len(j.skipped) > 0 {
			notSearched = "; not searched: " + strings.Join(j.skipped, "; ") + ": if the zone is there, audit it against a DC that holds that partition"
		}
		j.add(&z.Findings, KindNotIntegrated, "", nil,
			"the zone %s is not in the directory (searched DomainDnsZones, ForestDnsZones and System of %s%s): it is not AD-integrated here, so AD permissions do not decide who may update it",
			rz.zone, j.c.domainDN, notSearched)
		unknown("the zone is not in the directory")
		return z
	}
	z.Partition, z.DN = zi.partition, zi.dn
	z.Aging, z.NoRefreshHours, z.RefreshHours = zi.aging, int(zi.noRefresh/time.Hour), int(zi.refresh/time.Hour)
	for _, p := range zi.problems {
		j.add(&z.Findings, KindReadError, "", nil, "the zone %s: %s", zi.dn, p)
	}
	if zi.allow != nil {
		z.AllowUpdate = zi.allow.String()
		switch *zi.allow {
		case wire.UpdateNone:
			j.add(&z.Findings, KindUpdateNone, "", j.fix.secureUpdates(rz.zone),
				"dynamic updates are off in %s: KMS hosts cannot publish themselves, records must be kept by hand (or by srvctl); to let them, allow secure updates (on Samba: smb.conf `allow dns updates = secure only`; Samba ignores the zone's setting)", rz.zone)
		case wire.UpdateNonsecureAndSecure:
			j.add(&z.Findings, KindUpdateNonsecure, "", j.fix.secureUpdates(rz.zone),
				"%s accepts nonsecure dynamic updates: anyone who can reach a DNS server can rewrite or delete %s, whatever its DACL; allow secure updates only (on Samba: smb.conf `allow dns updates = secure only`)", rz.zone, rz.owner)
		}
	}

	dn := nodeDN(rz.rel, zi.dn)
	if nodeErr != nil {
		j.add(&z.Findings, KindReadError, "", nil, "%v", nodeErr)
		unknown("the node could not be read")
		return z
	}
	groupSID := ""
	if j.grp.report.Found {
		groupSID = j.grp.sid.String()
	}
	if !n.exists {
		z.Node = &Node{DN: dn, Records: []Record{}}
		rec := zones.Record{Port: 1688}
		if len(rz.req.Desired) > 0 {
			rec = rz.req.Desired[0]
		} else if len(rz.hosts) > 0 {
			rec.Target = rz.hosts[0].name
		}
		if rec.Target == "" {
			rec.Target = "<kms host>"
		}
		fix := j.fix.precreate(rz.zone, rz.rel, rec)
		if groupSID != "" {
			fix = append(fix, j.fix.grant(dn, j.groupName(), groupSID)...)
		} else {
			fix = append(fix, j.fix.grantByName(dn, j.groupName())...)
		}
		j.add(&z.Findings, KindNoNode, "", fix,
			"no node %s: the first KMS host to publish will create and own it, and the others will be refused; pre-create the record as an administrator (a static record: never scavenged) and grant %s read and write on it",
			dn, j.fix.account(j.groupName()))
		unknown("no node: the first host to publish creates and owns it")
		j.served(&z, rz, nil)
		return z
	}

	node := &Node{DN: dn, Exists: true, Tombstoned: n.tombstoned, Records: []Record{}}
	z.Node = node
	for _, p := range n.problems {
		j.add(&z.Findings, KindReadError, "", nil, "%s: %s", dn, p)
	}
	j.records(&z, rz, zi, n)
	if n.sd == nil {
		unknown("the node's security descriptor could not be read")
		j.served(&z, rz, n.records)
		return z
	}
	sd := n.sd
	node.DACL = daclSDDL(sd)
	if sd.HasNullDACL() {
		j.add(&z.Findings, KindNullDACL, "", j.fix.nullDACL(dn, j.groupName(), groupSID),
			"%s has no DACL: every account may change or delete its records, and its DACL; give it the dnsNode class's default DACL (the schema's defaultSecurityDescriptor) and grant %s read and write on it",
			dn, j.fix.account(j.groupName()))
	}
	groupAccess := wire.Access{}
	if groupSID != "" {
		groupAccess = wire.CheckAccess(sd, memberToken(j.grp.sid))
	}
	// groupFix lets the group's members update: removes what denies them,
	// grants the group what it lacks.
	groupFix := func() []string {
		if groupSID == "" {
			return j.fix.grantByName(dn, j.groupName())
		}
		return j.repair(sd, dn, memberToken(j.grp.sid))
	}

	// The owner.
	if sd.Owner != nil {
		o := j.principal(*sd.Owner)
		node.Owner = o
		oname := cmp.Or(o.Name, o.SID)
		switch {
		case o.Host != "" && !o.Disabled:
		case !o.Found && sd.Owner.IsDomainSID():
			j.add(&z.Findings, KindOwnerDeleted, "", groupFix(),
				"the owner of %s, %s, names no account in %s (deleted, or of another domain): only the DACL decides who may update",
				rz.owner, o.SID, j.c.domainDN)
		case o.Disabled:
			j.add(&z.Findings, KindOwnerDisabled, o.Host, groupFix(),
				"the owner of %s, %s (%s), is disabled: it cannot refresh its record any more; other hosts need write access from the DACL",
				rz.owner, oname, o.SID)
		case o.Host == "" && !j.administrative(*sd.Owner) && o.Found && sd.Owner.IsDomainSID():
			j.add(&z.Findings, KindOwnerForeign, "", groupFix(),
				"the owner of %s is %s (%s), not a configured KMS host: it may change the node's DACL and records (a former KMS host?)",
				rz.owner, oname, o.SID)
		}
	}

	// Each host.
	for _, h := range rz.hosts {
		a := j.accts[h]
		if a == nil {
			z.Hosts = append(z.Hosts, HostAccess{Host: h.name, Verdict: VerdictUnknown, Reason: "no account"})
			continue
		}
		acc := wire.CheckAccess(sd, a.token())
		ha := HostAccess{Host: h.name, Account: a.sam, Owner: acc.Owner, Reason: explain(acc)}
		switch acc.Verdict {
		case wire.CanUpdate:
			ha.Verdict, ha.CanUpdate = VerdictCan, true
		case wire.DNSRecordOnly:
			ha.Verdict = VerdictRecordOnly
		default:
			ha.Verdict = VerdictCannot
		}
		if a.disabled() {
			ha.Verdict, ha.CanUpdate = VerdictCannot, false
			ha.Reason = "the account is disabled; the DACL alone would give: " + ha.Reason
		}
		z.Hosts = append(z.Hosts, ha)
		if a.disabled() {
			continue // account-disabled says it once
		}
		switch acc.Verdict {
		case wire.Cannot:
			why, fix := j.why(sd, dn, a, acc, groupAccess)
			j.add(&z.Findings, KindCannotUpdate, h.name, fix, "%s (%s) cannot update %s: %s; its dynamic updates are refused (REFUSED on Windows, SERVFAIL on Samba)",
				h.name, a.sam, rz.owner, why)
		case wire.DNSRecordOnly:
			fix, tok := j.membership(a)
			fix = append(fix, j.repair(sd, dn, tok)...)
			var cause string
			switch denies := denyACEs(sd, acc); {
			case len(denies) > 0:
				cause = j.describeDeny(denies[0])
			case j.grp.report.Found && !j.inGroup(a) && groupAccess.Verdict == wire.CanUpdate:
				cause = fmt.Sprintf("it is not in %s, which may write the node: add it", j.fix.account(j.groupName()))
			default:
				cause = "no ACE grants it write on dNSTombstoned: grant the group read and write on the node"
			}
			j.add(&z.Findings, KindRecordOnly, h.name, fix,
				"%s (%s) may write dnsRecord but not dNSTombstoned on %s (dnsRecord %s; dNSTombstoned %s): it can add and replace records, but deleting the last one fails; %s",
				h.name, a.sam, rz.owner, acc.DNSRecord, acc.DNSTombstoned, cause)
		}
	}
	j.served(&z, rz, n.records)
	return z
}

// membership returns the commands that put the account a in the group
// when it is not (none when the group is missing: why creates it), and
// its token once it is.
func (j *judge) membership(a *account) ([]string, wire.Token) {
	tok := a.token()
	if !j.grp.report.Found || j.inGroup(a) {
		return nil, tok
	}
	return j.fix.addMember(j.groupName(), a.sam), withGroup(tok, j.grp.sid)
}

// why explains why a host cannot update, and returns the fix.
func (j *judge) why(sd *wire.SecurityDescriptor, dn string, a *account, acc wire.Access, groupAccess wire.Access) (string, []string) {
	var parts []string
	denies := denyACEs(sd, acc)
	for _, ace := range denies {
		parts = append(parts, j.describeDeny(ace))
	}
	if len(denies) == 0 {
		owner := "the node's owner is " + j.ownerName(sd)
		if acc.Owner {
			owner = "it owns the node, but no ACE lets it write"
		}
		parts = append(parts, owner+"; no ACE grants it WriteProperty on dnsRecord")
	}
	fix, tok := j.membership(a)
	switch {
	case !j.grp.report.Found:
		parts = append(parts, fmt.Sprintf("the group %s does not exist", j.fix.account(j.groupName())))
		if j.grp.problem == "" {
			fix = append(fix, j.fix.createGroup(j.groupName())...)
			fix = append(fix, j.fix.addMember(j.groupName(), a.sam)...)
		}
	case !j.inGroup(a):
		parts = append(parts, fmt.Sprintf("it is not in %s", j.fix.account(j.groupName())))
		if groupAccess.Verdict != wire.CanUpdate {
			parts = append(parts, "and the group may not write the node either")
		}
	case groupAccess.Verdict != wire.CanUpdate:
		parts = append(parts, fmt.Sprintf("it is in %s, but the group may not write the node", j.fix.account(j.groupName())))
	}
	fix = append(fix, j.repair(sd, dn, tok)...)
	return strings.Join(parts, "; ") + " (" + explain(acc) + ")", fix
}

// explain is the access check's explanation without the verdict in front.
func explain(acc wire.Access) string {
	s, _ := strings.CutPrefix(acc.String(), acc.Verdict.String()+": ")
	return s
}

// ownerName names the node's owner.
func (j *judge) ownerName(sd *wire.SecurityDescriptor) string {
	if sd.Owner == nil {
		return "not known"
	}
	p := j.principal(*sd.Owner)
	if p.Name != "" {
		return p.Name
	}
	return p.SID
}

// records reports the node's records: static, stale, tombstoned. Only a
// zone that ages records moves a record's TimeStamp when its host
// refreshes it; without aging the TimeStamp stays when the record was
// added (or last changed), so its age says nothing about the host.
func (j *judge) records(z *Zone, rz reZone, zi *zoneInfo, n *nodeInfo) {
	window := 24*time.Hour + zi.noRefresh + zi.refresh
	for _, r := range n.records {
		switch {
		case r.Type == wire.TypeTombstone:
			z.Node.TombstonedAt = r.EntombedAt.UTC()
		case r.Type == wire.TypeSRV && r.SRV != nil:
			rec := Record{Record: zones.Record{Target: zones.Canonical(r.SRV.Target), Port: r.SRV.Port, Priority: r.SRV.Priority,
				Weight: r.SRV.Weight, TTL: r.TTL}, Serial: r.Serial, Static: r.Static()}
			if !rec.Static {
				rec.RefreshedAt = r.TimeStamp.UTC()
				if since := rec.RefreshedAt.Add(window); zi.aging && j.now.After(since) {
					rec.Stale, rec.StaleSince = true, since
				}
			}
			z.Node.Records = append(z.Node.Records, rec)
		}
	}
	slices.SortFunc(z.Node.Records, func(a, b Record) int { return zones.Compare(a.Record, b.Record) })
	if n.tombstoned {
		at := ""
		if !z.Node.TombstonedAt.IsZero() {
			at = " at " + z.Node.TombstonedAt.Format(time.RFC3339)
		}
		j.add(&z.Findings, KindTombstoned, "", nil,
			"%s was deleted%s and is tombstoned: it has no records, but keeps its owner (%s) and DACL: a host that publishes again does not become its owner and needs write access from the DACL",
			rz.owner, at, j.ownerName(orEmpty(n.sd)))
	}
	var dynamic []string
	for _, rec := range z.Node.Records {
		if !rec.Static {
			dynamic = append(dynamic, rec.Target)
		}
	}
	if len(dynamic) > 0 && !zi.aging {
		j.add(&z.Findings, KindAgeUnknown, "", j.fix.aging(rz.zone),
			"aging is off in %s: a refresh does not move a record's TimeStamp, so the directory cannot tell whether the hosts of %s (%s) still refresh them, and no record is a stale candidate; turn aging on to tell (scavenging, where the DNS server has it on, then deletes records not refreshed for %s + %s)",
			rz.zone, rz.owner, strings.Join(slices.Compact(slices.Sorted(slices.Values(dynamic))), ", "), hours(zi.noRefresh), hours(zi.refresh))
	}
	for _, rec := range z.Node.Records {
		switch {
		case rec.Static:
			j.add(&z.Findings, KindStatic, rec.Target, nil,
				"%s is a static record (TimeStamp 0): aging never scavenges it, so it stays when its host is gone", rec.Record)
		case rec.Stale:
			j.add(&z.Findings, KindStale, rec.Target, j.fix.deleteRecord(rz.zone, rz.rel, rec.Record),
				"%s stopped refreshing: last refreshed at %s, more than 24h (the KMS host's re-registration) + %s no-refresh + %s refresh ago: a stale candidate since %s; if its host is gone, delete the record (deleting the last one tombstones the node)",
				rec.Record, rec.RefreshedAt.Format(time.RFC3339), hours(zi.noRefresh), hours(zi.refresh), rec.StaleSince.Format(time.RFC3339))
		}
	}
}

// orEmpty returns sd, or an empty descriptor for nil.
func orEmpty(sd *wire.SecurityDescriptor) *wire.SecurityDescriptor {
	if sd == nil {
		return &wire.SecurityDescriptor{}
	}
	return sd
}

// hours prints a duration in whole hours.
func hours(d time.Duration) string { return fmt.Sprintf("%dh", int(d/time.Hour)) }

// served compares the directory's SRV records with what the DNS servers
// answer.
func (j *judge) served(z *Zone, rz reZone, recs []wire.DNSRecord) {
	if rz.req.Served == nil {
		return
	}
	var inLDAP []string
	for _, r := range recs {
		if r.Type == wire.TypeSRV && r.SRV != nil {
			inLDAP = append(inLDAP, zones.Record{Target: zones.Canonical(r.SRV.Target), Port: r.SRV.Port, Priority: r.SRV.Priority, Weight: r.SRV.Weight, TTL: r.TTL}.String())
		}
	}
	var inDNS []string
	for _, r := range rz.req.Served {
		r.Target = zones.Canonical(r.Target)
		inDNS = append(inDNS, r.String())
	}
	onlyLDAP, onlyDNS := minus(inLDAP, inDNS), minus(inDNS, inLDAP)
	if len(onlyLDAP) == 0 && len(onlyDNS) == 0 {
		return
	}
	var parts []string
	if len(onlyLDAP) > 0 {
		parts = append(parts, "the directory holds "+strings.Join(onlyLDAP, ", ")+", which the DNS servers do not answer")
	}
	if len(onlyDNS) > 0 {
		parts = append(parts, "the DNS servers answer "+strings.Join(onlyDNS, ", ")+", which the directory does not hold")
	}
	j.add(&z.Findings, KindDiffers, "", nil, "%s: %s (replication lag, another DC's copy, or DNS servers that do not serve this zone from AD)",
		rz.owner, strings.Join(parts, "; "))
}

// minus returns the elements of a not in b (as multisets), sorted.
func minus(a, b []string) []string {
	count := map[string]int{}
	for _, s := range b {
		count[s]++
	}
	var out []string
	for _, s := range a {
		if count[s] > 0 {
			count[s]--
			continue
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}
