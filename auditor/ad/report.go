package ad

import (
	"slices"
	"time"

	"github.com/srvctl/srvctl/auditor"
	"github.com/srvctl/srvctl/zones"
)

// Kind names a kind of finding. Kinds are a public interface (JSON,
// Severity overrides, Prometheus labels): add, never rename.
type Kind string

// The kinds of findings.
const (
	// Zones.
	KindNotIntegrated   Kind = "not-ad-integrated" // the zone is not in the directory
	KindUpdateNone      Kind = "update-none"       // dynamic updates off: KMS hosts cannot publish themselves
	KindUpdateNonsecure Kind = "update-nonsecure"  // nonsecure updates: anyone on the network can rewrite the record
	KindReadError       Kind = "read-error"        // something of the zone could not be read

	// The node.
	KindNoNode     Kind = "no-node"    // no node: the first host to publish will own it
	KindTombstoned Kind = "tombstoned" // the node is tombstoned: no records, old owner and DACL kept
	KindNullDACL   Kind = "null-dacl"  // the node has no DACL: anyone may write it

	// Who can update.
	KindCannotUpdate Kind = "cannot-update"  // a configured host's updates are refused
	KindRecordOnly   Kind = "dnsrecord-only" // a host may write dnsRecord but not dNSTombstoned

	// The owner of the node.
	KindOwnerDisabled Kind = "owner-disabled"       // the owner's account is disabled
	KindOwnerDeleted  Kind = "owner-deleted"        // the owner's SID names no account
	KindOwnerForeign  Kind = "owner-not-configured" // the owner is an account that is not a configured host

	// Records.
	KindStale      Kind = "stopped-refreshing" // a record's host stopped refreshing it: a stale candidate
	KindAgeUnknown Kind = "age-unknown"        // aging is off: refreshes do not move TimeStamps, so no record's age can be judged
	KindStatic     Kind = "static"             // a static record: never scavenged
	KindDiffers    Kind = "differs-from-dns"   // the directory holds other records than the DNS servers answer

	// The group and the accounts.
	KindNoGroup         Kind = "no-group"         // the KMS host group does not exist
	KindGroupType       Kind = "group-type"       // the group is not a global security group
	KindNotInGroup      Kind = "not-in-group"     // a configured host is not in the group
	KindExtraMember     Kind = "extra-member"     // a group member that is not a configured host
	KindNoAccount       Kind = "no-account"       // a configured host has no computer account
	KindAccountDisabled Kind = "account-disabled" // a configured host's account is disabled
)

// defaultLevel is the level of a finding of kind k unless
// Options.Severity says otherwise.
var defaultLevel = map[Kind]auditor.Level{
	KindNotIntegrated: auditor.Warning, KindUpdateNone: auditor.Warning, KindUpdateNonsecure: auditor.Warning,
	KindReadError: auditor.Unknown, KindNoNode: auditor.Warning, KindTombstoned: auditor.Warning,
	KindNullDACL: auditor.Warning, KindCannotUpdate: auditor.Critical, KindRecordOnly: auditor.Warning,
	KindOwnerDisabled: auditor.Warning, KindOwnerDeleted: auditor.Warning, KindOwnerForeign: auditor.Warning,
	KindStale: auditor.Warning, KindAgeUnknown: auditor.OK, KindStatic: auditor.OK, KindDiffers: auditor.Warning,
	KindNoGroup: auditor.Warning, KindGroupType: auditor.Warning, KindNotInGroup: auditor.Warning,
	KindExtraMember: auditor.Warning, KindNoAccount: auditor.Warning, KindAccountDisabled: auditor.Warning,
}

