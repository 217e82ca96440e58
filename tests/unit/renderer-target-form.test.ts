import { describe, expect, it } from 'vitest';
import { emptyTargetForm, targetFieldsFrom, targetFormFrom, tlsModeOptions, unknownHostKey, withHostKey } from '../../renderer/src/lib/forms/target-form';

const FP = `SHA256:${'A'.repeat(43)}`;

describe('the target form', () => {
  it('builds fields with the TLS mode and files and an SSH leg, secrets as typed', () => {
    const form = { ...emptyTargetForm(), host: ' db.internal ', port: '6432', database: 'shop', user: 'app', password: ' pw ', tlsMode: 'verify-ca' as const, ca: '/ca.pem' };
    expect(targetFieldsFrom(form)).toEqual({ ok: true, value: { engine: 'postgres', host: 'db.internal', port: 6432, database: 'shop', user: 'app', password: ' pw ', tls: { mode: 'verify-ca', ca: '/ca.pem' } } });
    const ssh = { ...form, useSsh: true, sshHost: 'bastion', sshUser: 'me', sshAuth: 'key' as const, sshKeyFile: '/id', sshPassphrase: 'k' };
    expect(targetFieldsFrom(ssh)).toMatchObject({ ok: true, value: { ssh: { host: 'bastion', port: 22, user: 'me', auth: 'key', keyFile: '/id', passphrase: 'k' } } });
  });

  it('refuses what the API would refuse, naming the field', () => {
    expect(targetFieldsFrom({ ...emptyTargetForm(), host: 'h', database: 'd', user: 'u', port: '70000' })).toEqual({ ok: false, error: 'port must be a whole number from 1 to 65535' });
    expect(targetFieldsFrom({ ...emptyTargetForm(), host: 'h', database: 'd', user: 'u', cert: '/c.pem' })).toEqual({ ok: false, error: 'tls.key: a client certificate needs its key, and a key its certificate' });
    expect(targetFieldsFrom({ ...emptyTargetForm(), host: 'h', database: 'd', user: 'u', useSsh: true, sshHost: 'b', sshUser: 'me' })).toEqual({ ok: false, error: 'ssh.keyFile: key authentication needs a private key file' });
  });

  it('shows imported fields back, and names MySQL modes as MySQL clients do', () => {
    const f = { engine: 'mysql' as const, host: 'h', port: 3307, database: 'd', user: 'u', tls: { mode: 'verify-full' as const, ca: '/ca' } };
    expect(targetFieldsFrom(targetFormFrom(f))).toEqual({ ok: true, value: f });
    expect(tlsModeOptions('mysql').map((o) => o.label.split(':')[0])).toEqual(['DISABLED', 'allow', 'PREFERRED', 'REQUIRED', 'VERIFY_CA', 'VERIFY_IDENTITY']);
  });

  it('sends the refused request again with the host key the user accepted; a changed key cannot be accepted', () => {
    const hostKey = { host: 'b', port: 22, keyType: 'ssh-ed25519', fingerprint: FP };
    expect(unknownHostKey({ code: 'ssh-host-key-unknown', hostKey })).toEqual(hostKey);
    // As the inspector passes it on: its own error, caused by the transport's.
    expect(unknownHostKey(new Error('unknown host', { cause: { code: 'ssh-host-key-unknown', hostKey } }))).toEqual(hostKey);
    expect(unknownHostKey({ code: 'ssh-host-key-changed', hostKey })).toBeNull();
    expect(withHostKey({ kind: 'saved', id: 'x' }, FP)).toEqual({ kind: 'saved', id: 'x', hostKey: FP });
    const fields = { engine: 'postgres' as const, host: 'h', database: 'd', user: 'u', ssh: { host: 'b', user: 'me', auth: 'agent' as const } };
    expect(withHostKey({ kind: 'fields', fields }, FP)).toEqual({ kind: 'fields', fields: { ...fields, ssh: { ...fields.ssh, hostKey: FP } } });
  });
});
