package ad

import (
	"encoding/base64"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/srvctl/srvctl/auditor/ad/wire"
	"github.com/srvctl/srvctl/zones"
)

// Fix commands. Every value is quoted for the shell that runs the
// command: POSIX sh for samba-tool (single quotes, and `--` before the
// positional arguments, so that a name starting with - is no option),
// PowerShell (single
// quotes, the typographic ones doubled too) and cmd.exe for dsacls and
// dnscmd (double quotes, which cmd cannot escape: a value that holds one,
// or a %, is not put on a cmd line at all; the line says to use
// PowerShell instead). A value with control characters is printed in no
// command.

// fixer renders the commands for one domain controller and domain.
type fixer struct {
	dc     string // the DC's host name
	domain string // NetBIOS name
}

// adminUser is the placeholder for the account an administrator runs
// samba-tool as.
const adminUser = "<admin>"

// sambaConn is samba-tool's connection options.
func (f fixer) sambaConn() string {
	return "-H " + shQuote("ldaps://"+f.dc) + " -U " + shQuote(f.domain+`\`+adminUser)
}

// account is DOMAIN\name.
func (f fixer) account(name string) string { return f.domain + `\` + name }

// grantRights are what a grant gives the group on the node: read and
// write every property (RPWP), which covers dnsRecord and dNSTombstoned,
// so its members can add, change and delete records, the last one
// included; and nothing more: no WRITE_DAC, WRITE_OWNER or DELETE, which
// would let one compromised KMS host take the node from the others.
const grantRights = wire.RightReadProperty | wire.RightWriteProperty

// psGrantRights are grantRights as PowerShell names them.
const psGrantRights = "'ReadProperty, WriteProperty'"

// grant allows the group to read and write the properties of the node dn.
func (f fixer) grant(dn, group, groupSID string) []string {
	if bad := unprintable(dn, group, groupSID); bad != "" {
		return []string{bad}
	}
	return []string{
		cmdLine("dsacls", cmdArg(dn), "/G", cmdArg(f.account(group)+":"+grantRights.SDDL())),
		"Import-Module ActiveDirectory; $acl = Get-Acl -Path " + psPath("AD:"+dn) +
			"; $acl.AddAccessRule((New-Object System.DirectoryServices.ActiveDirectoryAccessRule -ArgumentList ([System.Security.Principal.SecurityIdentifier]" +
			psQuote(groupSID) + "), " + psGrantRights + ", 'Allow')); Set-Acl -Path " + psPath("AD:"+dn) + " -AclObject $acl",
		"samba-tool dsacl set " + f.sambaConn() + " --objectdn=" + shQuote(dn) + " --sddl=" + shQuote("(A;;"+grantRights.SDDL()+";;;"+groupSID+")"),
	}
}

// grantByName is grant for a group that does not exist yet: PowerShell
// names it, samba-tool needs its SID once it exists.
func (f fixer) grantByName(dn, group string) []string {
	if bad := unprintable(dn, group); bad != "" {
		return []string{bad}
	}
	return []string{
		cmdLine("dsacls", cmdArg(dn), "/G", cmdArg(f.account(group)+":"+grantRights.SDDL())),
		"Import-Module ActiveDirectory; $acl = Get-Acl -Path " + psPath("AD:"+dn) +
			"; $acl.AddAccessRule((New-Object System.DirectoryServices.ActiveDirectoryAccessRule -ArgumentList ((Get-ADGroup -Identity " +
			psQuote(group) + ").SID, " + psGrantRights + ", 'Allow')); Set-Acl -Path " + psPath("AD:"+dn) + " -AclObject $acl",
		"samba-tool dsacl set " + f.sambaConn() + " --objectdn=" + shQuote(dn) + " --sddl=" + shQuote("(A;;"+grantRights.SDDL()+";;;<SID of the group>)"),
	}
}

// nullDACL gives the node dn, which has no DACL, the default DACL of the
// dnsNode class (the schema's defaultSecurityDescriptor), then grants the
// group (groupSID "" when it does not exist yet). Samba is not offered a
// command: it keeps a node's DACL when a descriptor without one is
// written, so its nodes do not lose theirs that way.
func (f fixer) nullDACL(dn, group, groupSID string) []string {
	if bad := unprintable(dn, group, groupSID); bad != "" {
		return []string{bad}
	}
	sid := "(Get-ADGroup -Identity " + psQuote(group) + ").SID"
	if groupSID != "" {
		sid = "([System.Security.Principal.SecurityIdentifier]" + psQuote(groupSID) + ")"
	}
	return []string{
		cmdLine("dsacls", cmdArg(dn), "/S"),
		cmdLine("dsacls", cmdArg(dn), "/G", cmdArg(f.account(group)+":"+grantRights.SDDL())),
		"Import-Module ActiveDirectory; $d = (Get-ADObject -SearchBase (Get-ADRootDSE).schemaNamingContext -LDAPFilter '(lDAPDisplayName=dnsNode)' -Properties defaultSecurityDescriptor).defaultSecurityDescriptor; " +
			"$acl = Get-Acl -Path " + psPath("AD:"+dn) + "; $acl.SetSecurityDescriptorSddlForm($d, 'Access'); " +
			"$acl.AddAccessRule((New-Object System.DirectoryServices.ActiveDirectoryAccessRule -ArgumentList " + sid + ", " + psGrantRights + ", 'Allow')); " +
			"Set-Acl -Path " + psPath("AD:"+dn) + " -AclObject $acl",
	}
}

// addMember adds the account member (a sAMAccountName) to the group.
func (f fixer) addMember(group, member string) []string {
	if bad := unprintable(group, member); bad != "" {
		return []string{bad}
	}
	return []string{
		"samba-tool group addmembers " + f.sambaConn() + " -- " + shQuote(group) + " " + shQuote(member),
		"Add-ADGroupMember -Identity " + psQuote(group) + " -Members " + psQuote(member),
	}
}

// removeMember removes the account member from the group.
func (f fixer) removeMember(group, member string) []string {
	if bad := unprintable(group, member); bad != "" {
		return []string{bad}
	}
	return []string{
		"samba-tool group removemembers " + f.sambaConn() + " -- " + shQuote(group) + " " + shQuote(member),
		"Remove-ADGroupMember -Identity " + psQuote(group) + " -Members " + psQuote(member) + " -Confirm:$false",
	}
}

// createGroup creates the group as a global security group.
func (f fixer) createGroup(group string) []string {
	if bad := unprintable(group); bad != "" {
		return []string{bad}
	}
	return []string{
		"samba-tool group add " + f.sambaConn() + " --group-scope=Global --group-type=Security -- " + shQuote(group),
		"New-ADGroup -Name " + psQuote(group) + " -SamAccountName " + psQuote(group) + " -GroupScope Global -GroupCategory Security",
	}
}

// removeDeny removes the explicit deny ACEs of sid from the node dn.
// trustee is DOMAIN\name of sid when dsacls may be used: `dsacls /R`
// removes every explicit ACE of the trustee, allows too, so it is offered
// only for a domain account or group, "" otherwise. Samba 4.17's
// samba-tool cannot remove an ACE.
func (f fixer) removeDeny(dn, trustee, sid string) []string {
	if bad := unprintable(dn, trustee, sid); bad != "" {
		return []string{bad}
	}
	var out []string
	if trustee != "" {
		out = append(out, cmdLine("dsacls", cmdArg(dn), "/R", cmdArg(trustee)))
	}
	return append(out, "Import-Module ActiveDirectory; $acl = Get-Acl -Path "+psPath("AD:"+dn)+
		"; $acl.GetAccessRules($true, $false, [System.Security.Principal.SecurityIdentifier]) | Where-Object { $_.AccessControlType -eq 'Deny' -and $_.IdentityReference.Value -eq "+
		psQuote(sid)+" } | ForEach-Object { [void]$acl.RemoveAccessRuleSpecific($_) }; Set-Acl -Path "+psPath("AD:"+dn)+" -AclObject $acl")
}

// enableAccount enables the account sam (a sAMAccountName).
func (f fixer) enableAccount(sam string) []string {
	if bad := unprintable(sam); bad != "" {
		return []string{bad}
	}
	return []string{
		"samba-tool user enable " + f.sambaConn() + " -- " + shQuote(sam),
		"Enable-ADAccount -Identity " + psQuote(sam),
	}
}

// groupTypes are the groupType values of security groups (MS-ADTS
// 2.2.12).
const (
	globalSecurity    int32 = -2147483646 // 0x80000002
	universalSecurity int32 = -2147483640 // 0x80000008
)

// groupType makes the group (DN dn, sAMAccountName sam; its scope and
// whether it is a security group as read) a global security group. A
// domain local group becomes universal first: Active Directory refuses
// domain local → global. samba-tool has no command for it
// (`samba-tool group edit` runs an editor), so Samba is given the same
// change as an LDIF for ldapmodify, with the DN base64-encoded so that no
// name can break the LDIF. A builtin group cannot change: nil.
func (f fixer) groupType(dn, sam, scope string) []string {
	if bad := unprintable(dn, sam); bad != "" {
		return []string{bad}
	}
	var steps []int32
	var ps []string
	switch scope {
	case "global", "universal":
	case "domain local":
		steps = append(steps, universalSecurity)
		ps = append(ps, "Set-ADGroup -Identity "+psQuote(sam)+" -GroupScope Universal")
	default:
		return nil
	}
	steps = append(steps, globalSecurity)
	ps = append(ps, "Set-ADGroup -Identity "+psQuote(sam)+" -GroupCategory Security -GroupScope Global")
	var ldif []string
	for i, gt := range steps {
		if i > 0 {
			ldif = append(ldif, "")
		}
		ldif = append(ldif, "dn:: "+base64.StdEncoding.EncodeToString([]byte(dn)), "changetype: modify", "replace: groupType", fmt.Sprintf("groupType: %d", gt), "-")
	}
	var q []string
	for _, l := range ldif {
		q = append(q, shQuote(l))
	}
	return []string{
		strings.Join(ps, "; "),
		"printf '%s\\n' " + strings.Join(q, " ") + " | ldapmodify -H " + shQuote("ldaps://"+f.dc) + " -D " + shQuote(adminDN) + " -W",
	}
}

// adminDN is the placeholder for the DN of the account an administrator
// runs ldapmodify as.
const adminDN = "<admin DN>"

// deleteRecord deletes the SRV record rec of rel (relative to zone).
// Deleting the last record tombstones the node.
func (f fixer) deleteRecord(zone, rel string, rec zones.Record) []string {
	z, target := strings.TrimSuffix(zone, "."), strings.TrimSuffix(rec.Target, ".")
	if bad := unprintable(z, rel, target); bad != "" {
		return []string{bad}
	}
	return []string{
		cmdLine("dnscmd", cmdArg(f.dc), "/recorddelete", cmdArg(z), cmdArg(rel), "SRV", fmt.Sprint(rec.Priority), fmt.Sprint(rec.Weight), fmt.Sprint(rec.Port), cmdArg(target), "/f"),
		"Get-DnsServerResourceRecord -ComputerName " + psQuote(f.dc) + " -ZoneName " + psQuote(z) + " -Name " + psQuote(rel) + " -RRType Srv | Where-Object { " +
			fmt.Sprintf("$_.RecordData.DomainName.TrimEnd('.') -eq %s -and $_.RecordData.Port -eq %d -and $_.RecordData.Priority -eq %d -and $_.RecordData.Weight -eq %d", psQuote(target), rec.Port, rec.Priority, rec.Weight) +
			" } | Remove-DnsServerResourceRecord -ComputerName " + psQuote(f.dc) + " -ZoneName " + psQuote(z) + " -Force",
		"samba-tool dns delete -U " + shQuote(f.domain+`\`+adminUser) + " -- " + shQuote(f.dc) + " " + shQuote(z) + " " + shQuote(rel) + " SRV " +
			shQuote(fmt.Sprintf("%s %d %d %d", target, rec.Port, rec.Priority, rec.Weight)),
	}
}

// aging turns aging on in zone, so that a refresh moves a record's
// TimeStamp (and scavenging, where the server has it on, may delete
// records not refreshed within the no-refresh and refresh intervals).
func (f fixer) aging(zone string) []string {
	z := strings.TrimSuffix(zone, ".")
	if bad := unprintable(z); bad != "" {
		return []string{bad}
	}
	return []string{
		cmdLine("dnscmd", cmdArg(f.dc), "/config", cmdArg(z), "/aging", "1"),
		"Set-DnsServerZoneAging -ComputerName " + psQuote(f.dc) + " -Name " + psQuote(z) + " -Aging $true",
		"samba-tool dns zoneoptions -U " + shQuote(f.domain+`\`+adminUser) + " --aging=1 -- " + shQuote(f.dc) + " " + shQuote(z),
	}
}

// precreate adds the record rec at rel (relative to zone) as an
// administrator, so that the administrator, not the first KMS host,
// owns the node.
func (f fixer) precreate(zone, rel string, rec zones.Record) []string {
	z, target := strings.TrimSuffix(zone, "."), strings.TrimSuffix(rec.Target, ".")
	if bad := unprintable(z, rel, target); bad != "" {
		return []string{bad}
	}
	num := func(n uint16) string { return fmt.Sprint(n) }
	return []string{
		cmdLine("dnscmd", cmdArg(f.dc), "/recordadd", cmdArg(z), cmdArg(rel), "SRV", num(rec.Priority), num(rec.Weight), num(rec.Port), cmdArg(target)),
		"Add-DnsServerResourceRecord -ComputerName " + psQuote(f.dc) + " -ZoneName " + psQuote(z) + " -Name " + psQuote(rel) +
			" -Srv -DomainName " + psQuote(target) + fmt.Sprintf(" -Priority %d -Weight %d -Port %d", rec.Priority, rec.Weight, rec.Port),
		"samba-tool dns add -U " + shQuote(f.domain+`\`+adminUser) + " -- " + shQuote(f.dc) + " " + shQuote(z) + " " + shQuote(rel) + " SRV " +
			shQuote(fmt.Sprintf("%s %d %d %d", target, rec.Port, rec.Priority, rec.Weight)),
	}
}

// secureUpdates sets the zone to secure dynamic updates only.
func (f fixer) secureUpdates(zone string) []string {
	z := strings.TrimSuffix(zone, ".")
	if bad := unprintable(z); bad != "" {
		return []string{bad}
	}
	return []string{
		cmdLine("dnscmd", cmdArg(f.dc), "/config", cmdArg(z), "/allowupdate", "2"),
		"Set-DnsServerPrimaryZone -ComputerName " + psQuote(f.dc) + " -Name " + psQuote(z) + " -DynamicUpdate Secure",
	}
}

// shQuote quotes s for POSIX sh: in single quotes, each single quote
// ending the quoting, escaped, and starting it again.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// psQuote quotes s as a PowerShell verbatim string: single quotes, each
// single quote (PowerShell also counts U+2018..U+201B as one) doubled.
func psQuote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		b.WriteRune(r)
		if r == '\'' || r >= '\u2018' && r <= '\u201b' {
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// psPath quotes s for a -Path parameter, which takes wildcards: [, ], *
// and ? are escaped with a backtick (so is the backtick), then psQuote.
func psPath(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("[]*?`", r) {
			b.WriteByte('`')
		}
		b.WriteRune(r)
	}
	return psQuote(b.String())
}

