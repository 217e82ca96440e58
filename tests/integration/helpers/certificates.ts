import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PEM files of a throwaway PKI, by name: `${name}.pem` and `${name}.key` in `dir`. */
export interface TestCertificates {
  dir: string;
  /** The CA that signs every certificate below. */
  ca: string;
  /** A second CA that signed nothing the servers present: "the wrong CA". */
  otherCa: string;
  /** For localhost and 127.0.0.1. */
  server: { cert: string; key: string };
  /** For db.example.com only. */
  wrongHost: { cert: string; key: string };
  /** For localhost and 127.0.0.1, valid in 2020 only. */
  expired: { cert: string; key: string };
  /** For localhost and 127.0.0.1, valid for 5 days from the run's start: inside the expiry warning's 14. */
  soon: { cert: string; key: string };
  /** CN=certuser, for client certificate login. */
  client: { cert: string; key: string };
}

const CA_CONF = `[ca]
default_ca = test
[test]
dir = CADIR
database = CADIR/index.txt
new_certs_dir = CADIR/issued
serial = CADIR/serial
default_md = sha256
policy = any
copy_extensions = copy
[any]
commonName = supplied
`;

async function openssl(args: string[], cwd: string): Promise<void> {
  await run('openssl', args, { cwd });
}

/**
 * A CA, a second unrelated CA, server certificates for the right host, a wrong host, an
 * expired one and one near its end, and a client certificate, with Debian's openssl. EC P-256 keys: fast to make.
 */
export async function generateCertificates(dir: string): Promise<TestCertificates> {
  await mkdir(path.join(dir, 'issued'), { recursive: true });
  const key = (name: string) => openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`], dir);
  for (const [name, cn] of [['ca', 'Poolscope Test CA'], ['other-ca', 'Some Other CA']] as const) {
    await key(name);
    await openssl(['req', '-x509', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-days', '30', '-out', `${name}.pem`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  }
  const csr = async (name: string, cn: string, san: string | null) => {
    await key(name);
    await openssl(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`, ...(san ? ['-addext', `subjectAltName=${san}`] : [])], dir);
  };
  const sign = async (name: string, extra: string[]) => {
    await writeFile(path.join(dir, 'ca.cnf'), CA_CONF.replaceAll('CADIR', dir));
    await writeFile(path.join(dir, 'index.txt'), '');
    await writeFile(path.join(dir, 'serial'), `${Date.now().toString(16).padStart(16, '0')}\n`);
    await openssl(['ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', `${name}.csr`, '-out', `${name}.pem`, '-notext', ...extra], dir);
  };
  await csr('server', 'localhost', 'DNS:localhost,IP:127.0.0.1');
  await sign('server', ['-days', '30']);
  await csr('wrong-host', 'db.example.com', 'DNS:db.example.com');
  await sign('wrong-host', ['-days', '30']);
  await csr('expired', 'localhost', 'DNS:localhost,IP:127.0.0.1');
  await sign('expired', ['-startdate', '20200101000000Z', '-enddate', '20200201000000Z']);
  await csr('soon', 'localhost', 'DNS:localhost,IP:127.0.0.1');
  await sign('soon', ['-days', '5']);
  await csr('client', 'certuser', null);
  await sign('client', ['-days', '30']);
  const pair = (name: string) => ({ cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) });
  return {
    dir,
    ca: path.join(dir, 'ca.pem'),
    otherCa: path.join(dir, 'other-ca.pem'),
    server: pair('server'),
    wrongHost: pair('wrong-host'),
    expired: pair('expired'),
    soon: pair('soon'),
    client: pair('client'),
  };
}
