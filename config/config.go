// Package config loads srvctl's configuration: one YAML file, with the
// scalar settings overridable by SRVCTL_* environment variables and the
// logging settings by command-line flags. It checks every value, reads the
// TSIG secrets the file names, and produces plain typed structs; the desired
// state of each zone comes from [Config.Desired].
//
// A config that has problems is reported whole: [Load] returns an [*Error]
// that lists every problem, each naming its key the way the YAML spells it
// (hosts[1].port, zones[2].overrides[0].host).
//
// Secrets never leave the package in printable form: a [Secret] formats,
// and marshals to JSON, text and YAML, as "[redacted]".
package config

import (
	"cmp"
	"time"

	"github.com/srvctl/srvctl/zones"
)

// Defaults of the settings a config file may leave out.
const (
	DefaultPath        = "/etc/srvctl/srvctl.yaml" // the config file when neither LoadOptions.Path nor SRVCTL_CONFIG names one
	DefaultTTL         = 3600                      // seconds
	DefaultTimeout     = 5 * time.Second           // per DNS exchange
	DefaultConcurrency = 16                        // zones in flight
	DefaultLogLevel    = "info"
	DefaultPort        = 1688 // the KMS port
	DefaultServerPort  = 53   // the port of a zone's server
	DefaultAlgorithm   = "hmac-sha256"
	DefaultBackend     = "rfc2136"
	BindfileBackend    = "bindfile"
	DefaultPrune       = zones.PruneStale

	DefaultAuditTimeout = 3 * time.Second
	DefaultProbe        = "kms"
	DefaultStaleAfter   = 72 * time.Hour // three of the 24-hour periods in which a KMS host re-registers
	DefaultStaleRuns    = 3
	DefaultMaxDeletes   = 10
	DefaultStateFile    = "/var/lib/srvctl/state.json"

	DefaultSchedule = "@every 1h" // srvctl run: when to audit and apply
)

// Limits of the numeric settings.
const (
	MaxTTL         = 2147483647 // RFC 2181 section 8
	MaxConcurrency = 1024
)

// Config is a loaded, valid configuration. Names in it are canonical (lower
// case, trailing dot) and every reference between its parts (a zone's key,
// hosts and overrides) resolves.
type Config struct {
	Path        string        // the file loaded, as it was named
	Service     string        // owner-name prefix of the SRV RRset, e.g. "_vlmcs._tcp"
	TTL         uint32        // TTL of published records, 0 to MaxTTL
	Prune       zones.Prune   // which records that are not desired apply deletes
	Timeout     time.Duration // per DNS exchange, > 0
	Concurrency int           // zones in flight, 1 to MaxConcurrency
	LogLevel    string        // debug, info, warn or error
	LogFormat   string        // console, json, or "" for the CLI to choose
	Hosts       []Host        // the KMS hosts, in config order; at least one
	Keys        []Key         // the TSIG keys, in config order
	Zones       []Zone        // the zones to publish in, in config order; at least one
	Audit       Audit         // how srvctl audit probes and when a record is stale
	NamedConf   NamedConf     // what srvctl render named-conf grants besides srvctl's own keys

	// srvctl run, the controller.
	Schedule string        // cron spec (5 fields, @hourly, @every 15m), checked; default DefaultSchedule
	Jitter   time.Duration // a random delay of up to this before each scheduled run, >= 0
	Listen   string        // host:port of /metrics, /healthz and /readyz; "" = no HTTP server

	AD AD // srvctl audit ad and ad grant; AD.URL is "" when not configured
}

// Audit configures srvctl audit and the stale detection plan and apply use.
type Audit struct {
	Resolver   string        // host:port of the resolver for targets and NS names; "" = the system resolver
	Timeout    time.Duration // per probe and per query, default DefaultAuditTimeout
	Probe      string        // kms, tcp or none; default DefaultProbe
	StaleAfter time.Duration // a target failing this long (and StaleRuns runs) is stale
	StaleRuns  int           // consecutive failed runs before a target is stale, >= 1
	MaxDeletes int           // deletions per apply without --force, >= 0
	StateFile  string        // absolute path of the probe history
	// Severity overrides the monitoring level of audit findings: kind
	// (e.g. "lagging") → "ok", "warning", "critical" or "unknown".
	Severity map[string]string
}

