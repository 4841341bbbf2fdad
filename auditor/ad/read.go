package ad

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/srvctl/srvctl/auditor/ad/wire"
	"github.com/srvctl/srvctl/zones"
)

// What the directory reads return, before any judgement.

// zoneInfo is a zone found in the directory.
type zoneInfo struct {
	dn        string
	partition string
	base      string            // the partition's MicrosoftDNS container
	allow     *wire.AllowUpdate // nil: no ALLOW_UPDATE property
	aging     bool
	noRefresh time.Duration
	refresh   time.Duration
	problems  []string // properties that did not decode
}

// nodeInfo is a dnsNode as read.
type nodeInfo struct {
	dn         string
	exists     bool
	tombstoned bool
	sd         *wire.SecurityDescriptor
	records    []wire.DNSRecord
	problems   []string // values that did not decode
}

// account is a directory account with what the access check needs.
type account struct {
	dn          string
	sam         string
	dnsHostName string
	sid         wire.SID
	uac         int64
	groups      []wire.SID // tokenGroups
	tokenErr    error      // reading tokenGroups failed
}

// disabled reports ACCOUNTDISABLE (0x2) in userAccountControl.
func (a *account) disabled() bool { return a.uac&0x2 != 0 }

// serverTrust reports SERVER_TRUST_ACCOUNT (0x2000): a domain controller.
func (a *account) serverTrust() bool { return a.uac&0x2000 != 0 }

// token is the account's security token as the DNS server sees it when
// the host signs a secure dynamic update: a network logon with Kerberos
// (GSS-TSIG), and a domain controller's when the account is one.
func (a *account) token() wire.Token {
	return wire.NetworkToken(a.sid, wire.Logon{Kerberos: true, DomainController: a.serverTrust()}, a.groups...)
}

// withGroup is tok with the group g added, as it is once the account is
// made a member.
func withGroup(tok wire.Token, g wire.SID) wire.Token {
	if !tok.Contains(g) {
		tok.Groups = append(slices.Clip(tok.Groups), g)
	}
	return tok
}

// memberToken is the token of a KMS host that holds the group g and
// nothing else of note: what a grant to the group gives a member.
func memberToken(g wire.SID) wire.Token { return wire.NetworkToken(g, wire.Logon{Kerberos: true}) }

// accountAttrs are read for every account.
var accountAttrs = []string{"sAMAccountName", "dNSHostName", "objectSid", "userAccountControl"}

// parseAccount decodes an account entry.
func parseAccount(e *ldap.Entry) (*account, error) {
	sid, _, err := wire.ParseSID(e.GetRawAttributeValue("objectSid"))
	if err != nil {
		return nil, fmt.Errorf("objectSid of %s: %w", e.DN, err)
	}
	uac, _ := strconv.ParseInt(e.GetAttributeValue("userAccountControl"), 10, 64)
	return &account{dn: e.DN, sam: e.GetAttributeValue("sAMAccountName"), dnsHostName: e.GetAttributeValue("dNSHostName"),
		sid: sid, uac: uac}, nil
}

// orFilter joins terms into (|...) chunks of at most n terms, each wrapped
// as (&pre(|terms)).
func orFilters(pre string, terms []string, n int) []string {
	var out []string
	for chunk := range slices.Chunk(terms, n) {
		out = append(out, "(&"+pre+"(|"+strings.Join(chunk, "")+"))")
	}
	return out
}

// filterChunk is the number of terms per OR filter.
const filterChunk = 100

// sidFilterValue escapes a binary SID for a filter: every byte as \xx.
func sidFilterValue(s wire.SID) string {
	var b strings.Builder
	for _, c := range s.Bytes() {
		fmt.Fprintf(&b, "\\%02x", c)
	}
	return b.String()
}

// zoneRDN is the value of a zone's DC= RDN: its name without the
// trailing dot.
func zoneRDN(zone string) string {
	if zone == "." {
		return "."
	}
	return strings.TrimSuffix(zone, ".")
}

