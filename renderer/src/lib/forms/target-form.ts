// The target form in plain TypeScript: what the user typed (engine, host, TLS mode and
// files, an SSH leg) → target fields the API accepts, checked with shared/target-schema's
// schema; and back, for a URL imported into the form or a saved profile opened in it.

import type { ApiError, PoolSettingsInput, TargetRequest } from '../../../../shared/api';
import type { EngineKind, PoolSettings } from '../../../../shared/events';
import { SETTINGS_OF } from '../../../../shared/settings-help';
import { modeName } from '../../../../shared/protection';
import { type SshAuth, type TargetFields, type TlsMode, TLS_MODES, targetFieldsSchema } from '../../../../shared/target-schema';
import type { Checked } from './controls';

export interface TargetForm {
  engine: EngineKind;
  host: string;
  port: string;
  database: string;
  user: string;
  password: string;
  tlsMode: TlsMode;
  ca: string;
  cert: string;
  key: string;
  useSsh: boolean;
  sshHost: string;
  sshPort: string;
  sshUser: string;
  sshAuth: SshAuth;
  sshKeyFile: string;
  sshPassphrase: string;
  sshPassword: string;
}

export function emptyTargetForm(): TargetForm {
  return {
    engine: 'postgres',
    host: '',
    port: '',
    database: '',
    user: '',
    password: '',
    tlsMode: 'verify-full',
    ca: '',
    cert: '',
    key: '',
    useSsh: false,
    sshHost: '',
    sshPort: '22',
    sshUser: '',
    sshAuth: 'key',
    sshKeyFile: '',
    sshPassphrase: '',
    sshPassword: '',
  };
}

/** The TLS modes as the engine's clients name them, with what each checks. */
export function tlsModeOptions(engine: EngineKind): { value: TlsMode; label: string }[] {
  const what: Record<TlsMode, string> = {
    disable: 'no TLS',
    allow: 'plaintext, TLS if the server insists; not verified',
    prefer: 'TLS if offered, else plaintext; not verified',
    require: 'TLS, server NOT verified',
    'verify-ca': 'TLS, CA verified, host name not checked',
    'verify-full': 'TLS, CA and host name verified',
  };
  return TLS_MODES.map((value) => ({ value, label: `${modeName(engine, value).replace(/^ssl-?mode=/, '')}: ${what[value]}` }));
}

const text = (v: string) => v.trim();
const optional = (v: string) => (v.trim() === '' ? undefined : v.trim());

function port(v: string, what: string): Checked<number | undefined> {
  if (v.trim() === '') return { ok: true, value: undefined };
  const n = Number(v.trim());
  if (!/^\d+$/.test(v.trim()) || n < 1 || n > 65_535) return { ok: false, error: `${what} must be a whole number from 1 to 65535` };
  return { ok: true, value: n };
}

/** Target fields from the form, checked; every secret kept as typed (never trimmed). */
export function targetFieldsFrom(form: TargetForm): Checked<TargetFields> {
  const dbPort = port(form.port, 'port');
  if (!dbPort.ok) return dbPort;
  const sshPort = port(form.sshPort, 'SSH port');
  if (!sshPort.ok) return sshPort;
  const fields: Record<string, unknown> = {
    engine: form.engine,
    host: text(form.host),
    database: text(form.database),
    user: text(form.user),
    ...(dbPort.value === undefined ? {} : { port: dbPort.value }),
    ...(form.password === '' ? {} : { password: form.password }),
    tls: { mode: form.tlsMode, ...(optional(form.ca) ? { ca: optional(form.ca) } : {}), ...(optional(form.cert) ? { cert: optional(form.cert) } : {}), ...(optional(form.key) ? { key: optional(form.key) } : {}) },
  };
  if (form.useSsh) {
    fields.ssh = {
      host: text(form.sshHost),
      ...(sshPort.value === undefined ? {} : { port: sshPort.value }),
      user: text(form.sshUser),
      auth: form.sshAuth,
      ...(form.sshAuth === 'key' && optional(form.sshKeyFile) ? { keyFile: optional(form.sshKeyFile) } : {}),
      ...(form.sshAuth === 'key' && form.sshPassphrase !== '' ? { passphrase: form.sshPassphrase } : {}),
      ...(form.sshAuth === 'password' && form.sshPassword !== '' ? { password: form.sshPassword } : {}),
    };
  }
  const r = targetFieldsSchema.safeParse(fields);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue?.path.join('.') ?? '';
    return { ok: false, error: `${where ? `${where}: ` : ''}${issue?.message ?? 'invalid target'}` };
  }
  return { ok: true, value: r.data };
}

/** The form showing these fields (an imported URL, a saved profile); secrets it does not hold stay empty. */
export function targetFormFrom(f: TargetFields): TargetForm {
  const base = emptyTargetForm();
  return {
    ...base,
    engine: f.engine,
    host: f.host,
    port: f.port === undefined ? '' : String(f.port),
    database: f.database,
    user: f.user,
    password: f.password ?? '',
    tlsMode: f.tls?.mode ?? 'disable',
    ca: f.tls?.ca ?? '',
    cert: f.tls?.cert ?? '',
    key: f.tls?.key ?? '',
    useSsh: f.ssh !== undefined,
    sshHost: f.ssh?.host ?? '',
    sshPort: f.ssh?.port === undefined ? '22' : String(f.ssh.port),
    sshUser: f.ssh?.user ?? '',
    sshAuth: f.ssh?.auth ?? 'key',
    sshKeyFile: f.ssh?.keyFile ?? '',
    sshPassphrase: f.ssh?.passphrase ?? '',
    sshPassword: f.ssh?.password ?? '',
  };
}

export type HostKey = NonNullable<ApiError['hostKey']>;

/**
 * The host key an SSH refusal is about, when the user may accept it (an unknown key; a
 * changed one is refused). The transport's error, or the inspector's error caused by it.
 */
export function unknownHostKey(err: unknown): HostKey | null {
  for (let e = err as { code?: unknown; hostKey?: HostKey; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === 'ssh-host-key-unknown' && e.hostKey) return e.hostKey;
  }
  return null;
}

/** The same connect request, with the host key the user accepted. */
export function withHostKey(req: TargetRequest, fingerprint: string): TargetRequest {
  if (req.kind === 'saved') return { ...req, hostKey: fingerprint };
  if (req.kind === 'fields' && req.fields.ssh) return { ...req, fields: { ...req.fields, ssh: { ...req.fields.ssh, hostKey: fingerprint } } };
  return req;
}

/** A pool's settings as a profile keeps them: the driver's own, those set. */
export function profileSettings(engine: EngineKind, s: PoolSettings): PoolSettingsInput {
  const out: Record<string, unknown> = {};
  for (const k of SETTINGS_OF[engine]) if (s[k] !== null) out[k] = s[k];
  return out as PoolSettingsInput;
}
