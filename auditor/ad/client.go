package ad

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/go-ldap/ldap/v3/gssapi"
	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"go.uber.org/zap"

	"github.com/srvctl/srvctl/auditor"
	"github.com/srvctl/srvctl/zones"
)

// Client is a bound connection to a domain controller. Its methods may be
// called concurrently; Close releases it. Cancelling the context of a call
// while an LDAP operation is in flight closes the connection: Dial again
// after that.
type Client struct {
	conn     *ldap.Conn
	krb      *client.Client // nil for a simple bind
	ep       endpoint
	user     string // the bind account, for messages
	group    string
	hosts    []hostKey // Options.Hosts
	timeout  time.Duration
	severity map[Kind]auditor.Level
	now      func() time.Time
	log      *zap.Logger
	ops      atomic.Int64

	domainDN string // BaseDN or defaultNamingContext
	forestDN string // rootDomainNamingContext
	configDN string // configurationNamingContext
	host     string // the DC's dnsHostName
	netbios  string // the domain's NetBIOS name
}

// Dial connects to the domain controller of o.URL, verifies its
// certificate (o.CAFile, or the system roots), reads its rootDSE, binds,
// and finds the domain's NetBIOS name. It refuses, before sending anything,
// a bind that would expose the password or that the DC would refuse (no
// TLS). Errors name the server and the bind account, never the password.
// ctx and o.Timeout bound every step but the Kerberos exchanges with the
// KDC (see Options.Timeout).
func Dial(ctx context.Context, o Options) (*Client, error) {
	ep, err := o.check()
	if err != nil {
		return nil, err
	}
	c := &Client{
		ep:       ep,
		user:     o.bindUser(),
		group:    cmp.Or(o.Group, DefaultGroup),
		timeout:  cmp.Or(o.Timeout, DefaultTimeout),
		severity: o.Severity,
		now:      o.Now,
		log:      o.Logger,
	}
	for _, h := range o.Hosts {
		c.hosts = append(c.hosts, hostKey{name: zones.Canonical(h.Name), account: h.Account})
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = zap.NewNop()
	}
	c.log = c.log.With(zap.String("server", ep.String()))
	tlsConf, err := tlsConfig(&o, ep)
	if err != nil {
		return nil, err
	}
	if err := c.connect(ctx, tlsConf, o.StartTLS); err != nil {
		return nil, err
	}
	if err := c.setup(ctx, &o); err != nil {
		c.Close()
		return nil, err
	}
	c.log.Info("bound to the domain controller", zap.String("dc", c.host), zap.String("user", c.user),
		zap.String("method", method(o.Bind.Method)), zap.String("domain", c.netbios), zap.String("base_dn", c.domainDN))
	return c, nil
}

// tlsConfig builds the TLS client configuration of o.
func tlsConfig(o *Options, ep endpoint) (*tls.Config, error) {
	conf := &tls.Config{ServerName: cmp.Or(o.ServerName, ep.host), MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		data, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ad: CA file for %s: %w", ep, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("ad: CA file %s for %s holds no PEM certificate", o.CAFile, ep)
		}
		conf.RootCAs = pool
	}
	return conf, nil
}

// connect opens the connection (TLS for ldaps://, then StartTLS when
// asked), within the timeout.
func (c *Client) connect(ctx context.Context, tlsConf *tls.Config, startTLS bool) error {
	dctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	raw, err := (&net.Dialer{Timeout: c.timeout}).DialContext(dctx, "tcp", c.ep.addr)
	if err != nil {
		return fmt.Errorf("ad: connect to %s: %w", c.ep, err)
	}
	isTLS := c.ep.scheme == "ldaps"
	if isTLS {
		tc := tls.Client(raw, tlsConf)
		if err := tc.HandshakeContext(dctx); err != nil {
			raw.Close()
			return fmt.Errorf("ad: TLS handshake with %s (expecting %s): %w", c.ep, tlsConf.ServerName, err)
		}
		c.conn = ldap.NewConn(tc, true)
	} else {
		c.conn = ldap.NewConn(raw, false)
	}
	c.conn.Start()
	c.conn.SetTimeout(c.timeout)
	if !startTLS {
		return nil
	}
	// go-ldap's StartTLS handshakes without a deadline: bound it on the
	// socket.
	deadline, _ := dctx.Deadline()
	_ = raw.SetDeadline(deadline)
	err = c.do(dctx, func() error { return c.conn.StartTLS(tlsConf) })
	_ = raw.SetDeadline(time.Time{})
	if err != nil {
		c.conn.Close()
		return fmt.Errorf("ad: StartTLS with %s (expecting %s): %w", c.ep, tlsConf.ServerName, err)
	}
	return nil
}