// partitions are where AD keeps DNS zones, in the order they are searched.
func (c *Client) partitions() []struct{ name, dn string } {
	return []struct{ name, dn string }{
		{"DomainDnsZones", "CN=MicrosoftDNS,DC=DomainDnsZones," + c.domainDN},
		{"ForestDnsZones", "CN=MicrosoftDNS,DC=ForestDnsZones," + c.forestDN},
		{"System", "CN=MicrosoftDNS,CN=System," + c.domainDN},
	}
}

// findZones finds the zones named (canonical) in the directory: per
// partition, a later one only for zones an earlier one lacks, one
// one-level search with the zones' names in an OR filter (one per 100
// zones), or, for more than 100 zones, one paged search for every zone of
// the partition, so that thousands of zones take a few pages, not
// thousands of filter terms. A partition this DC cannot search (absent,
// or held by another DC: a referral) is skipped; skipped says which and
// why.
func (c *Client) findZones(ctx context.Context, names []string) (found map[string]*zoneInfo, skipped []string, err error) {
	found = map[string]*zoneInfo{}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	for _, p := range c.partitions() {
		var terms []string
		for _, n := range names {
			if found[n] == nil {
				terms = append(terms, "(dc="+ldap.EscapeFilter(zoneRDN(n))+")")
			}
		}
		if len(terms) == 0 {
			break
		}
		filters := []string{"(objectClass=dnsZone)"}
		if len(terms) <= filterChunk {
			filters = orFilters("(objectClass=dnsZone)", terms, filterChunk)
		}
		for _, filter := range filters {
			entries, err := c.searchPaged(ctx, ldap.NewSearchRequest(p.dn, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
				filter, []string{"dc", "dNSProperty"}, nil))
			if skip, referral, why := partitionSkip(err); skip {
				if referral {
					skipped = append(skipped, p.name+" ("+why+")")
					c.log.Warn("DNS partition not searched: another DC holds it", zap.String("partition", p.dn), zap.String("why", why))
				} else {
					c.log.Debug("DNS partition not searched", zap.String("partition", p.dn), zap.String("why", why))
				}
				break
			}
			if err != nil {
				return nil, nil, fmt.Errorf("ad: searching zones in %s on %s: %w", p.dn, c.ep, err)
			}
			for _, e := range entries {
				name := zones.Canonical(e.GetAttributeValue("dc"))
				if want[name] && found[name] == nil {
					found[name] = parseZone(e, p.name, p.dn)
				}
			}
		}
	}
	return found, skipped, nil
}

// partitionSkip classifies the error of a search in a DNS partition's
// MicrosoftDNS container: skip is true when the search failed only
// because this DC cannot search there, which is no failure of the audit:
// the container does not exist here (no such object: the partition, or
// its MicrosoftDNS container, is absent), or another DC holds the
// partition (a referral, result code 10, e.g. ForestDnsZones asked of a DC
// that does not replicate it). referral tells the latter: a zone there is
// not seen. Every other error (nil included) is no skip.
func partitionSkip(err error) (skip, referral bool, why string) {
	var le *ldap.Error
	if err == nil || !errors.As(err, &le) {
		return false, false, ""
	}
	switch le.ResultCode {
	case ldap.LDAPResultNoSuchObject:
		return true, false, "no such container on this DC"
	case ldap.LDAPResultReferral:
		why = "this DC does not hold it: it referred the search to another DC"
		// AD names the DC in the diagnostic: "0000202B: RefErr: ...,
		// 1 access points\n\tref 1: 'corp.example'".
		if d := strings.Join(strings.Fields(le.Err.Error()), " "); d != "" {
			why += " (" + d + ")"
		}
		return true, true, why
	}
	return false, false, ""
}

