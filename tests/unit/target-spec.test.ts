import { describe, expect, it } from 'vitest';
import { maskTarget, redactUrls, scrub } from '../../main/engine/errors';
import { parseTarget, specToFields, targetInfo, tlsAttempts } from '../../main/engine/target-spec';
import { MALFORMED_TARGETS, leaks } from './helpers/malformed-targets';

const NO_FILES = { ca: null, cert: null, key: null };

describe('targets', () => {
  it('reads PostgreSQL and MySQL URLs with their defaults', () => {
    expect(parseTarget('postgresql://alice:s%40cret@db.example/shop?sslmode=require')).toMatchObject({
      engine: 'postgres', host: 'db.example', port: 5432, user: 'alice', password: 's@cret', database: 'shop', tls: { mode: 'require', ...NO_FILES },
    });
    expect(parseTarget('mariadb://root@127.0.0.1/test')).toMatchObject({ engine: 'mysql', port: 3306, user: 'root', password: null, tls: { mode: 'disable', ...NO_FILES }, ssh: null });
  });

  it('shows a target without its password', () => {
    const info = targetInfo(parseTarget('postgres://alice:topsecret@db:6543/shop'));
    expect(info.display).toBe('postgres://alice@db:6543/shop');
    expect(JSON.stringify(info)).not.toContain('topsecret');
  });

  it('refuses a URL without a database, naming what is missing', () => {
    expect(() => parseTarget('mysql://root:pw@host:3306/')).toThrow(/names no database/);
  });
});

describe('TLS parameters in a URL', () => {
  const mode = (q: string) => parseTarget(`mysql://u@h/d?${q}`).tls.mode;

  it('reads the spellings of libpq and of MySQL clients; none means plaintext', () => {
    expect(mode('sslmode=verify-full')).toBe('verify-full');
    expect(mode('ssl-mode=REQUIRED')).toBe('require');
    expect(mode('sslMode=VERIFY_IDENTITY')).toBe('verify-full');
    expect(mode('ssl_mode=verify_ca')).toBe('verify-ca');
    expect(mode('ssl-mode=PREFERRED')).toBe('prefer');
    expect(mode('ssl-mode=DISABLED')).toBe('disable');
    // ssl=require once meant plaintext here; ssl=true verifies, as node-postgres reads it.
    expect(mode('ssl=require')).toBe('require');
    expect(mode('ssl=true')).toBe('verify-full');
    expect(mode('ssl=0')).toBe('disable');
    expect(mode('application_name=x')).toBe('disable');
  });

  it('reads the files, and a CA without a mode verifies', () => {
    expect(parseTarget('postgres://u@h/d?sslrootcert=/ca.pem&sslcert=/c.pem&sslkey=/k.pem').tls).toEqual({ mode: 'verify-full', ca: '/ca.pem', cert: '/c.pem', key: '/k.pem' });
    expect(parseTarget('mysql://u@h/d?ssl-mode=VERIFY_CA&ssl-ca=/ca.pem').tls).toEqual({ mode: 'verify-ca', ca: '/ca.pem', cert: null, key: null });
    expect(parseTarget('postgres://u@h/d?sslmode=verify-full&sslrootcert=system').tls).toEqual({ mode: 'verify-full', ...NO_FILES });
  });

  it('refuses an unknown TLS parameter or mode by name, and contradictions', () => {
    expect(() => parseTarget('postgres://u:pw@h/d?sslcompression=1')).toThrow('Unknown TLS parameter "sslcompression"');
    expect(() => parseTarget('postgres://u:pw@h/d?tls=on')).toThrow('Unknown TLS parameter "tls"');
    expect(() => parseTarget('postgres://u:pw@h/d?sslmode=strict')).toThrow('sslmode=strict in postgres://u:***@h/d?sslmode=strict is not a TLS mode');
    expect(() => parseTarget('postgres://u@h/d?sslmode=require&ssl-mode=VERIFY_CA')).toThrow('ask for different TLS modes');
    expect(() => parseTarget('postgres://u@h/d?sslmode=require&sslcert=/c.pem')).toThrow('sslcert in');
  });

  it('tries prefer and allow in libpq’s order; require with a CA verifies it', () => {
    expect(tlsAttempts({ mode: 'prefer', ...NO_FILES })).toEqual(['encrypt', 'off']);
    expect(tlsAttempts({ mode: 'allow', ...NO_FILES })).toEqual(['off', 'encrypt']);
    expect(tlsAttempts({ mode: 'require', ...NO_FILES })).toEqual(['encrypt']);
    expect(tlsAttempts({ mode: 'require', ca: '/ca.pem', cert: null, key: null })).toEqual(['verify-ca']);
  });

  it('exports a profile without any secret', () => {
    const spec = parseTarget({
      engine: 'postgres', host: 'db', database: 'd', user: 'u', password: 'db-pw', tls: { mode: 'verify-full', ca: '/ca.pem' },
      ssh: { host: 'bastion', user: 'me', auth: 'key', keyFile: '/k', passphrase: 'key-pw' },
    });
    const exported = JSON.stringify(specToFields(spec, { secrets: false }));
    expect(exported).not.toMatch(/db-pw|key-pw/);
    expect(specToFields(spec, { secrets: false })).toEqual({ engine: 'postgres', host: 'db', port: 5432, database: 'd', user: 'u', tls: { mode: 'verify-full', ca: '/ca.pem' }, ssh: { host: 'bastion', port: 22, user: 'me', auth: 'key', keyFile: '/k' } });
    expect(targetInfo(spec).display).toBe('postgres://u@db:5432/d');
  });
});