// cmdArgument is one argument of a cmd.exe line, as cmdArg renders it.
type cmdArgument struct {
	text string
	ok   bool // false: cmd.exe cannot carry it
}

// cmdArg renders s for a cmd.exe line: bare when it holds only ASCII
// letters, digits and .-_:, else in double quotes. It cannot carry a
// double quote, a % (expanded even inside quotes) or a trailing backslash
// (which would escape the closing quote).
func cmdArg(s string) cmdArgument {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) || strings.ContainsRune(".-_:", r))
	}) < 0 {
		return cmdArgument{s, true}
	}
	if strings.ContainsAny(s, `"%`) || strings.HasSuffix(s, `\`) {
		return cmdArgument{}
	}
	return cmdArgument{`"` + s + `"`, true}
}

// cmdLine joins a cmd.exe command; when an argument cannot be carried it
// returns a rem line that says so.
func cmdLine(cmd string, args ...any) string {
	parts := []string{cmd}
	for _, a := range args {
		switch a := a.(type) {
		case cmdArgument:
			if !a.ok {
				return "rem " + cmd + ": a name here holds a double quote or %, which cmd.exe cannot pass on; use the PowerShell command"
			}
			parts = append(parts, a.text)
		case string:
			parts = append(parts, a)
		}
	}
	return strings.Join(parts, " ")
}

// unprintable returns a note when a value holds control characters or is
// not UTF-8 (no command can show it faithfully on one line), else "".
func unprintable(values ...string) string {
	for _, v := range values {
		if !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0 {
			return fmt.Sprintf("# no command printed: %q holds control characters or is not UTF-8; fix it by hand", v)
		}
	}
	return ""
}
