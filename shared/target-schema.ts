import { z } from 'zod';

/** libpq's sslmode values; MySQL's ssl-mode names map onto them (tls-modes in main/engine/link). */
export const TLS_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type TlsMode = (typeof TLS_MODES)[number];

export const SSH_AUTHS = ['key', 'password', 'agent'] as const;
export type SshAuth = (typeof SSH_AUTHS)[number];

/** `SHA256:` and the unpadded base64 of a key's SHA-256, as `ssh-keygen -l` prints it. */
export const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

const filePath = (what: string) => z.string().trim().min(1, `${what} is empty`).max(4_096);

export const tlsFieldsSchema = z
  .object({
    mode: z.enum(TLS_MODES),
    /** CA certificate(s), PEM (sslrootcert / ssl-ca); absent: the public roots Node ships. */
    ca: filePath('the CA file').optional(),
    /** Client certificate and its key, PEM (sslcert / sslkey, ssl-cert / ssl-key). */
    cert: filePath('the client certificate file').optional(),
    key: filePath('the client key file').optional(),
  })
  .strict()
  .refine((t) => (t.cert === undefined) === (t.key === undefined), { message: 'a client certificate needs its key, and a key its certificate', path: ['key'] });
export type TlsFields = z.infer<typeof tlsFieldsSchema>;

export const sshFieldsSchema = z
  .object({
    host: z.string().trim().min(1, 'SSH host is required').max(255),
    port: z.number().int().min(1).max(65535).optional(),
    user: z.string().trim().min(1, 'SSH user is required').max(128),
    auth: z.enum(SSH_AUTHS),
    /** Private key file (auth 'key'). */
    keyFile: filePath('the SSH key file').optional(),
    /** The key's passphrase: a secret, like the passwords. */
    passphrase: z.string().max(1_024).optional(),
    /** auth 'password': a secret. */
    password: z.string().max(1_024).optional(),
    /** The host key's fingerprint the user accepted (or gave with --ssh-host-key). */
    hostKey: z.string().regex(FINGERPRINT, 'the host key must be a fingerprint such as SHA256: followed by 43 base64 characters').optional(),
  })
  .strict()
  .refine((s) => s.auth !== 'key' || s.keyFile !== undefined, { message: 'key authentication needs a private key file', path: ['keyFile'] });
export type SshFields = z.infer<typeof sshFieldsSchema>;

// A target typed as fields rather than a URL (the target panel's form, a scenario, a profile).
export const targetFieldsSchema = z.object({
  engine: z.enum(['postgres', 'mysql']),
  host: z.string().min(1, 'host is required').max(255),
  port: z.number().int().min(1).max(65535).optional(),
  database: z.string().min(1, 'database is required').max(128),
  user: z.string().min(1, 'user is required').max(128),
  password: z.string().max(1024).optional(),
  tls: tlsFieldsSchema.optional(),
  ssh: sshFieldsSchema.optional(),
});

export type TargetFields = z.infer<typeof targetFieldsSchema>;