describe('scrubbing', () => {
  it('redacts credentials of any URL in a text', () => {
    expect(redactUrls('failed: postgres://bob:hunter2@x/db and mysql://a:b@c/d')).toBe('failed: postgres://bob:***@x/db and mysql://a:***@c/d');
  });

  it('removes the password wherever it stands, and a short one only as a whole word', () => {
    expect(scrub('auth failed for "hunter2" on host', 'hunter2')).toBe('auth failed for "***" on host');
    expect(scrub('password abc rejected; abcdef kept', 'abc')).toBe('password *** rejected; abcdef kept');
  });
});

describe('masking malformed targets', () => {
  it.each(MALFORMED_TARGETS)('$url: masked as shown, in a refusal and in a display', ({ url, secret }) => {
    const shown = maskTarget(url);
    expect(leaks(shown, secret, url), shown).toBeNull();
    // As typed, the scheme and host stay readable.
    expect(shown).toMatch(/127\.0\.0\.1|::1|^postgres:\/\/user:\*\*\*$/);
    let said: string;
    try {
      said = targetInfo(parseTarget(url)).display;
    } catch (err) {
      said = (err as Error).message;
    }
    expect(leaks(said, secret, url), said).toBeNull();
  });

  it('masks a URL by pattern inside any text (a driver message), the password ending at the @ before a host', () => {
    expect(redactUrls('connect to postgres://u:S3cret Pass@127.0.0.1:5432/ failed')).toBe('connect to postgres://u:***@127.0.0.1:5432/ failed');
    expect(redactUrls('at postgres:u:S3cretPass@h:5432/db')).toBe('at postgres:u:***@h:5432/db');
    expect(redactUrls('x mysql://r:p@ss@h/db y')).toBe('x mysql://r:***@h/db y');
    expect(redactUrls('"mysql://root@h/db?password=S3cret&ssl=1"')).toBe('"mysql://root@h/db?password=***&ssl=1"');
    expect(redactUrls('sslpassword=S3cret host=h')).toBe('sslpassword=*** host=h');
    expect(redactUrls('url postgres://u:S3cretPass and more')).toBe('url postgres://u:*** and more');
    // A user without a password stays; a port is not a password.
    expect(redactUrls('on postgres://alice@db:5432/shop and http://host:8080/x')).toBe('on postgres://alice@db:5432/shop and http://host:8080/x');
    expect(redactUrls("Access denied for user 'root'@'localhost' (using password: YES)")).toBe("Access denied for user 'root'@'localhost' (using password: YES)");
  });

  it('removes the known password percent-encoded too, as a URL holds it', () => {
    expect(scrub('url had S3cret%20Pass%40x in it', 'S3cret Pass@x')).toBe('url had *** in it');
  });
});
