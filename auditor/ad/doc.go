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
// that fix over LDAP: one allow ACE for the group, read and write of the
// node's properties (RPWP: enough to add and delete records, the last one
// included; no WRITE_DAC or WRITE_OWNER, so that one compromised KMS host
// cannot take the node from the others), added to the node's DACL;
// nothing is ever removed.
//
// A host's access is checked with the token the DNS server builds for the
// signer of a secure (GSS-TSIG) update: the account, its groups
// (tokenGroups), Everyone, Authenticated Users, NETWORK, This Organization
// and Authentication authority asserted identity, and Enterprise Domain
// Controllers for a domain controller's account.
//
// The audit reads, with the LDAP_SERVER_SD_FLAGS control where security
// descriptors are involved:
//
//   - the zone objects, searched in DomainDnsZones, ForestDnsZones and the
//     legacy System container: one one-level search per partition for up
//     to 100 zones (a later partition only for zones an earlier one
//     lacks), or one paged search of all the partition's zones for more;
//     a partition the DC does not hold (a referral) is skipped and named
//     in the findings of the zones not found;
//   - the nodes: one paged subtree search per partition for the nodes of
//     that name (a node alone in its partition: one base search), with
//     their records (dnsRecord, with their TimeStamps), tombstone state
//     and security descriptor;
//   - the KMS host group and its members, transitively
//     (LDAP_MATCHING_RULE_IN_CHAIN): two operations;
//   - the configured hosts' accounts, by dNSHostName or sAMAccountName
//     (one search per 100 hosts), and each account's tokenGroups (one
//     base search per account, however many zones name it);
//   - the owners and the subjects of deny ACEs not already known (one
//     search per 100).
//
// So the LDAP operations grow with the hosts, not with the zones: on a
// Samba DC, 20 AD-integrated zones × 3 hosts take 9 (a base search per
// node took 28), 1000 zones × 3 hosts 12 (see TestRoundTrips); each page
// of 500 entries of a paged search counts as one, so a partition holding
// many more zones than the audit covers costs a page per 500 of them.
//
// A record's TimeStamp tells when its host last refreshed it only in a
// zone that ages records: without aging a refresh leaves it alone, so the
// audit flags a record as stopped refreshing (a stale candidate) only in a
// zone with aging on, and otherwise says that the records' age cannot be
// judged.
//
// Reports render as text, JSON, a Monitoring Plugins status and a
// Prometheus text file, like the DNS audit's ([github.com/srvctl/srvctl/auditor]),
// whose levels they share. [Report.Refreshes] lists what the directory
// says of each record's refreshes; the audit only reports it: what to do
// with a stale record (count it in the DNS audit's stale detection,
// delete it) is the caller's decision.
package ad