// setup reads the rootDSE, binds and finds the NetBIOS name.
func (c *Client) setup(ctx context.Context, o *Options) error {
	res, err := c.search(ctx, ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"defaultNamingContext", "rootDomainNamingContext", "configurationNamingContext", "dnsHostName"}, nil))
	if err != nil {
		return fmt.Errorf("ad: reading the rootDSE of %s: %w", c.ep, err)
	}
	if len(res.Entries) != 1 {
		return fmt.Errorf("ad: reading the rootDSE of %s: %d entries", c.ep, len(res.Entries))
	}
	root := res.Entries[0]
	c.domainDN = cmp.Or(o.BaseDN, root.GetAttributeValue("defaultNamingContext"))
	c.forestDN = cmp.Or(root.GetAttributeValue("rootDomainNamingContext"), c.domainDN)
	c.configDN = cmp.Or(root.GetAttributeValue("configurationNamingContext"), "CN=Configuration,"+c.forestDN)
	c.host = strings.ToLower(cmp.Or(root.GetAttributeValue("dnsHostName"), cmp.Or(o.ServerName, c.ep.host)))
	if c.domainDN == "" {
		return fmt.Errorf("ad: %s names no defaultNamingContext in its rootDSE (not an Active Directory DC?): set the base DN", c.ep)
	}

	switch method(o.Bind.Method) {
	case BindKerberos:
		if err := c.bindKerberos(ctx, o); err != nil {
			return err
		}
	default:
		err := c.do(ctx, func() error { return c.conn.Bind(o.Bind.User, o.Bind.Password.Reveal()) })
		if err != nil {
			return fmt.Errorf("ad: simple bind to %s as %s: %w", c.ep, o.Bind.User, err)
		}
	}

	c.netbios = c.findNetBIOS(ctx)
	return nil
}

// bindKerberos binds with GSSAPI (Kerberos) with the keytab, credential
// cache or password of o.
func (c *Client) bindKerberos(ctx context.Context, o *Options) error {
	b := o.Bind
	name, realm := splitPrincipal(o.principal())
	realm = cmp.Or(strings.ToUpper(b.Realm), realm, realmOf(c.domainDN))
	who := name + "@" + realm
	if b.CCache != "" {
		who = "the principal of " + b.CCache
	}
	conf, err := c.krbConfig(b.Krb5Conf, realm)
	if err != nil {
		return err
	}
	settings := []func(*client.Settings){client.DisablePAFXFAST(true)}
	var cl *client.Client
	switch {
	case b.Keytab != "":
		kt, err := keytab.Load(b.Keytab)
		if err != nil {
			return fmt.Errorf("ad: Kerberos bind to %s as %s: keytab %s: %w", c.ep, who, b.Keytab, err)
		}
		cl = client.NewWithKeytab(name, realm, kt, conf, settings...)
	case b.CCache != "":
		cc, err := credentials.LoadCCache(b.CCache)
		if err != nil {
			return fmt.Errorf("ad: Kerberos bind to %s: credential cache %s: %w", c.ep, b.CCache, err)
		}
		cl, err = client.NewFromCCache(cc, conf, settings...)
		if err != nil {
			return fmt.Errorf("ad: Kerberos bind to %s: credential cache %s: %w", c.ep, b.CCache, err)
		}
		who = cc.DefaultPrincipal.PrincipalName.PrincipalNameString() + "@" + cc.DefaultPrincipal.Realm
	default:
		cl = client.NewWithPassword(name, realm, b.Password.Reveal(), conf, settings...)
	}
	c.user = who
	c.krb = cl
	if b.CCache == "" {
		if err := ctx.Err(); err != nil {
			return err
		}
		// gokrb5 takes no context: Login is bounded by its own 5 s per
		// KDC exchange, not by ctx or the timeout (see Options.Timeout).
		if err := cl.Login(); err != nil {
			return fmt.Errorf("ad: Kerberos login as %s for %s: %w", who, c.ep, err)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("ad: Kerberos login as %s for %s: %w", who, c.ep, err)
		}
	}
	spn := cmp.Or(b.SPN, "ldap/"+c.host)
	err = c.do(ctx, func() error { return c.conn.GSSAPIBind(&gssapi.Client{Client: cl}, spn, "") })
	if err != nil {
		return fmt.Errorf("ad: Kerberos bind to %s as %s (service %s): %w", c.ep, who, spn, err)
	}
	return nil
}

