package wire

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// PropertyID identifies a dNSProperty value (DNS_PROPERTY_ID, MS-DNSP
// 2.3.2.1.1).
type PropertyID uint32

// Zone property ids.
const (
	PropertyZoneType            PropertyID = 0x01
	PropertyAllowUpdate         PropertyID = 0x02
	PropertySecureTime          PropertyID = 0x08
	PropertyNoRefreshInterval   PropertyID = 0x10
	PropertyScavengingServers   PropertyID = 0x11
	PropertyAgingEnabledTime    PropertyID = 0x12
	PropertyRefreshInterval     PropertyID = 0x20
	PropertyAgingState          PropertyID = 0x40
	PropertyDeletedFromHostname PropertyID = 0x80
	PropertyMasterServers       PropertyID = 0x81
	PropertyAutoNSServers       PropertyID = 0x82
	PropertyDCPromoConvert      PropertyID = 0x83
	PropertyScavengingServersDA PropertyID = 0x90
	PropertyMasterServersDA     PropertyID = 0x91
	PropertyNSServersDA         PropertyID = 0x92
	PropertyNodeDBFlags         PropertyID = 0x100
)

var propertyNames = map[PropertyID]string{
	PropertyZoneType:            "ZONE_TYPE",
	PropertyAllowUpdate:         "ALLOW_UPDATE",
	PropertySecureTime:          "SECURE_TIME",
	PropertyNoRefreshInterval:   "NOREFRESH_INTERVAL",
	PropertyScavengingServers:   "SCAVENGING_SERVERS",
	PropertyAgingEnabledTime:    "AGING_ENABLED_TIME",
	PropertyRefreshInterval:     "REFRESH_INTERVAL",
	PropertyAgingState:          "AGING_STATE",
	PropertyDeletedFromHostname: "DELETED_FROM_HOSTNAME",
	PropertyMasterServers:       "MASTER_SERVERS",
	PropertyAutoNSServers:       "AUTO_NS_SERVERS",
	PropertyDCPromoConvert:      "DCPROMO_CONVERT",
	PropertyScavengingServersDA: "SCAVENGING_SERVERS_DA",
	PropertyMasterServersDA:     "MASTER_SERVERS_DA",
	PropertyNSServersDA:         "NS_SERVERS_DA",
	PropertyNodeDBFlags:         "NODE_DBFLAGS",
}

// String returns the id's name without the DSPROPERTY_ZONE_ prefix
// ("ALLOW_UPDATE"), or its number in hexadecimal.
func (id PropertyID) String() string {
	if n, ok := propertyNames[id]; ok {
		return n
	}
	return fmt.Sprintf("0x%x", uint32(id))
}

// DefaultInterval is the no-refresh and refresh interval of a zone that
// does not set one: 7 days.
const DefaultInterval = 168 * time.Hour

const dnsPropertyHeaderLen = 20

// DNSProperty is one value of a zone's dNSProperty attribute (DNS_PROPERTY,
// MS-DNSP 2.3.2.1).
type DNSProperty struct {
	// NameLength, Flag and Version are kept as read (Version is 1).
	NameLength uint32
	Flag       uint32
	Version    uint32
	ID         PropertyID
	// Data is the property's data: DataLength bytes.
	Data []byte
	// Name is whatever follows Data: MS-DNSP says a 1-byte Name, Samba
	// writes 4 bytes. Kept, never interpreted.
	Name []byte
}

// ParseDNSProperty decodes a dNSProperty value: the 20-byte header, then
// DataLength bytes of data; the name field after it may be 1 or 4 bytes, or
// missing.
func ParseDNSProperty(b []byte) (DNSProperty, error) {
	s := span{structure: "dNSProperty", b: b}
	var fields [5]uint32
	for i, name := range []string{"DataLength", "NameLength", "Flag", "Version", "Id"} {
		v, err := s.u32(4*i, name)
		if err != nil {
			return DNSProperty{}, err
		}
		fields[i] = v
	}
	if have := uint64(len(b) - dnsPropertyHeaderLen); uint64(fields[0]) > have {
		e := s.errorf(0, "DataLength", "DataLength %d overruns the %d bytes after the header", fields[0], have)
		e.Err = ErrTruncated
		return DNSProperty{}, e
	}
	end := dnsPropertyHeaderLen + int(fields[0])
	return DNSProperty{
		NameLength: fields[1],
		Flag:       fields[2],
		Version:    fields[3],
		ID:         PropertyID(fields[4]),
		Data:       clone(b[dnsPropertyHeaderLen:end]),
		Name:       clone(b[end:]),
	}, nil
}