// parseZone decodes a zone's dNSProperty values; base is the container
// it was found in.
func parseZone(e *ldap.Entry, partition, base string) *zoneInfo {
	z := &zoneInfo{dn: e.DN, partition: partition, base: base, noRefresh: wire.DefaultInterval, refresh: wire.DefaultInterval}
	for i, v := range e.GetRawAttributeValues("dNSProperty") {
		p, err := wire.ParseDNSProperty(v)
		if err != nil {
			z.problems = append(z.problems, fmt.Sprintf("dNSProperty value %d: %v", i, err))
			continue
		}
		switch p.ID {
		case wire.PropertyAllowUpdate:
			u, err := p.AllowUpdate()
			if err == nil {
				z.allow = &u
			}
			propErr(&z.problems, p, err)
		case wire.PropertyNoRefreshInterval, wire.PropertyRefreshInterval:
			d, err := p.Interval()
			if err == nil && d > 0 {
				if p.ID == wire.PropertyRefreshInterval {
					z.refresh = d
				} else {
					z.noRefresh = d
				}
			}
			propErr(&z.problems, p, err)
		case wire.PropertyAgingState:
			on, err := p.AgingEnabled()
			z.aging = err == nil && on
			propErr(&z.problems, p, err)
		}
	}
	return z
}

// propErr notes a property that did not decode.
func propErr(problems *[]string, p wire.DNSProperty, err error) {
	if err != nil {
		*problems = append(*problems, fmt.Sprintf("dNSProperty %s: %v", p.ID, err))
	}
}

// nodeAttrs are read of every node (with the SD flags control).
var nodeAttrs = []string{"dnsRecord", "dNSTombstoned", "nTSecurityDescriptor"}

// nodeRef is a node to read: its DN, its name relative to its zone, and
// the MicrosoftDNS container of its partition.
type nodeRef struct {
	dn, rel, base string
}

// readNodes reads the nodes of refs: per partition, one paged subtree
// search for the nodes of every zone there named like one of them (a node
// alone in its partition: one base search), so that the round trips do
// not grow with the zones; a node the search does not return does not
// exist. When a partition's search fails, its nodes are read one by one
// instead. The result and error of refs[i] are out[i] and errs[i].
func (c *Client) readNodes(ctx context.Context, refs []nodeRef) (out []*nodeInfo, errs []error) {
	out, errs = make([]*nodeInfo, len(refs)), make([]error, len(refs))
	byBase := map[string][]int{}
	var bases []string
	for i, r := range refs {
		if _, ok := byBase[r.base]; !ok {
			bases = append(bases, r.base)
		}
		byBase[r.base] = append(byBase[r.base], i)
	}
	var single []int
	for _, base := range bases {
		idx := byBase[base]
		if len(idx) == 1 {
			single = append(single, idx[0])
			continue
		}
		entries, err := c.searchNodes(ctx, base, refs, idx)
		if err != nil {
			if ctx.Err() != nil {
				for _, i := range idx {
					errs[i] = err
				}
				continue
			}
			c.log.Warn("searching the nodes of a partition failed; reading them one by one", zap.String("partition", base), zap.Error(err))
			single = append(single, idx...)
			continue
		}
		byKey := map[string]*ldap.Entry{}
		for _, e := range entries {
			byKey[dnKey(e.DN)] = e
		}
		for _, i := range idx {
			out[i] = parseNode(refs[i].dn, byKey[dnKey(refs[i].dn)])
		}
	}
	c.forEach(ctx, len(single), func(k int) {
		i := single[k]
		out[i], errs[i] = c.readNode(ctx, refs[i].dn)
	})
	if err := ctx.Err(); err != nil {
		for i := range errs {
			if out[i] == nil && errs[i] == nil {
				errs[i] = err
			}
		}
	}
	return out, errs
}

