package controller

import (
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/srvctl/srvctl/auditor"
	"github.com/srvctl/srvctl/auditor/ad"
	"github.com/srvctl/srvctl/config"
	"github.com/srvctl/srvctl/zones"
)

// ADOptions returns the options of the AD permission audit the config's
// ad section describes, with the audit's severity overrides that name AD
// kinds of finding. Call it only when cfg.AD.URL is set.
func ADOptions(cfg *config.Config, log *zap.Logger) ad.Options {
	a := cfg.AD
	sev := make(map[ad.Kind]auditor.Level)
	for k, v := range cfg.Audit.Severity {
		for _, kind := range ad.Kinds() {
			if string(kind) == k {
				if lvl, err := auditor.ParseLevel(v); err == nil {
					sev[kind] = lvl
				}
			}
		}
	}
	hosts := make([]ad.Host, len(cfg.Hosts))
	for i, h := range cfg.Hosts {
		hosts[i] = ad.Host{Name: h.Name, Account: h.Account}
	}
	return ad.Options{
		Hosts:      hosts,
		URL:        a.URL,
		StartTLS:   a.StartTLS,
		CAFile:     a.CAFile,
		ServerName: a.ServerName,
		Bind: ad.Bind{
			Method:    a.Bind.Method,
			User:      a.Bind.User,
			Password:  ad.Secret(a.Bind.Password.Reveal()),
			Realm:     a.Bind.Realm,
			Principal: a.Bind.Principal,
			Keytab:    a.Bind.Keytab,
			CCache:    a.Bind.CCache,
			Krb5Conf:  a.Bind.Krb5Conf,
			SPN:       a.Bind.SPN,
		},
		Group:    a.Group,
		BaseDN:   a.BaseDN,
		Timeout:  a.Timeout,
		Severity: sev,
		Logger:   log.Named("ad"),
	}
}

// ADRequests returns what the AD audit should check for zs: per zone the
// configured hosts published there (with their accounts), the desired
// records, and what the DNS servers answer (served, by zone; a zone
// missing from it is not compared).
func ADRequests(cfg *config.Config, zs []zones.Zone, served map[string][]zones.Record) []ad.Request {
	accounts := make(map[string]string, len(cfg.Hosts))
	for _, h := range cfg.Hosts {
		accounts[h.Name] = h.Account
	}
	reqs := make([]ad.Request, 0, len(zs))
	for _, z := range zs {
		r := ad.Request{Zone: z.Name, Owner: z.Owner(), Desired: z.Desired}
		if s, ok := served[z.Name]; ok {
			r.Served = s
			if r.Served == nil {
				r.Served = []zones.Record{}
			}
		}
		for _, d := range z.Desired {
			r.Hosts = append(r.Hosts, ad.Host{Name: d.Target, Account: accounts[d.Target]})
		}
		reqs = append(reqs, r)
	}
	return reqs
}

// Served returns, per zone, the records the DNS audit found the zone's
// newest servers serving; zones the audit could not judge are left out.
func Served(rep *auditor.Report) map[string][]zones.Record {
	m := make(map[string][]zones.Record, len(rep.Zones))
	for _, z := range rep.Zones {
		if z.Level == auditor.Unknown {
			continue
		}
		recs := make([]zones.Record, 0, len(z.Records))
		for _, r := range z.Records {
			recs = append(recs, r.Record)
		}
		m[z.Zone] = recs
	}
	return m
}

// ADStaleCandidates are the records the AD audit says their hosts stopped
// refreshing, for the DNS audit's report.
func ADStaleCandidates(rep *ad.Report) []auditor.StaleCandidate {
	var out []auditor.StaleCandidate
	for _, r := range rep.Refreshes() {
		if !r.Stale {
			continue
		}
		out = append(out, auditor.StaleCandidate{Zone: r.Zone, Target: r.Target, Port: r.Port,
			Detail: fmt.Sprintf("%s: stale candidate: the directory says its host last refreshed the record at %s and should have by %s (stopped refreshing)",
				r.Target, r.LastRefresh.UTC().Format(time.RFC3339), r.StaleSince.UTC().Format(time.RFC3339))})
	}
	return out
}
