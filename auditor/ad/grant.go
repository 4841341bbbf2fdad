package ad

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/srvctl/srvctl/auditor/ad/wire"
	"github.com/srvctl/srvctl/zones"
)

// Errors of ApplyGrant.
var (
	// ErrNoNode: the node does not exist; a grant needs one (pre-create
	// the record first).
	ErrNoNode = errors.New("no such node")
	// ErrDACLChanged: the node's DACL is not what PlanGrant read; plan
	// again.
	ErrDACLChanged = errors.New("the DACL changed since the plan")
)

// Grant is the DACL change that lets the KMS host group update a node:
// one allow ACE for the group's SID granting read and write of every
// property (RPWP: dnsRecord and dNSTombstoned, so adding, changing and
// deleting records, the last one included), added where Windows'
// canonical order puts an explicit grant. Not full control: WRITE_DAC
// and WRITE_OWNER would let any one KMS host take the node from the
// others. Nothing is ever removed.
type Grant struct {
	Server string `json:"server"`
	Zone   string `json:"zone"`
	// Owner is the name, absolute.
	Owner  string `json:"owner"`
	NodeDN string `json:"node_dn"`
	// Exists is false when there is no node: nothing can be granted until
	// the record is pre-created (Fix says how).
	Exists bool `json:"exists"`
	// Group is DOMAIN\name of the group, GroupSID its SID.
	Group    string `json:"group"`
	GroupSID string `json:"group_sid"`
	// ACE is the ACE to add in SDDL; Description says it in words.
	ACE         string `json:"ace,omitempty"`
	Description string `json:"description"`
	// Before and After are the DACL in SDDL, before and after the change.
	Before string `json:"dacl_before,omitempty"`
	After  string `json:"dacl_after,omitempty"`
	// NothingToDo: the group can already update (or the node cannot take
	// the ACE); Note says why.
	NothingToDo bool   `json:"nothing_to_do"`
	Note        string `json:"note,omitempty"`
	// Blocked: even with the ACE the group cannot update (a deny ACE, or
	// a node without a DACL); Note says what to remove or set first.
	Blocked bool `json:"blocked,omitempty"`
	// Fix holds the commands that pre-create an absent node, or give a
	// node without a DACL one.
	Fix []string `json:"fix,omitempty"`

	ace     wire.ACE
	control wire.Control // DACL control bits read
	dacl    []byte       // the DACL read, marshalled
	next    *wire.SecurityDescriptor
}

// daclBits are the control bits that belong to the DACL.
const daclBits = wire.ControlDACLPresent | wire.ControlDACLProtected | wire.ControlDACLAutoInherited | wire.ControlDACLAutoInheritReq