// searchNodes finds, below base, the dnsNode objects named like the nodes
// refs[idx] (one paged subtree search per 100 distinct names).
func (c *Client) searchNodes(ctx context.Context, base string, refs []nodeRef, idx []int) ([]*ldap.Entry, error) {
	var terms []string
	seen := map[string]bool{}
	for _, i := range idx {
		if r := refs[i].rel; !seen[r] {
			seen[r] = true
			terms = append(terms, "(name="+ldap.EscapeFilter(r)+")")
		}
	}
	var out []*ldap.Entry
	for _, filter := range orFilters("(objectClass=dnsNode)", terms, filterChunk) {
		entries, err := c.searchPaged(ctx, ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			filter, nodeAttrs, []ldap.Control{sdFlags(sdOwnerGroupDACL)}))
		if err != nil {
			return nil, fmt.Errorf("ad: searching the nodes in %s on %s: %w", base, c.ep, err)
		}
		out = append(out, entries...)
	}
	return out, nil
}

// dnKey is a DN in a form that compares equal for equal DNs: attribute
// types and values lower case, escaping undone.
func dnKey(dn string) string {
	p, err := ldap.ParseDN(dn)
	if err != nil {
		return strings.ToLower(dn)
	}
	var b strings.Builder
	for _, rdn := range p.RDNs {
		for _, a := range rdn.Attributes {
			fmt.Fprintf(&b, "%q=%q+", strings.ToLower(a.Type), strings.ToLower(a.Value))
		}
		b.WriteByte(',')
	}
	return b.String()
}

// readNode reads the node dn with a base search: records, tombstone state
// and security descriptor (owner, group and DACL).
func (c *Client) readNode(ctx context.Context, dn string) (*nodeInfo, error) {
	e, err := c.entry(ctx, dn, nodeAttrs, sdFlags(sdOwnerGroupDACL))
	if err != nil {
		return nil, fmt.Errorf("ad: reading %s on %s: %w", dn, c.ep, err)
	}
	return parseNode(dn, e), nil
}

// parseNode decodes the node dn from its entry; nil means it does not
// exist.
func parseNode(dn string, e *ldap.Entry) *nodeInfo {
	n := &nodeInfo{dn: dn}
	if e == nil {
		return n
	}
	n.exists = true
	n.tombstoned = strings.EqualFold(e.GetAttributeValue("dNSTombstoned"), "TRUE")
	for i, v := range e.GetRawAttributeValues("dnsRecord") {
		r, err := wire.ParseDNSRecord(v)
		if err != nil {
			n.problems = append(n.problems, fmt.Sprintf("dnsRecord value %d: %v", i, err))
			continue
		}
		if r.Type == wire.TypeTombstone {
			n.tombstoned = true
		}
		n.records = append(n.records, r)
	}
	raw := e.GetRawAttributeValue("nTSecurityDescriptor")
	if len(raw) == 0 {
		n.problems = append(n.problems, "no nTSecurityDescriptor returned (the bind account may not read it)")
	} else if sd, err := wire.ParseSecurityDescriptor(raw); err != nil {
		n.problems = append(n.problems, fmt.Sprintf("nTSecurityDescriptor: %v", err))
	} else {
		n.sd = sd
	}
	return n
}

// groupInfo is the KMS host group as read.
type groupInfo struct {
	report  Group
	sid     wire.SID
	members []*account
	problem string // why it was not found, beyond "no such group"
}

