import { describe, expect, it } from 'vitest';
import { scrubber } from '../../main/engine/errors';
import { SQL_SHOWN, maskLiterals, statementText } from '../../main/engine/statement-text';

// Statements as shown (ours and other clients'): literals masked, then one line, scrubbed, cut.

describe('masking literals', () => {
  it.each([
    ['postgres', "SELECT 'secret', 1", "SELECT '***', 1"],
    ['postgres', "SELECT 'it''s secret' AS a", "SELECT '***' AS a"],
    ['postgres', "SELECT 'a\\', 'secret'", "SELECT '***', '***'"], // standard strings: \ is a character
    ['postgres', "SELECT E'a\\'b secret', 2", "SELECT E'***', 2"],
    ['postgres', 'ALTER ROLE bob PASSWORD $$secret$$', "ALTER ROLE bob PASSWORD '***'"],
    ['postgres', 'DO $body$ BEGIN PERFORM 1; END $body$', "DO '***'"],
    ['postgres', 'SELECT $1, a$b$c FROM t', 'SELECT $1, a$b$c FROM t'],
    ['postgres', `SELECT "it's" FROM t WHERE x = 'secret'`, `SELECT "it's" FROM t WHERE x = '***'`],
    ['postgres', "SELECT 1 -- don't\n, 'secret'", "SELECT 1 -- don't\n, '***'"],
    ['postgres', "SELECT /* it's */ 'secret'", "SELECT /* it's */ '***'"],
    ['postgres', "SELECT 'unterminated secret", "SELECT '***'"],
    ['mysql', "SELECT 'it\\'s secret', 1", "SELECT '***', 1"],
    ['mysql', 'SELECT "secret", `it\'s`', "SELECT '***', `it's`"],
    ['mysql', "ALTER USER bob IDENTIFIED BY 'secret' # don't", "ALTER USER bob IDENTIFIED BY '***' # don't"],
    ['mysql', "SELECT 'a''b', 'c'", "SELECT '***', '***'"],
  ] as const)('%s: %s', (engine, sql, masked) => {
    expect(maskLiterals(sql, engine)).toBe(masked);
  });
});

describe('a statement as shown', () => {
  it('is masked before it is cut: a literal across the cut leaves no prefix', () => {
    const sql = `SELECT ${'x, '.repeat(60)}'S3cretLiteralThatRunsPastTheCut${'z'.repeat(100)}'`;
    const shown = statementText(sql, 'postgres', scrubber(null));
    expect(shown.length).toBeLessThanOrEqual(SQL_SHOWN);
    expect(shown).not.toContain('S3c');
  });

  it("is scrubbed before it is cut: the target's password across the cut leaves no prefix", () => {
    const password = 'Hunter2Hunter2Hunter2';
    const sql = `SELECT ${'x, '.repeat(55)}1 /* dsn password ${password} */`;
    expect(sql.indexOf(password)).toBeLessThan(SQL_SHOWN);
    expect(sql.indexOf(password) + password.length).toBeGreaterThan(SQL_SHOWN);
    const shown = statementText(sql, 'postgres', scrubber(password));
    expect(shown).not.toContain('Hunt');
  });

  it('is one line, whitespace collapsed', () => {
    expect(statementText("SELECT 1,\n\t  'a\nb'", 'postgres', scrubber(null))).toBe("SELECT 1, '***'");
  });
});
