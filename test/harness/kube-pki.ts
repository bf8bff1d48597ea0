import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/**
 * The certificates and keys a test control plane needs, as files in one directory (the envtest layout, plus
 * a serving certificate so clients can verify the apiserver against the same CA).
 */
export interface KubePki {
  readonly dir: string;
  /** Signs the client and serving certificates; the apiserver's --client-ca-file. */
  readonly caCert: string;
  readonly caKey: string;
  /** The apiserver's serving certificate (127.0.0.1 and localhost). */
  readonly servingCert: string;
  readonly servingKey: string;
  /** The admin client certificate: CN=bmn-admin, O=system:masters. */
  readonly adminCert: string;
  readonly adminKey: string;
  /** Service-account token signing key pair (RSA). */
  readonly saSigningKey: string;
  readonly saPublicKey: string;
}

function ecKeyPem(): string {
  return generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({
    type: "pkcs8",
    format: "pem",
  }) as string;
}

async function openssl(args: readonly string[], cwd: string): Promise<void> {
  try {
    await execFileAsync("openssl", args, { cwd });
  } catch (error) {
    const err = error as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === "ENOENT") {
      throw new Error(
        "the control-plane harness needs the openssl CLI to sign X.509 certificates (node:crypto cannot create " +
          "them); install Debian's openssl package",
        { cause: error },
      );
    }
    throw new Error(`openssl ${args.join(" ")} failed: ${err.stderr ?? err.message}`, { cause: error });
  }
}

// Explicit extensions, so the result does not depend on the machine's openssl.cnf.
const opensslConfig = (servingSans: readonly string[]): string => `[req]
distinguished_name = dn
prompt = no
[dn]
CN = bmn-test-ca
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[serving]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = ${["IP:127.0.0.1", "DNS:localhost", ...servingSans].join(",")}
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
`;

/**
 * Creates the PKI in `dir`: keys with node:crypto, X.509 certificates signed with the openssl CLI (node:crypto
 * can parse certificates but not create them). Valid for two days; everything is throwaway test material.
 * `servingSans` adds subject alternative names (`IP:…`, `DNS:…`) to the apiserver's serving certificate.
 */
export async function createKubePki(dir: string, servingSans: readonly string[] = []): Promise<KubePki> {
  const path = (name: string): string => join(dir, name);
  const pki: KubePki = {
    dir,
    caCert: path("client-ca.crt"),
    caKey: path("client-ca.key"),
    servingCert: path("apiserver.crt"),
    servingKey: path("apiserver.key"),
    adminCert: path("admin.crt"),
    adminKey: path("admin.key"),
    saSigningKey: path("sa-signer.key"),
    saPublicKey: path("sa-signer.pub"),
  };
  const sa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  await Promise.all([
    writeFile(path("openssl.cnf"), opensslConfig(servingSans)),
    writeFile(pki.caKey, ecKeyPem(), { mode: 0o600 }),
    writeFile(pki.servingKey, ecKeyPem(), { mode: 0o600 }),
    writeFile(pki.adminKey, ecKeyPem(), { mode: 0o600 }),
    writeFile(pki.saSigningKey, sa.privateKey.export({ type: "pkcs8", format: "pem" }) as string, {
      mode: 0o600,
    }),
    writeFile(pki.saPublicKey, sa.publicKey.export({ type: "spki", format: "pem" }) as string),
  ]);
  const days = ["-days", "2"];
  await openssl(
    [
      "req",
      "-new",
      "-x509",
      "-config",
      "openssl.cnf",
      "-extensions",
      "ca",
      "-key",
      pki.caKey,
      "-out",
      pki.caCert,
      ...days,
    ],
    dir,
  );
  const sign = async (
    name: string,
    subject: string,
    extensions: string,
    cert: string,
    key: string,
  ): Promise<void> => {
    const csr = path(`${name}.csr`);
    await openssl(["req", "-new", "-config", "openssl.cnf", "-subj", subject, "-key", key, "-out", csr], dir);
    await openssl(
      [
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        pki.caCert,
        "-CAkey",
        pki.caKey,
        "-set_serial",
        `0x${Date.now().toString(16)}${name.length}`,
        "-extfile",
        "openssl.cnf",
        "-extensions",
        extensions,
        "-out",
        cert,
        ...days,
      ],
      dir,
    );
  };
  await sign("apiserver", "/CN=kube-apiserver", "serving", pki.servingCert, pki.servingKey);
  await sign("admin", "/O=system:masters/CN=bmn-admin", "client", pki.adminCert, pki.adminKey);
  return pki;
}