// Kinds returns every kind of finding, sorted.
func Kinds() []Kind {
	var out []Kind
	for k := range defaultLevel {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Finding is one fact that needs attention (or, at OK, is worth knowing),
// with the commands that fix it when there are any.
type Finding struct {
	Kind  Kind          `json:"kind"`
	Level auditor.Level `json:"level"`
	// Host is the configured host (or the account) it is about.
	Host   string `json:"host,omitempty"`
	Detail string `json:"detail"`
	// Fix holds the commands that fix it, each complete: dsacls and
	// PowerShell for Windows, samba-tool for Samba, with placeholders in
	// angle brackets (<admin>) where srvctl cannot know the value.
	Fix []string `json:"fix,omitempty"`
}

// Report is the AD permission audit.
type Report struct {
	Time     time.Time     `json:"time"`
	Duration time.Duration `json:"duration_ns"`
	Level    auditor.Level `json:"level"`
	// Server is the DC's host name, URL the address srvctl connected to,
	// User the account it bound as.
	Server   string `json:"server"`
	URL      string `json:"url"`
	User     string `json:"user"`
	Domain   string `json:"domain"`    // NetBIOS name
	DomainDN string `json:"domain_dn"` // base DN
	Group    Group  `json:"group"`
	// Accounts are the computer accounts of the configured hosts, in the
	// order the requests first name them.
	Accounts []Account `json:"accounts"`
	// Findings are about the group and the accounts, not one zone.
	Findings []Finding `json:"findings"`
	Zones    []Zone    `json:"zones"`
	// Operations is the number of LDAP operations the audit took.
	Operations int64 `json:"ldap_operations"`
}

// Group is the KMS host group.
type Group struct {
	// Name is the group as configured.
	Name  string `json:"name"`
	Found bool   `json:"found"`
	DN    string `json:"dn,omitempty"`
	// SAM is its sAMAccountName, the name in DOMAIN\name.
	SAM string `json:"sam_account_name,omitempty"`
	SID string `json:"sid,omitempty"`
	// GroupType is the raw groupType; Scope is "global", "domain local",
	// "universal" or "builtin"; Security says it is a security group (only
	// those are in tokens).
	GroupType int32  `json:"group_type,omitempty"`
	Scope     string `json:"scope,omitempty"`
	Security  bool   `json:"security"`
	// Members are its members, transitively (nested groups resolved; the
	// groups themselves not listed), sorted by sAMAccountName.
	Members []Member `json:"members"`
}

// Member is an account in the group.
type Member struct {
	DN          string `json:"dn"`
	SAM         string `json:"sam_account_name"`
	DNSHostName string `json:"dns_host_name,omitempty"`
	SID         string `json:"sid"`
	Disabled    bool   `json:"disabled"`
	// Host is the configured host this account is, "" for none.
	Host string `json:"host,omitempty"`
}

// Account is the computer account of a configured host.
type Account struct {
	// Host is the configured host name; Lookup says how the account was
	// found: "dNSHostName" or "sAMAccountName".
	Host   string `json:"host"`
	Lookup string `json:"lookup"`
	Found  bool   `json:"found"`
	DN     string `json:"dn,omitempty"`
	SAM    string `json:"sam_account_name,omitempty"`
	// DNSHostName is the account's dNSHostName.
	DNSHostName string `json:"dns_host_name,omitempty"`
	SID         string `json:"sid,omitempty"`
	Disabled    bool   `json:"disabled"`
	InGroup     bool   `json:"in_group"`
	// TokenGroups are the SIDs of its groups, transitively (tokenGroups),
	// sorted.
	TokenGroups []string `json:"token_groups,omitempty"`
}

// Zone is the audit of one zone's node.
type Zone struct {
	Zone string `json:"zone"`
	// Owner is the audited name, absolute ("_vlmcs._tcp.corp.example.com.").
	Owner string        `json:"owner"`
	Level auditor.Level `json:"level"`
	// Partition is where the zone lives: "DomainDnsZones",
	// "ForestDnsZones" or "System" (legacy); "" when it is not in the
	// directory.
	Partition string `json:"partition"`
	DN        string `json:"dn,omitempty"`
	// AllowUpdate is the dynamic update setting: "none", "nonsecure and
	// secure", "secure only", or "" when the zone does not say.
	AllowUpdate string `json:"allow_update,omitempty"`
	// Aging and the intervals (hours) decide when a record is stale.
	Aging          bool `json:"aging"`
	NoRefreshHours int  `json:"no_refresh_hours,omitempty"`
	RefreshHours   int  `json:"refresh_hours,omitempty"`
	// Node is the audited node; nil when the zone is not in the directory
	// or could not be read.
	Node *Node `json:"node,omitempty"`
	// Hosts says for each configured host whether it can update the node.
	Hosts    []HostAccess `json:"hosts"`
	Findings []Finding    `json:"findings"`
}

// Node is the dnsNode of the audited name.
type Node struct {
	DN     string `json:"dn"`
	Exists bool   `json:"exists"`
	// Tombstoned nodes have no records; TombstonedAt is when the last one
	// was deleted.
	Tombstoned   bool       `json:"tombstoned"`
	TombstonedAt time.Time  `json:"tombstoned_at,omitzero"`
	Owner        *Principal `json:"owner,omitempty"`
	// DACL is the node's DACL in SDDL.
	DACL    string   `json:"dacl,omitempty"`
	Records []Record `json:"records"`
}

// Principal is a SID and what the directory says of it.
type Principal struct {
	SID string `json:"sid"`
	// Name is DOMAIN\sAMAccountName, or the well-known name.
	Name string `json:"name,omitempty"`
	DN   string `json:"dn,omitempty"`
	// Found is false for a domain SID that names no account: deleted, or
	// of another domain.
	Found    bool `json:"found"`
	Disabled bool `json:"disabled"`
	// Host is the configured host this account is, "" for none.
	Host string `json:"host,omitempty"`
}

// Record is one SRV record of the node.
type Record struct {
	zones.Record
	Serial uint32 `json:"serial"`
	// Static records (TimeStamp 0) are never scavenged.
	Static bool `json:"static"`
	// RefreshedAt is the record's TimeStamp (to the hour): in a zone that
	// ages records (Zone.Aging), when a dynamic update last refreshed it;
	// without aging, refreshes leave it alone and it is when the record
	// was added or last changed.
	RefreshedAt time.Time `json:"refreshed_at,omitzero"`
	// Stale reports that the zone ages records and RefreshedAt is older
	// than 24 h plus the zone's no-refresh and refresh intervals: its
	// host stopped refreshing it. StaleSince is when it crossed that line.
	// Without aging no record is stale: its age cannot be judged.
	Stale      bool      `json:"stale"`
	StaleSince time.Time `json:"stale_since,omitzero"`
}

// Verdicts of HostAccess.
const (
	VerdictCan        = "can update"
	VerdictRecordOnly = "dnsRecord only"
	VerdictCannot     = "cannot update"
	VerdictUnknown    = "unknown"
)

// HostAccess is whether a configured host can update the node, and why.
type HostAccess struct {
	Host    string `json:"host"`
	Account string `json:"account,omitempty"` // sAMAccountName
	// Verdict is VerdictCan, VerdictRecordOnly, VerdictCannot or
	// VerdictUnknown (no account, no node).
	Verdict string `json:"verdict"`
	// CanUpdate: the host can add and delete its records.
	CanUpdate bool `json:"can_update"`
	// Owner: the host's account owns the node.
	Owner bool `json:"owner"`
	// Reason is the access check's explanation: which ACE decided.
	Reason string `json:"reason"`
}

// Refresh is what the directory says of one SRV record's refreshes.
type Refresh struct {
	Zone     string `json:"zone"`
	Target   string `json:"target"`
	Port     uint16 `json:"port"`
	Priority uint16 `json:"priority"`
	Weight   uint16 `json:"weight"`
	// Static records are never refreshed and never scavenged.
	Static bool `json:"static"`
	// Aging reports that the zone ages records: only then does a refresh
	// move LastRefresh, and only then is Stale decided.
	Aging bool `json:"aging"`
	// LastRefresh is the record's TimeStamp: when its host last refreshed
	// it if Aging, else when it was added or last changed.
	LastRefresh time.Time `json:"last_refresh,omitzero"`
	// Stale: Aging, and the host stopped refreshing (LastRefresh is older
	// than 24 h plus the zone's no-refresh and refresh intervals) since
	// StaleSince.
	Stale      bool      `json:"stale"`
	StaleSince time.Time `json:"stale_since,omitzero"`
}

// Refreshes lists, per zone and SRV record, what the directory says of
// its refreshes: its TimeStamp, whether the zone ages records (without
// aging a TimeStamp says nothing about refreshes) and whether the record
// is stale by the zone's intervals. The audit only reports them (and
// WritePrometheus exports them); what to do with a stale record, e.g.
// count it as a stale candidate in the DNS audit's stale detection or
// delete it, is the caller's decision.
func (r *Report) Refreshes() []Refresh {
	var out []Refresh
	for _, z := range r.Zones {
		if z.Node == nil {
			continue
		}
		for _, rec := range z.Node.Records {
			out = append(out, Refresh{Zone: z.Zone, Target: rec.Target, Port: rec.Port, Priority: rec.Priority, Weight: rec.Weight,
				Static: rec.Static, Aging: z.Aging, LastRefresh: rec.RefreshedAt, Stale: rec.Stale, StaleSince: rec.StaleSince})
		}
	}
	return out
}

// worse returns the level that matters more: Critical over Unknown over
// Warning over OK (as auditor ranks them).
func worse(a, b auditor.Level) auditor.Level {
	rank := func(l auditor.Level) int {
		switch l {
		case auditor.Warning:
			return 1
		case auditor.Unknown:
			return 2
		case auditor.Critical:
			return 3
		}
		return 0
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}
