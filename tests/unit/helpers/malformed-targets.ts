// Shared by the unit test of masking and the integration test of every output path.

/**
 * Targets as people mistype them, each with its secret: the secret never shows where the
 * target is echoed (maskTarget: messages, target.failed, recordings, `run --json`), nor in a
 * refusal's message, nor in the display of a target that parsed. `leaks` finds the secret or
 * a 4-character piece of it, so a cut or half-masked secret counts too.
 */
export const MALFORMED_TARGETS: { url: string; secret: string }[] = [
  { url: 'postgres://user:S3cret Pass@127.0.0.1:5432/', secret: 'S3cret Pass' },
  { url: 'postgres://user:S3cret Pass@127.0.0.1:5432/db', secret: 'S3cret Pass' },
  { url: 'postgres://user@127.0.0.1:5432/?password=S3cretPass', secret: 'S3cretPass' },
  { url: 'postgres:user:S3cretPass@127.0.0.1:5432/db', secret: 'S3cretPass' },
  { url: 'postgres://user:S3cret\tPass@127.0.0.1:5432/', secret: 'S3cret\tPass' },
  { url: 'postgres://user:S3cret\nPass@127.0.0.1:5432/db', secret: 'S3cret\nPass' },
  { url: 'postgres://user:S3cret%zzPass@127.0.0.1:5432/db', secret: 'S3cret%zzPass' },
  { url: 'postgres://user:S3cret%20Pass@127.0.0.1:5432/', secret: 'S3cret%20Pass' },
  { url: 'postgres://user@127.0.0.1:5432/?sslmode=require&sslpassword=S3cretPass', secret: 'S3cretPass' },
  { url: 'mysql://root@127.0.0.1:3306/?password=S3cretPass', secret: 'S3cretPass' },
  { url: 'mariadb://root@127.0.0.1:3306/?user=root&password=S3cret Pass&ssl=true', secret: 'S3cret Pass' },
  { url: 'postgres://user:S3cr@tPass@127.0.0.1:5432/', secret: 'S3cr@tPass' },
  { url: 'postgres://user:S3cr/tPass@127.0.0.1:5432/db', secret: 'S3cr/tPass' },
  { url: 'postgres://user:77/S3cretPass@127.0.0.1/db', secret: '77/S3cretPass' },
  { url: 'postgres://user:S3cr?tPass@127.0.0.1:5432/db', secret: 'S3cr?tPass' },
  { url: 'postgres://user:S3cretPass@[::1]:5432/', secret: 'S3cretPass' },
  { url: 'postgres://user:S3cretPass@::1:5432/db', secret: 'S3cretPass' },
  { url: 'POSTGRES://USER:S3cretPass@127.0.0.1:5432/', secret: 'S3cretPass' },
  { url: 'postgres://user:S3cretPass', secret: 'S3cretPass' },
  { url: 'postgres//user:S3cretPass@127.0.0.1/db', secret: 'S3cretPass' },
  { url: 'user:S3cretPass@127.0.0.1:5432/db', secret: 'S3cretPass' },
  { url: 'postgres://:S3cretPass@127.0.0.1:5432/', secret: 'S3cretPass' },
  { url: 'postgres://user:S3cret"Pass@127.0.0.1:5432/', secret: 'S3cret"Pass' },
  { url: 'ftp://user:S3cretPass@127.0.0.1/db', secret: 'S3cretPass' },
  { url: `postgres://user:${'S3cretPass'.repeat(30)}@127.0.0.1:5432/`, secret: 'S3cretPass'.repeat(30) },
];

/** A piece of `secret` (4 characters, not all lower-case letters) that `text` shows and `url` holds only inside the secret. */
export function leaks(text: string, secret: string, url = ''): string | null {
  const rest = url.replace(secret, ' ');
  for (let i = 0; i + 4 <= secret.length; i++) {
    const piece = secret.slice(i, i + 4);
    if (/^[a-z]+$/.test(piece) || rest.includes(piece)) continue;
    if (text.includes(piece)) return piece;
  }
  return null;
}