// Marshal returns the dNSProperty value.
func (p DNSProperty) Marshal() []byte {
	b := make([]byte, 0, dnsPropertyHeaderLen+len(p.Data)+len(p.Name))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(p.Data)))
	b = binary.LittleEndian.AppendUint32(b, p.NameLength)
	b = binary.LittleEndian.AppendUint32(b, p.Flag)
	b = binary.LittleEndian.AppendUint32(b, p.Version)
	b = binary.LittleEndian.AppendUint32(b, uint32(p.ID))
	b = append(b, p.Data...)
	return append(b, p.Name...)
}

// AllowUpdate is a zone's dynamic update setting (fAllowUpdate).
type AllowUpdate uint8

// Dynamic update settings.
const (
	// UpdateNone: no dynamic updates; KMS hosts cannot publish themselves.
	UpdateNone AllowUpdate = 0
	// UpdateNonsecureAndSecure: anyone who can reach the server may update.
	UpdateNonsecureAndSecure AllowUpdate = 1
	// UpdateSecureOnly: only authenticated (GSS-TSIG) updates, checked
	// against the node's DACL.
	UpdateSecureOnly AllowUpdate = 2
)

// String returns "none", "nonsecure and secure", "secure only" or
// "unknown (n)".
func (u AllowUpdate) String() string {
	switch u {
	case UpdateNone:
		return "none"
	case UpdateNonsecureAndSecure:
		return "nonsecure and secure"
	case UpdateSecureOnly:
		return "secure only"
	}
	return fmt.Sprintf("unknown (%d)", uint8(u))
}

func (p DNSProperty) check(want ...PropertyID) error {
	for _, id := range want {
		if p.ID == id {
			return nil
		}
	}
	return fmt.Errorf("dNSProperty %s: not %s", p.ID, want[0])
}

func (p DNSProperty) u32() (uint32, error) {
	if len(p.Data) != 4 {
		return 0, fmt.Errorf("dNSProperty %s: %d bytes of data, want 4", p.ID, len(p.Data))
	}
	return binary.LittleEndian.Uint32(p.Data), nil
}

// AllowUpdate returns the setting of an ALLOW_UPDATE property (1 byte of
// data). Values other than 0, 1 and 2 are returned as they are.
func (p DNSProperty) AllowUpdate() (AllowUpdate, error) {
	if err := p.check(PropertyAllowUpdate); err != nil {
		return 0, err
	}
	if len(p.Data) != 1 {
		return 0, fmt.Errorf("dNSProperty %s: %d bytes of data, want 1", p.ID, len(p.Data))
	}
	return AllowUpdate(p.Data[0]), nil
}

// Interval returns the interval of a NOREFRESH_INTERVAL or
// REFRESH_INTERVAL property (a u32 count of hours).
func (p DNSProperty) Interval() (time.Duration, error) {
	if err := p.check(PropertyNoRefreshInterval, PropertyRefreshInterval); err != nil {
		return 0, err
	}
	h, err := p.u32()
	if err != nil {
		return 0, err
	}
	if int64(h) > math.MaxInt64/int64(time.Hour) {
		return 0, fmt.Errorf("dNSProperty %s: %d hours is beyond a time.Duration", p.ID, h)
	}
	return time.Duration(h) * time.Hour, nil
}

// AgingEnabled returns the setting of an AGING_STATE property (a u32
// boolean).
func (p DNSProperty) AgingEnabled() (bool, error) {
	if err := p.check(PropertyAgingState); err != nil {
		return false, err
	}
	v, err := p.u32()
	if err != nil {
		return false, err
	}
	return v != 0, nil
}
