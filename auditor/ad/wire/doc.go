// Package wire decodes and encodes the binary values that Active
// Directory-integrated DNS and Windows security use, and decides from a
// node's security descriptor whether an account may update its records.
//
// It covers:
//
//   - SID (MS-DTYP 2.4.2) and GUID (MS-DTYP 2.3.4.2, in the mixed-endian
//     order ACEs and objectGUID values use);
//   - self-relative SECURITY_DESCRIPTOR, ACL and ACE (MS-DTYP 2.4.6, 2.4.5,
//     2.4.4) with Marshal, so a DACL can be changed and written back;
//   - SDDL text of ACEs and descriptors (MS-DTYP 2.5.1) for display and for
//     fix commands such as samba-tool dsacl set --sddl;
//   - the access check of MS-DTYP 2.5.3.2 with the object-specific rules of
//     2.5.3.3, specialised to the question srvctl asks: may this account write
//     dnsRecord and dNSTombstoned on the _vlmcs._tcp dnsNode;
//   - dnsRecord (DNS_RPC_RECORD, MS-DNSP 2.3.2.2) and dNSProperty (MS-DNSP
//     2.3.2.1) attribute values.
//
// The package is pure: no I/O, no logging, standard library only. Parsers
// never read outside the slice they are given; malformed input yields a
// *FormatError that names the structure, the field and its byte offset.
// Decoded values never alias the input slice.
package wire