// findGroup finds the group and its transitive members.
func (c *Client) findGroup(ctx context.Context) (*groupInfo, error) {
	g, err := c.findGroupOnly(ctx)
	if err != nil || !g.report.Found {
		return g, err
	}
	members, err := c.searchPaged(ctx, ldap.NewSearchRequest(c.domainDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(&(memberOf:1.2.840.113556.1.4.1941:="+ldap.EscapeFilter(g.report.DN)+")(!(objectClass=group)))", accountAttrs, nil))
	if err != nil {
		return nil, fmt.Errorf("ad: reading the members of %s on %s: %w", g.report.DN, c.ep, err)
	}
	for _, m := range members {
		a, err := parseAccount(m)
		if err != nil {
			return nil, fmt.Errorf("ad: a member of %s on %s: %w", g.report.DN, c.ep, err)
		}
		g.members = append(g.members, a)
	}
	slices.SortFunc(g.members, func(a, b *account) int { return strings.Compare(strings.ToLower(a.sam), strings.ToLower(b.sam)) })
	return g, nil
}

// findGroupOnly finds the group: by sAMAccountName, then CN, or by DN
// when the name is one.
func (c *Client) findGroupOnly(ctx context.Context) (*groupInfo, error) {
	g := &groupInfo{report: Group{Name: c.group, Members: []Member{}}}
	attrs := []string{"sAMAccountName", "cn", "objectSid", "groupType"}
	var entries []*ldap.Entry
	if dn, err := ldap.ParseDN(c.group); err == nil && len(dn.RDNs) > 1 {
		e, err := c.entry(ctx, c.group, attrs)
		if err != nil {
			return nil, fmt.Errorf("ad: reading the group %s on %s: %w", c.group, c.ep, err)
		}
		if e != nil {
			entries = append(entries, e)
		}
	} else {
		v := ldap.EscapeFilter(c.group)
		var err error
		entries, err = c.searchPaged(ctx, ldap.NewSearchRequest(c.domainDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			"(&(objectClass=group)(|(sAMAccountName="+v+")(cn="+v+")))", attrs, nil))
		if err != nil {
			return nil, fmt.Errorf("ad: searching the group %q in %s on %s: %w", c.group, c.domainDN, c.ep, err)
		}
		// An exact sAMAccountName wins over CNs.
		if i := slices.IndexFunc(entries, func(e *ldap.Entry) bool { return strings.EqualFold(e.GetAttributeValue("sAMAccountName"), c.group) }); i >= 0 {
			entries = entries[i : i+1]
		}
	}
	switch len(entries) {
	case 0:
		return g, nil
	case 1:
	default:
		var dns []string
		for _, e := range entries {
			dns = append(dns, e.DN)
		}
		slices.Sort(dns)
		g.problem = fmt.Sprintf("%d groups have the CN %q (%s): configure the group by its sAMAccountName or DN", len(entries), c.group, strings.Join(dns, "; "))
		return g, nil
	}
	e := entries[0]
	sid, _, err := wire.ParseSID(e.GetRawAttributeValue("objectSid"))
	if err != nil {
		return nil, fmt.Errorf("ad: the group %s on %s: objectSid: %w", e.DN, c.ep, err)
	}
	gt, _ := strconv.ParseInt(e.GetAttributeValue("groupType"), 10, 64)
	g.sid = sid
	g.report.Found, g.report.DN, g.report.SAM, g.report.SID = true, e.DN, e.GetAttributeValue("sAMAccountName"), sid.String()
	g.report.GroupType = int32(gt)
	g.report.Scope, g.report.Security = groupScope(int32(gt))
	return g, nil
}

// groupScope decodes groupType (MS-ADTS 2.2.12).
func groupScope(gt int32) (scope string, security bool) {
	switch {
	case gt&0x2 != 0:
		scope = "global"
	case gt&0x4 != 0:
		scope = "domain local"
	case gt&0x8 != 0:
		scope = "universal"
	case gt&0x1 != 0:
		scope = "builtin"
	default:
		scope = "unknown"
	}
	return scope, uint32(gt)&0x80000000 != 0
}

// hostKey identifies a configured host: its name and the account it names.
type hostKey struct {
	name    string // canonical
	account string // as configured, "" for a dNSHostName lookup
}

// names reports whether a is the account h names: by sAMAccountName (the
// trailing $ optional) when h names one, else by dNSHostName.
func (h hostKey) names(a *account) bool {
	if h.account != "" {
		return strings.EqualFold(a.sam, h.account) || strings.EqualFold(a.sam, h.account+"$")
	}
	return strings.EqualFold(a.dnsHostName, strings.TrimSuffix(h.name, "."))
}

// findAccounts finds the accounts of the hosts (one search per 100 hosts)
// and reads each one's tokenGroups (a base search each, in parallel).
func (c *Client) findAccounts(ctx context.Context, hosts []hostKey) (map[hostKey]*account, error) {
	var terms []string
	for _, h := range hosts {
		if h.account != "" {
			a := ldap.EscapeFilter(h.account)
			terms = append(terms, "(sAMAccountName="+a+")")
			if !strings.HasSuffix(h.account, "$") {
				terms = append(terms, "(sAMAccountName="+a+"$)")
			}
		} else {
			terms = append(terms, "(dNSHostName="+ldap.EscapeFilter(strings.TrimSuffix(h.name, "."))+")")
		}
	}
	var all []*account
	for _, filter := range orFilters("(objectClass=user)", terms, filterChunk) {
		entries, err := c.searchPaged(ctx, ldap.NewSearchRequest(c.domainDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			filter, accountAttrs, nil))
		if err != nil {
			return nil, fmt.Errorf("ad: searching the hosts' accounts in %s on %s: %w", c.domainDN, c.ep, err)
		}
		for _, e := range entries {
			a, err := parseAccount(e)
			if err != nil {
				return nil, fmt.Errorf("ad: %s: %w", c.ep, err)
			}
			all = append(all, a)
		}
	}
	slices.SortFunc(all, func(a, b *account) int { return strings.Compare(a.dn, b.dn) })
	out := map[hostKey]*account{}
	byDN := map[string]*account{}
	for _, h := range hosts {
		var match *account
		for _, a := range all {
			if h.names(a) {
				match = a
				if h.account == "" || strings.EqualFold(a.sam, h.account) {
					break
				}
			}
		}
		if match != nil {
			out[h] = match
			byDN[match.dn] = match
		}
	}
	var list []*account
	for _, a := range byDN {
		list = append(list, a)
	}
	c.forEach(ctx, len(list), func(i int) {
		a := list[i]
		e, err := c.entry(ctx, a.dn, []string{"tokenGroups"})
		if err == nil && e == nil {
			err = fmt.Errorf("gone")
		}
		if err != nil {
			a.tokenErr = fmt.Errorf("ad: reading tokenGroups of %s on %s: %w", a.dn, c.ep, err)
			return
		}
		for _, v := range e.GetRawAttributeValues("tokenGroups") {
			if s, _, err := wire.ParseSID(v); err == nil {
				a.groups = append(a.groups, s)
			}
		}
	})
	return out, ctx.Err()
}

// resolveSIDs reads the accounts of the domain and builtin SIDs among sids
// (one search per 100); SIDs not in the result name no account there.
func (c *Client) resolveSIDs(ctx context.Context, sids []wire.SID) (map[string]*account, error) {
	out := map[string]*account{}
	var terms []string
	seen := map[string]bool{}
	for _, s := range sids {
		str := s.String()
		if seen[str] || !searchable(s) {
			continue
		}
		seen[str] = true
		terms = append(terms, "(objectSid="+sidFilterValue(s)+")")
	}
	for _, filter := range orFilters("", terms, filterChunk) {
		entries, err := c.searchPaged(ctx, ldap.NewSearchRequest(c.domainDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			filter, accountAttrs, nil))
		if err != nil {
			return nil, fmt.Errorf("ad: resolving SIDs in %s on %s: %w", c.domainDN, c.ep, err)
		}
		for _, e := range entries {
			a, err := parseAccount(e)
			if err != nil {
				return nil, fmt.Errorf("ad: %s: %w", c.ep, err)
			}
			out[a.sid.String()] = a
		}
	}
	return out, nil
}

// searchable reports whether a SID may name an object of the domain: a
// domain account (S-1-5-21-…) or a builtin group (S-1-5-32-…).
func searchable(s wire.SID) bool {
	return s.IsDomainSID() || s.Authority == 5 && len(s.SubAuthorities) == 2 && s.SubAuthorities[0] == 32
}

// parallel is how many base searches are in flight at once.
const parallel = 8

// forEach runs fn(0..n-1) with at most parallel at once, and waits for
// all of them.
func (c *Client) forEach(ctx context.Context, n int, fn func(i int)) {
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i)
		})
	}
	wg.Wait()
}