// NamedConf says which grants srvctl render named-conf adds so that KMS
// hosts can publish themselves.
type NamedConf struct {
	SelfPublish  string // "" (none), "tsig" (each host's own key) or "kerberos"
	Realm        string // the Kerberos realm, upper case, for SelfPublish "kerberos"
	LimitRecords bool   // cap the RRset at the number of hosts published in the zone: SRV(n)
	TKEYKeytab   string // absolute path of named's keytab for GSS-TSIG (tkey-gssapi-keytab), for zones with auth gss-tsig or self_publish kerberos
}

// Host is a KMS host: the target of one SRV record per zone.
type Host struct {
	Name     string // canonical FQDN
	Port     uint16 // 1 to 65535, default DefaultPort
	Priority uint16 // default 0
	Weight   uint16 // default 0
	Key      string // canonical name of the TSIG key the host publishes itself with, if any (named-conf grants)
	Account  string // its computer account's sAMAccountName for srvctl audit ad (e.g. "KMS1$"); "" = found by dNSHostName
}

// Key is a TSIG key, referred to by name from zones.
type Key struct {
	Name       string // canonical: TSIG key names are domain names
	Algorithm  string // hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384 or hmac-sha512
	SecretFile string // absolute path of the file holding the secret; "" for a host's key that only named-conf grants name
	// Credential is the name a systemd unit loads the secret under
	// (LoadCredential=) when secret_file is written as a bare file name:
	// srvctl then reads it from $CREDENTIALS_DIRECTORY when that is set,
	// and from the config's directory otherwise. "" for other paths.
	Credential string
	Secret     Secret // the base64 secret; empty when loaded with LoadOptions.NoSecrets or without SecretFile
	Keygen     bool   // the secret file is a tsig-keygen key statement, which named can include
}

// Zone is a zone to publish the SRV records in.
type Zone struct {
	Name      string     // canonical zone name
	Backend   string     // "rfc2136" or "bindfile"
	Server    string     // rfc2136: the zone's primary as host:port; an IPv6 address is bracketed, e.g. [2001:db8::53]:53
	Key       string     // rfc2136 with auth tsig: canonical name of one of Config.Keys
	Auth      string     // rfc2136: "" (TSIG, the default) or AuthGSSTSIG
	Kerberos  *Kerberos  // rfc2136 with auth gss-tsig: srvctl's Kerberos identity
	Hosts     []string   // canonical names of the hosts published here; empty means all hosts
	Overrides []Override // per-zone priority and weight of some hosts

	File          string   // bindfile: absolute path of the fragment
	ZoneFile      string   // bindfile: absolute path of the zone file that includes it, or ""
	CheckCommand  []string // bindfile: argv run after writing, with {zone}, {file}, {zone_file}
	ReloadCommand []string // bindfile: argv run after the serial bump

	AuditServers []string // host:port of the servers audit asks; empty: the zone's NS set
}

// Override changes the priority or weight of one host in one zone, like the
// "domain,priority,weight" entries of DnsDomainPublishList.
type Override struct {
	Host     string  // canonical name of one of Config.Hosts
	Priority *uint16 // nil: the host's own priority
	Weight   *uint16 // nil: the host's own weight
}

// Desired returns the desired state of every zone, in config order: one
// record per host published in the zone (the zone's hosts, or all hosts),
// with the zone's overrides applied and the config's TTL, sorted with
// zones.Sort.
func (c *Config) Desired() []zones.Zone {
	hosts := make(map[string]Host, len(c.Hosts))
	all := make([]string, 0, len(c.Hosts))
	for _, h := range c.Hosts {
		hosts[h.Name] = h
		all = append(all, h.Name)
	}
	out := make([]zones.Zone, 0, len(c.Zones))
	for _, z := range c.Zones {
		names := z.Hosts
		if len(names) == 0 {
			names = all
		}
		records := make([]zones.Record, 0, len(names))
		for _, n := range names {
			h := hosts[n]
			r := zones.Record{Target: h.Name, Port: h.Port, Priority: h.Priority, Weight: h.Weight, TTL: c.TTL}
			for _, o := range z.Overrides {
				if o.Host != h.Name {
					continue
				}
				if o.Priority != nil {
					r.Priority = *o.Priority
				}
				if o.Weight != nil {
					r.Weight = *o.Weight
				}
			}
			records = append(records, r)
		}
		out = append(out, zones.Zone{
			Name:    z.Name,
			Service: c.Service,
			Backend: z.Backend,
			Server:  cmp.Or(z.Server, z.File),
			Desired: zones.Sort(records),
		})
	}
	return out
}

// Key returns the key called name; name need not be canonical.
func (c *Config) Key(name string) (Key, bool) {
	name = zones.Canonical(name)
	for _, k := range c.Keys {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}
