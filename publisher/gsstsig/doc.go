// Package gsstsig signs DNS messages with GSS-TSIG (RFC 3645), the
// Kerberos-based TSIG that Active Directory's "secure only" zones
// require. It logs in to Kerberos (keytab, credential cache or password),
// negotiates a security context with each DNS server by a TKEY exchange
// (RFC 2930 mode 3, over TCP, for the service principal DNS/<server host
// name>), hands that one context to every message for the server during a
// run, and deletes it at the end (TKEY mode 5).
//
// A *SecContext is a dns.TsigProvider for the algorithm "gss-tsig.":
// miekg/dns's TsigGenerateWithProvider signs with it (Sign does), and
// VerifyAnswer checks an answer and says how (a Verification).
//
// # Verifying answers, and Samba
//
// The final TKEY answer is verified when the server signs it (Samba 4.17
// and BIND 9.18 do, as RFC 3645 asks): its digest holds no request MAC at
// all (MS-GSSA section 3.1.5.1). The server has proven who it is by then
// anyway, with the Kerberos AP-REP that mutual authentication requires.
// BIND signs every later answer as RFC 8945 says (Verified).
//
// Samba's DNS server (checked against 4.17) signs the answers it makes
// with a digest that differs from RFC 8945 section 4.3.3: the request MAC
// comes first without its 2-byte length. That is why BIND's nsupdate
// prints "tsig verify failure" for every answer from Samba. This package
// checks RFC 8945's layout first and Samba's second, and reports
// VerifiedSamba when the second matched: both are MICs made with the
// context key, which only the server shares with srvctl, so both
// authenticate the answer (NOERROR updates, answers to queries, NXDOMAIN
// included).
//
// What Samba does not sign: an update it does not carry out (access
// denied, which it answers SERVFAIL where Windows says REFUSED; a failed
// prerequisite, YXRRSET/NXRRSET; NOTAUTH for an unknown key) comes back
// as a copy of the request with the rcode set, the request's own TSIG
// record included. VerifyAnswer reports NotVerified with ErrEchoedMAC for
// it. Such an answer is never a success; the caller that acts on it (maps
// SERVFAIL to UpdateDenied, retries on a prerequisite failure) confirms
// the zone's state with a signed read-back.
//
// Samba 4.17 also answers a TKEY deletion with NOERROR without deleting
// anything (its source says "TODO: implement me"): the context stays
// usable on the server until 128 newer contexts push it out of Samba's
// table. BIND deletes it (a message signed with it afterwards is answered
// BADKEY). After Close, a SecContext signs nothing more, whatever the
// server.
package gsstsig
