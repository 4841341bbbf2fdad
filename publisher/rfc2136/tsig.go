package rfc2136

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"

	"github.com/miekg/dns"
)

// algorithms maps srvctl's algorithm names to the TSIG algorithm names on
// the wire and their hash. hmac-md5 and hmac-sha1 are legacy (RFC 8945) but
// still what older servers are set up with; miekg/dns no longer signs with
// hmac-md5, so srvctl computes every MAC itself.
var algorithms = map[string]struct {
	wire string
	hash func() hash.Hash
}{
	"hmac-md5":    {dns.HmacMD5, md5.New},
	"hmac-sha1":   {dns.HmacSHA1, sha1.New},
	"hmac-sha224": {dns.HmacSHA224, sha256.New224},
	"hmac-sha256": {dns.HmacSHA256, sha256.New},
	"hmac-sha384": {dns.HmacSHA384, sha512.New384},
	"hmac-sha512": {dns.HmacSHA512, sha512.New},
}

// Key is a TSIG key. Its secret never leaves the package: String, GoString
// and the zap/JSON views show the name and algorithm only.
type Key struct {
	name      string // canonical
	algorithm string // srvctl name, e.g. "hmac-sha256"
	secret    []byte
}

// NewKey returns the key called name (a domain name, as the server knows
// it), for algorithm (hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha224,
// hmac-sha1, hmac-md5; "" is hmac-sha256) with the base64 secret.
func NewKey(name, algorithm, secret string) (*Key, error) {
	if algorithm == "" {
		algorithm = "hmac-sha256"
	}
	algorithm = strings.ToLower(strings.TrimSuffix(algorithm, "."))
	if _, ok := algorithms[algorithm]; !ok {
		return nil, fmt.Errorf("key %s: unknown TSIG algorithm %q", name, algorithm)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(secret))
	if err != nil || len(raw) == 0 {
		return nil, fmt.Errorf("key %s: the secret is not valid base64", name)
	}
	return &Key{name: dns.CanonicalName(name), algorithm: algorithm, secret: raw}, nil
}

// Name is the key's canonical name.
func (k *Key) Name() string { return k.name }

// Algorithm is the key's algorithm, e.g. "hmac-sha256".
func (k *Key) Algorithm() string { return k.algorithm }

func (k *Key) String() string   { return k.name + " (" + k.algorithm + ")" }
func (k *Key) GoString() string { return "rfc2136.Key{" + k.String() + "}" }

// Generate and Verify make Key a dns.TsigProvider.
func (k *Key) Generate(msg []byte, t *dns.TSIG) ([]byte, error) {
	a, ok := algorithms[k.algorithm]
	if !ok || !strings.EqualFold(t.Algorithm, a.wire) || !strings.EqualFold(t.Hdr.Name, k.name) {
		return nil, dns.ErrKeyAlg
	}
	h := hmac.New(a.hash, k.secret)
	h.Write(msg)
	return h.Sum(nil), nil
}

// Verify checks the MAC of a signed answer.
func (k *Key) Verify(msg []byte, t *dns.TSIG) error {
	want, err := k.Generate(msg, t)
	if err != nil {
		return err
	}
	got, err := hex.DecodeString(t.MAC)
	if err != nil {
		return err
	}
	if !hmac.Equal(want, got) {
		return dns.ErrSig
	}
	return nil
}

// sign packs m with a TSIG record made with k and returns the wire form and
// the request MAC the answer must be verified against.
func (k *Key) sign(m *dns.Msg, now int64) ([]byte, string, error) {
	m.SetTsig(k.name, algorithms[k.algorithm].wire, 300, now)
	return dns.TsigGenerateWithProvider(m, k, "", false)
}

var errUnsigned = errors.New("the answer to a signed request is not signed")

// verify checks the TSIG of an answer to a request signed with requestMAC.
func (k *Key) verify(raw []byte, m *dns.Msg, requestMAC string) error {
	if m.IsTsig() == nil {
		return errUnsigned
	}
	return dns.TsigVerifyWithProvider(raw, k, requestMAC, false)
}
