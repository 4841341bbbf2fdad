// Package ad audits, over LDAP, who may update the _vlmcs._tcp records of
// Active Directory-integrated DNS zones, and grants the KMS host group
// write access where it lacks it.
//
// In AD-integrated DNS the first KMS host to register _vlmcs._tcp creates
// its dnsNode and owns it; every other KMS host's secure dynamic update is
// refused, silently, until a group of KMS hosts is granted write access on
// the node (Microsoft, "change the Default DNS Permissions for SRV
// Records"). [Client.Audit] says, per zone and per configured host,
// whether the host can update the node, which ACE decided, and the exact
// commands that fix what is wrong (dsacls and PowerShell for Windows,
// samba-tool for Samba). [Client.PlanGrant] and [Client.ApplyGrant] make
// that fix over LDAP: one allow ACE for the group, full control, added to
// the node's DACL; nothing is ever removed.
//
// The audit reads, with the LDAP_SERVER_SD_FLAGS control where security
// descriptors are involved:
//
//   - each zone object, searched in DomainDnsZones, ForestDnsZones and the
//     legacy System container (one one-level search per partition for all
//     zones), with its dynamic update and aging settings (dNSProperty);
//   - each zone's node: its records (dnsRecord, with their refresh times),
//     tombstone state and security descriptor (one base search per node);
//   - the KMS host group and its members, transitively
//     (LDAP_MATCHING_RULE_IN_CHAIN);
//   - each configured host's account, by dNSHostName or sAMAccountName (one
//     search for all hosts), and its tokenGroups (one base search per
//     account, however many zones name it);
//   - the owners of the nodes (one search for all of them).
//
// So the LDAP round trips grow with zones + hosts, never zones × hosts.
// The binary values are decoded and the access check made by
// [github.com/srvctl/srvctl/auditor/ad/wire].
//
// Reports render as text, JSON, a Monitoring Plugins status and a
// Prometheus text file, like the DNS audit's ([github.com/srvctl/srvctl/auditor]),
// whose levels they share. [Report.Refreshes] feeds the records' refresh
// times to the audit's stale detection.
package ad
