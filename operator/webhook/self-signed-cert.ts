import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  X509Certificate,
  type KeyObject,
} from "node:crypto";
import { isIP } from "node:net";
import {
  booleanTrue,
  explicit,
  namedBits,
  objectIdentifier,
  octetString,
  sequence,
  set,
  smallInteger,
  time,
  tlv,
  unsignedInteger,
  utf8String,
  bitString,
} from "./der.js";

/** PEM text of a certificate and its private key (PKCS#8). */
export interface CertificatePem {
  cert: string;
  key: string;
}

const ECDSA_WITH_SHA256 = sequence(objectIdentifier("1.2.840.10045.4.3.2"));
const COMMON_NAME = "2.5.4.3";
const DAY_MS = 86_400_000;
/** Clocks a little behind ours still accept a certificate made now. */
const BACKDATE_MS = 5 * 60_000;

function name(commonName: string): Buffer {
  return sequence(set(sequence(objectIdentifier(COMMON_NAME), utf8String(commonName))));
}

function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  return sequence(objectIdentifier(oid), ...(critical ? [booleanTrue()] : []), octetString(value));
}

/** `[2] dNSName` and `[7] iPAddress` entries of a subjectAltName. */
function subjectAltName(hosts: readonly string[]): Buffer {
  return sequence(
    ...hosts.map((host) => {
      const family = isIP(host);
      if (family === 4) return tlv(0x87, Buffer.from(host.split(".").map(Number)));
      if (family === 6) throw new Error(`IPv6 subjectAltName ${host} is not supported`);
      return tlv(0x82, Buffer.from(host, "ascii"));
    }),
  );
}

/** A key identifier: the SHA-1 of the public key's SubjectPublicKeyInfo (RFC 5280 4.2.1.2 allows any such hash). */
function keyIdentifier(publicKey: KeyObject): Buffer {
  return createHash("sha1")
    .update(publicKey.export({ type: "spki", format: "der" }))
    .digest();
}

/** subjectKeyIdentifier of the key, authorityKeyIdentifier of the signer's: strict verifiers want both. */
function keyIdentifiers(subjectKey: KeyObject, issuerKey: KeyObject): Buffer[] {
  return [
    extension("2.5.29.14", false, octetString(keyIdentifier(subjectKey))),
    extension("2.5.29.35", false, sequence(tlv(0x80, keyIdentifier(issuerKey)))),
  ];
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

interface CertificateRequest {
  subject: string;
  issuer: string;
  publicKey: KeyObject;
  signingKey: KeyObject;
  days: number;
  extensions: Buffer[];
  now: Date;
}

function certificate(request: CertificateRequest): Buffer {
  const notBefore = new Date(request.now.getTime() - BACKDATE_MS);
  const notAfter = new Date(request.now.getTime() + request.days * DAY_MS);
  // 16 random bytes, top bit cleared: a positive serial of at most 20 octets (RFC 5280 4.1.2.2).
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const tbs = sequence(
    explicit(0, smallInteger(2)),
    unsignedInteger(serial),
    ECDSA_WITH_SHA256,
    name(request.issuer),
    sequence(time(notBefore), time(notAfter)),
    name(request.subject),
    request.publicKey.export({ type: "spki", format: "der" }),
    explicit(3, sequence(...request.extensions)),
  );
  // ECDSA signatures from node:crypto are DER (r, s), as X.509 wants them.
  const signature = sign("sha256", tbs, request.signingKey);
  return sequence(tbs, ECDSA_WITH_SHA256, bitString(signature));
}

function newKey(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync("ec", { namedCurve: "prime256v1" });
}

/** A self-signed CA (P-256, ECDSA with SHA-256) that may sign server certificates only. */
export function createCa(commonName: string, days: number, now = new Date()): CertificatePem {
  const { privateKey, publicKey } = newKey();
  const der = certificate({
    subject: commonName,
    issuer: commonName,
    publicKey,
    signingKey: privateKey,
    days,
    now,
    extensions: [
      extension("2.5.29.19", true, sequence(booleanTrue(), smallInteger(0))), // CA, path length 0
      extension("2.5.29.15", true, namedBits([0, 5, 6])), // digitalSignature, keyCertSign, cRLSign
      ...keyIdentifiers(publicKey, publicKey),
    ],
  });
  return {
    cert: pem("CERTIFICATE", der),
    key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}

/** A TLS server certificate for `hosts` (DNS names or IPv4 addresses), signed by `ca`. */
export function createServingCert(
  ca: CertificatePem,
  hosts: readonly string[],
  days: number,
  now = new Date(),
): CertificatePem {
  const [first] = hosts;
  if (first === undefined) throw new Error("a serving certificate needs at least one host");
  const { privateKey, publicKey } = newKey();
  const caKey = createPrivateKey(ca.key);
  const caCert = new X509Certificate(ca.cert);
  const der = certificate({
    subject: first,
    issuer: commonNameOf(caCert),
    publicKey,
    signingKey: caKey,
    days,
    now,
    extensions: [
      extension("2.5.29.19", true, sequence()), // not a CA
      extension("2.5.29.15", true, namedBits([0])), // digitalSignature
      extension("2.5.29.37", false, sequence(objectIdentifier("1.3.6.1.5.5.7.3.1"))), // serverAuth
      extension("2.5.29.17", false, subjectAltName(hosts)),
      ...keyIdentifiers(publicKey, caCert.publicKey),
    ],
  });
  return {
    cert: pem("CERTIFICATE", der),
    key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}

/** The CN of a certificate's subject, which becomes the issuer of what it signs. */
function commonNameOf(cert: X509Certificate): string {
  const cn = /^CN=(.*)$/m.exec(cert.subject)?.[1];
  if (cn === undefined) throw new Error("the CA certificate has no CN");
  return cn;
}
