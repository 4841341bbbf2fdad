package zones

import (
	"errors"
	"fmt"
	"strings"
)

// DefaultService is the owner-name prefix KMS clients query.
const DefaultService = "_vlmcs._tcp"

// Canonical returns name in the form srvctl compares and prints names:
// lower case with exactly one trailing dot. It does not validate.
func Canonical(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	name = strings.TrimRight(name, ".")
	return name + "."
}

// Owner returns the owner name of the SRV RRset for service in zone, both
// canonical: Owner("_vlmcs._tcp", "corp.example.com.") is
// "_vlmcs._tcp.corp.example.com.".
func Owner(service, zone string) string {
	return strings.ToLower(strings.TrimRight(service, ".")) + "." + Canonical(zone)
}

// CheckHostname reports whether name is a valid fully qualified host name
// (RFC 1123 letters, digits and hyphens; labels of 1 to 63 octets; at most 253
// octets without the trailing dot). It accepts an optional trailing dot. Names
// that pass can be written into zone files and named.conf unquoted.
func CheckHostname(name string) error {
	return checkName(name, false)
}

// CheckZoneName is CheckHostname for zone names; it also accepts labels that
// start with an underscore, which some delegated zones use.
func CheckZoneName(name string) error {
	return checkName(name, true)
}

// CheckService reports whether service is a valid SRV owner prefix: two
// labels "_service._proto", each an underscore followed by letters, digits
// and hyphens.
func CheckService(service string) error {
	labels := strings.Split(service, ".")
	if len(labels) != 2 {
		return fmt.Errorf("%q is not of the form _service._proto", service)
	}
	for _, l := range labels {
		if len(l) < 2 || l[0] != '_' {
			return fmt.Errorf("%q is not of the form _service._proto", service)
		}
		if err := checkLabel(l[1:], false); err != nil {
			return fmt.Errorf("%q: %w", service, err)
		}
	}
	return nil
}

func checkName(name string, underscore bool) error {
	if name == "" {
		return errors.New("empty name")
	}
	n := strings.TrimSuffix(name, ".")
	if n == "" {
		return fmt.Errorf("%q: the root is not a host or zone name", name)
	}
	if len(n) > 253 {
		return fmt.Errorf("%q: name longer than 253 characters", name)
	}
	labels := strings.Split(n, ".")
	for _, l := range labels {
		if err := checkLabel(l, underscore); err != nil {
			return fmt.Errorf("%q: %w", name, err)
		}
	}
	if len(labels) < 2 {
		return fmt.Errorf("%q: not fully qualified (a single label)", name)
	}
	return nil
}

func checkLabel(l string, underscore bool) error {
	switch {
	case l == "":
		return errors.New("empty label")
	case len(l) > 63:
		return fmt.Errorf("label %q longer than 63 characters", l)
	case l[0] == '-' || l[len(l)-1] == '-':
		return fmt.Errorf("label %q starts or ends with a hyphen", l)
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
		case c == '_' && underscore && i == 0:
		default:
			return fmt.Errorf("label %q contains %q (only letters, digits and hyphens)", l, c)
		}
	}
	return nil
}