// krbConfig loads path, or makes a configuration naming the DC as the
// realm's KDC.
func (c *Client) krbConfig(path, realm string) (*config.Config, error) {
	if path != "" {
		conf, err := config.Load(path)
		if err != nil {
			return nil, fmt.Errorf("ad: Kerberos configuration %s: %w", path, err)
		}
		return conf, nil
	}
	for _, r := range realm {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return nil, fmt.Errorf("ad: Kerberos realm %q: only letters, digits, dots, hyphens and underscores", realm)
		}
	}
	if realm == "" {
		return nil, fmt.Errorf("ad: Kerberos bind to %s: no realm: set it", c.ep)
	}
	kdc := net.JoinHostPort(c.ep.host, "88")
	text := fmt.Sprintf("[libdefaults]\n default_realm = %s\n dns_lookup_kdc = false\n dns_lookup_realm = false\n udp_preference_limit = 1\n[realms]\n %s = {\n  kdc = %s\n }\n", realm, realm, kdc)
	conf, err := config.NewFromString(text)
	if err != nil {
		return nil, fmt.Errorf("ad: Kerberos configuration for realm %s (KDC %s): %w", realm, kdc, err)
	}
	return conf, nil
}

// findNetBIOS reads the domain's NetBIOS name from its crossRef; when it
// cannot, it guesses the first label of the domain's DNS name.
func (c *Client) findNetBIOS(ctx context.Context) string {
	res, err := c.search(ctx, ldap.NewSearchRequest("CN=Partitions,"+c.configDN, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(&(objectClass=crossRef)(nCName="+ldap.EscapeFilter(c.domainDN)+"))", []string{"nETBIOSName"}, nil))
	if err == nil {
		for _, e := range res.Entries {
			if n := e.GetAttributeValue("nETBIOSName"); n != "" {
				return n
			}
		}
	}
	guess, _, _ := strings.Cut(realmOf(c.domainDN), ".")
	c.log.Warn("no NetBIOS name found for the domain; fix commands use a guess", zap.String("domain_dn", c.domainDN), zap.String("guess", guess), zap.Error(err))
	return guess
}

// Close unbinds and closes the connection.
func (c *Client) Close() error {
	if c.krb != nil {
		c.krb.Destroy()
	}
	if c.conn == nil {
		return nil
	}
	return c.conn.Close()
}

// Server is the DC's DNS host name (from its rootDSE).
func (c *Client) Server() string { return c.host }

// Domain is the domain's NetBIOS name, as fix commands write DOMAIN\name.
func (c *Client) Domain() string { return c.netbios }

// DomainDN is the domain's DN.
func (c *Client) DomainDN() string { return c.domainDN }

// Operations is the number of LDAP operations (requests that wait for the
// server's answer) sent so far, the bind and each page of a paged search
// included.
func (c *Client) Operations() int64 { return c.ops.Load() }

// do runs op, one LDAP round trip, within the timeout and ctx: the
// connection's request timeout is the sooner of both, and cancelling ctx
// closes the connection so that op returns at once.
func (c *Client) do(ctx context.Context, op func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d := c.timeout
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(dl))
	}
	if d <= 0 {
		return context.DeadlineExceeded
	}
	c.conn.SetTimeout(d)
	c.ops.Add(1)
	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(done)
		c.conn.Close()
	})
	err := op()
	if !stop() {
		<-done
		return errors.Join(ctx.Err(), err)
	}
	return err
}

// search runs one search request.
func (c *Client) search(ctx context.Context, req *ldap.SearchRequest) (*ldap.SearchResult, error) {
	var res *ldap.SearchResult
	err := c.do(ctx, func() error {
		var err error
		res, err = c.conn.Search(req)
		return err
	})
	return res, err
}

// pageSize is the page size of searches that may return many entries.
const pageSize = 500

// searchPaged runs req with the paged results control, one round trip per
// page, and returns every entry.
func (c *Client) searchPaged(ctx context.Context, req *ldap.SearchRequest) ([]*ldap.Entry, error) {
	paging := ldap.NewControlPaging(pageSize)
	req.Controls = append(req.Controls, paging)
	var out []*ldap.Entry
	for {
		res, err := c.search(ctx, req)
		if err != nil {
			return out, err
		}
		out = append(out, res.Entries...)
		ctl, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
		if !ok || len(ctl.Cookie) == 0 {
			return out, nil
		}
		paging.SetCookie(ctl.Cookie)
	}
}

// entry reads the object dn with a base search; nil, nil when there is
// no such object.
func (c *Client) entry(ctx context.Context, dn string, attrs []string, controls ...ldap.Control) (*ldap.Entry, error) {
	res, err := c.search(ctx, ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", attrs, controls))
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(res.Entries) != 1 {
		return nil, fmt.Errorf("%d entries for a base search", len(res.Entries))
	}
	return res.Entries[0], nil
}

// sdFlags is the LDAP_SERVER_SD_FLAGS control asking for the parts of
// nTSecurityDescriptor in flags (1 owner, 2 group, 4 DACL, 8 SACL).
func sdFlags(flags int32) ldap.Control {
	return &ldap.ControlMicrosoftSDFlags{ControlValue: flags}
}

// SD flags values.
const (
	sdOwnerGroupDACL = 7 // what the audit reads
	sdDACL           = 4 // what a grant writes
)
