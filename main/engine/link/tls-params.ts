import type { TlsFields, TlsMode } from '../../../shared/target-schema';
import { PoolscopeError } from '../errors';

// The TLS parameters of a database URL, as libpq and MySQL clients spell them. Each is
// understood or refused with its name: none is dropped silently (ssl=require, ssl-mode=REQUIRED
// and sslMode=… once meant plaintext).

/** Mode words, lower case with `_` as `-`: libpq's and MySQL's (DISABLED … VERIFY_IDENTITY). */
const MODES: Record<string, TlsMode> = {
  disable: 'disable',
  disabled: 'disable',
  allow: 'allow',
  prefer: 'prefer',
  preferred: 'prefer',
  require: 'require',
  required: 'require',
  'verify-ca': 'verify-ca',
  'verify-full': 'verify-full',
  'verify-identity': 'verify-full',
};

/** ssl=true means verify-full, as node-postgres and pgJDBC read it: say sslmode=require to skip verification. */
const BOOLEANS: Record<string, TlsMode> = { true: 'verify-full', '1': 'verify-full', false: 'disable', '0': 'disable' };

/** Parameter names with case, `-` and `_` ignored: sslmode, ssl-mode, sslMode, ssl_mode are one. */
type Known = 'mode' | 'ssl' | 'ca' | 'cert' | 'key';
const NAMES: Record<string, Known> = {
  sslmode: 'mode',
  ssl: 'ssl',
  sslrootcert: 'ca',
  sslca: 'ca',
  sslcert: 'cert',
  sslkey: 'key',
};

const UNDERSTOOD = 'Poolscope reads sslmode (or ssl-mode), ssl, sslrootcert (or ssl-ca), sslcert (or ssl-cert) and sslkey (or ssl-key).';

const isTlsName = (name: string) => /^(ssl|tls)/i.test(name) || /ssl/i.test(name);

function modeOf(name: string, value: string, shown: string): TlsMode {
  const mode = MODES[value.trim().toLowerCase().replace(/_/g, '-')];
  if (!mode) {
    throw new PoolscopeError(
      'bad-target',
      `${name}=${value} in ${shown} is not a TLS mode. Use disable, allow, prefer, require, verify-ca or verify-full (MySQL's DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY are read too).`,
    );
  }
  return mode;
}

/** The URL's TLS settings, or null when it names none. Throws on an unknown or contradictory one. */
export function readTlsParams(params: URLSearchParams, shown: string): TlsFields | null {
  let mode: { mode: TlsMode; from: string } | null = null;
  const files: Partial<Record<'ca' | 'cert' | 'key', string>> = {};
  for (const [name, value] of params) {
    const known = NAMES[name.toLowerCase().replace(/[-_]/g, '')];
    if (!known) {
      if (isTlsName(name)) throw new PoolscopeError('bad-target', `Unknown TLS parameter "${name}" in ${shown}. ${UNDERSTOOD}`);
      continue;
    }
    if (known === 'mode' || known === 'ssl') {
      const m = known === 'ssl' && BOOLEANS[value.trim().toLowerCase()] ? (BOOLEANS[value.trim().toLowerCase()] as TlsMode) : modeOf(name, value, shown);
      if (mode && mode.mode !== m) throw new PoolscopeError('bad-target', `${mode.from} and ${name}=${value} in ${shown} ask for different TLS modes: keep one.`);
      mode = { mode: m, from: `${name}=${value}` };
      continue;
    }
    if (value.trim() === '') throw new PoolscopeError('bad-target', `${name} in ${shown} is empty: give the path of a PEM file.`);
    // libpq's sslrootcert=system: the public roots, which is also what no CA file means here.
    if (known === 'ca' && value.trim().toLowerCase() === 'system') continue;
    files[known] = value.trim();
  }
  if (!mode && Object.keys(files).length === 0) return null;
  if ((files.cert === undefined) !== (files.key === undefined)) {
    throw new PoolscopeError('bad-target', `${files.cert ? 'sslcert' : 'sslkey'} in ${shown} needs ${files.cert ? 'sslkey' : 'sslcert'} too: a client certificate is used with its key.`);
  }
  // A CA or client certificate without a mode: the files are there to be used, so TLS is required.
  return { mode: mode?.mode ?? (files.ca ? 'verify-full' : 'require'), ...files };
}