// PlanGrant reads the node owner (relative to zone, or absolute; "" for
// DefaultOwner) and the group, and returns the DACL change that lets the
// group update the node, changing nothing. An absent node is no error: the
// Grant says so (Exists false) and how to pre-create it.
func (c *Client) PlanGrant(ctx context.Context, zone, owner string) (*Grant, error) {
	rz := normalize(Request{Zone: zone, Owner: owner})
	if rz.err != "" {
		return nil, fmt.Errorf("ad: %s", rz.err)
	}
	found, _, err := c.findZones(ctx, []string{rz.zone})
	if err != nil {
		return nil, err
	}
	zi := found[rz.zone]
	if zi == nil {
		return nil, fmt.Errorf("ad: the zone %s is not in the directory of %s on %s (not AD-integrated): AD permissions do not apply", rz.zone, c.domainDN, c.ep)
	}
	grp, err := c.findGroupOnly(ctx)
	if err != nil {
		return nil, err
	}
	f := fixer{dc: c.host, domain: c.netbios}
	if grp.problem != "" {
		return nil, fmt.Errorf("ad: the group %q on %s: %s", c.group, c.ep, grp.problem)
	}
	if !grp.report.Found {
		return nil, fmt.Errorf("ad: no group %q in %s on %s: create it first, as a global security group: %s",
			c.group, c.domainDN, c.ep, strings.Join(f.createGroup(c.group), " / "))
	}
	dn := nodeDN(rz.rel, zi.dn)
	g := &Grant{Server: c.host, Zone: rz.zone, Owner: rz.owner, NodeDN: dn, Group: f.account(grp.report.SAM), GroupSID: grp.report.SID}
	g.ace = grantACE(grp.sid)
	g.ACE = g.ace.SDDL()
	g.Description = fmt.Sprintf("allow %s (%s) to read and write the node's properties (%s): its members may add, change and delete the records, nothing more", g.Group, g.GroupSID, grantRights.SDDL())

	n, err := c.readNode(ctx, dn)
	if err != nil {
		return nil, err
	}
	if !n.exists {
		g.ACE, g.NothingToDo = "", true
		g.Note = fmt.Sprintf("no node %s: a grant cannot apply until the record exists; pre-create it as an administrator, then plan the grant again", dn)
		g.Fix = f.precreate(rz.zone, rz.rel, zones.Record{Target: "<kms host>", Port: 1688})
		return g, nil
	}
	g.Exists = true
	if n.sd == nil {
		return nil, fmt.Errorf("ad: reading the security descriptor of %s on %s as %s: %s", dn, c.ep, c.user, strings.Join(n.problems, "; "))
	}
	sd := n.sd
	g.Before = daclSDDL(sd)
	if sd.HasNullDACL() {
		g.ACE, g.NothingToDo = "", true
		g.Note = "the node has no DACL, which lets everyone update it; adding one ACE would take every right from everyone else: give it the dnsNode class's default DACL and the grant by hand"
		g.Blocked = true
		g.Fix = f.nullDACL(dn, grp.report.SAM, grp.report.SID)
		return g, nil
	}
	token := memberToken(grp.sid)
	if acc := wire.CheckAccess(sd, token); acc.Verdict == wire.CanUpdate {
		g.ACE, g.NothingToDo = "", true
		g.Note = "nothing to do: the group can already update (" + acc.String() + ")"
		return g, nil
	}
	next := &wire.ACL{Revision: sd.DACL.Revision, Sbz1: sd.DACL.Sbz1, Sbz2: sd.DACL.Sbz2, ACEs: append([]wire.ACE(nil), sd.DACL.ACEs...)}
	_, added, err := wire.AddAllowACE(next, g.ace)
	if err != nil {
		return nil, fmt.Errorf("ad: adding %s to the DACL of %s: %w", g.ACE, dn, err)
	}
	g.control = sd.Control & daclBits
	if g.dacl, err = sd.DACL.Marshal(); err != nil {
		return nil, fmt.Errorf("ad: the DACL of %s: %w", dn, err)
	}
	g.next = &wire.SecurityDescriptor{Revision: 1, Control: wire.ControlSelfRelative | wire.ControlDACLPresent | g.control, DACL: next}
	g.After = daclSDDL(g.next)
	after := wire.CheckAccess(g.next, token)
	switch {
	case !added:
		g.NothingToDo = true
		g.Note = "the ACE is already there, but the group still cannot update (" + after.String() + "): remove what denies it first"
		g.Blocked = true
	case after.Verdict != wire.CanUpdate:
		g.Note = "even with this ACE the group cannot update (" + after.String() + "): remove what denies it too"
		g.Blocked = true
	}
	return g, nil
}

