import { describe, expect, it } from 'vitest';
import { redactUrls, scrub } from '../../main/engine/errors';
import { parseTarget, targetInfo } from '../../main/engine/target-spec';

describe('targets', () => {
  it('reads PostgreSQL and MySQL URLs with their defaults', () => {
    expect(parseTarget('postgresql://alice:s%40cret@db.example/shop?sslmode=require')).toMatchObject({
      engine: 'postgres', host: 'db.example', port: 5432, user: 'alice', password: 's@cret', database: 'shop', tls: true,
    });
    expect(parseTarget('mariadb://root@127.0.0.1/test')).toMatchObject({ engine: 'mysql', port: 3306, user: 'root', password: null, tls: false });
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

describe('scrubbing', () => {
  it('redacts credentials of any URL in a text', () => {
    expect(redactUrls('failed: postgres://bob:hunter2@x/db and mysql://a:b@c/d')).toBe('failed: postgres://bob:***@x/db and mysql://a:***@c/d');
  });

  it('removes the password wherever it stands, and a short one only as a whole word', () => {
    expect(scrub('auth failed for "hunter2" on host', 'hunter2')).toBe('auth failed for "***" on host');
    expect(scrub('password abc rejected; abcdef kept', 'abc')).toBe('password *** rejected; abcdef kept');
  });
});