// ApplyGrant writes g: it reads the node's DACL again and refuses
// (ErrDACLChanged) unless it is still what PlanGrant read, writes the new
// DACL alone (SD flags control: DACL_SECURITY_INFORMATION), then reads it
// back and checks that the ACE is there and every ACE that was there still
// is. Neither Active Directory nor Samba offers a conditional write of
// nTSecurityDescriptor (no assertion control; Samba refuses to delete a
// value of it), so a change made between the re-read and the write, one
// round trip apart, would be overwritten. Applying a grant that is
// already applied does nothing.
func (c *Client) ApplyGrant(ctx context.Context, g *Grant) error {
	switch {
	case g == nil:
		return errors.New("ad: no grant")
	case !g.Exists:
		return fmt.Errorf("ad: grant on %s: %w: pre-create the record first", g.NodeDN, ErrNoNode)
	case g.NothingToDo:
		return nil
	case g.next == nil:
		return fmt.Errorf("ad: grant on %s: not planned by PlanGrant", g.NodeDN)
	}
	cur, err := c.readDACL(ctx, g.NodeDN)
	if err != nil {
		return err
	}
	curBytes, err := marshalDACL(cur)
	if err != nil {
		return fmt.Errorf("ad: the DACL of %s: %w", g.NodeDN, err)
	}
	nextBytes, err := g.next.DACL.Marshal()
	if err != nil {
		return fmt.Errorf("ad: the new DACL of %s: %w", g.NodeDN, err)
	}
	switch {
	case cur.Control&daclBits == g.control&daclBits && bytes.Equal(curBytes, g.dacl):
	case cur.Control&daclBits == g.next.Control&daclBits && bytes.Equal(curBytes, nextBytes):
		c.log.Info("grant already applied", zap.String("node", g.NodeDN), zap.String("ace", g.ACE))
		return nil
	default:
		return fmt.Errorf("ad: grant on %s: %w (now %s): plan the grant again", g.NodeDN, ErrDACLChanged, daclSDDL(cur))
	}
	raw, err := g.next.Marshal()
	if err != nil {
		return fmt.Errorf("ad: the new descriptor of %s: %w", g.NodeDN, err)
	}
	req := ldap.NewModifyRequest(g.NodeDN, []ldap.Control{sdFlags(sdDACL)})
	req.Replace("nTSecurityDescriptor", []string{string(raw)})
	if err := c.do(ctx, func() error { return c.conn.Modify(req) }); err != nil {
		return fmt.Errorf("ad: writing the DACL of %s on %s as %s: %w", g.NodeDN, c.ep, c.user, err)
	}
	c.log.Info("grant applied", zap.String("node", g.NodeDN), zap.String("ace", g.ACE))

	got, err := c.readDACL(ctx, g.NodeDN)
	if err != nil {
		return fmt.Errorf("ad: reading back after the grant: %w", err)
	}
	if missing := missingACEs(got.DACL, g.next.DACL.ACEs); len(missing) > 0 {
		return fmt.Errorf("ad: grant on %s written, but reading it back misses %s (now %s)", g.NodeDN, strings.Join(missing, ""), daclSDDL(got))
	}
	return nil
}

// readDACL reads the DACL of dn (SD flags: DACL only).
func (c *Client) readDACL(ctx context.Context, dn string) (*wire.SecurityDescriptor, error) {
	e, err := c.entry(ctx, dn, []string{"nTSecurityDescriptor"}, sdFlags(sdDACL))
	if err != nil {
		return nil, fmt.Errorf("ad: reading the DACL of %s on %s: %w", dn, c.ep, err)
	}
	if e == nil {
		return nil, fmt.Errorf("ad: reading the DACL of %s on %s: %w", dn, c.ep, ErrNoNode)
	}
	sd, err := wire.ParseSecurityDescriptor(e.GetRawAttributeValue("nTSecurityDescriptor"))
	if err != nil {
		return nil, fmt.Errorf("ad: the DACL of %s on %s: %w", dn, c.ep, err)
	}
	return sd, nil
}

// marshalDACL is the DACL of sd in binary, nil for none.
func marshalDACL(sd *wire.SecurityDescriptor) ([]byte, error) {
	if sd.DACL == nil {
		return nil, nil
	}
	return sd.DACL.Marshal()
}

// missingACEs returns, in SDDL, the ACEs of want (a multiset) that acl
// lacks.
func missingACEs(acl *wire.ACL, want []wire.ACE) []string {
	have := map[string]int{}
	if acl != nil {
		for _, a := range acl.ACEs {
			have[a.SDDL()]++
		}
	}
	var out []string
	for _, a := range want {
		s := a.SDDL()
		if have[s] > 0 {
			have[s]--
			continue
		}
		out = append(out, s)
	}
	return out
}

// String renders the grant for a person.
func (g *Grant) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "node:    %s\n", g.NodeDN)
	fmt.Fprintf(&b, "group:   %s (%s)\n", g.Group, g.GroupSID)
	if g.NothingToDo {
		fmt.Fprintf(&b, "change:  none: %s\n", g.Note)
	} else {
		fmt.Fprintf(&b, "add:     %s: %s\n", g.ACE, g.Description)
		if g.Note != "" {
			fmt.Fprintf(&b, "note:    %s\n", g.Note)
		}
	}
	if g.Before != "" {
		fmt.Fprintf(&b, "before:  %s\n", g.Before)
	}
	if g.After != "" {
		fmt.Fprintf(&b, "after:   %s\n", g.After)
	}
	for _, f := range g.Fix {
		fmt.Fprintf(&b, "fix:     %s\n", f)
	}
	return b.String()
}
