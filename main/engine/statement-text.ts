import type { EngineKind } from '../../shared/events';
import type { Scrubber } from './errors';

// How a statement is shown, ours (the pools' statement.* events) and other clients' (the
// server view) alike: string literals masked, on one line, scrubbed, and only then cut, so a
// cut never leaves a prefix of a secret. A literal the text ends inside (the server cut the
// query, or the statement is unfinished) is masked to the end.

export const SQL_SHOWN = 200;
/** Distinct statement texts remembered: an application runs a handful, again and again. */
const TEXTS_KEPT = 512;
const MASK = "'***'";

/** Where the quoted run starting at `i` (its opening quote) ends: after the closing quote, or the text's end. */
function quotedEnd(sql: string, i: number, quote: string, backslash: boolean): number {
  for (let j = i + 1; j < sql.length; j++) {
    const c = sql[j];
    if (backslash && c === '\\') j++;
    else if (c === quote) {
      if (sql[j + 1] !== quote) return j + 1;
      j++; // a doubled quote stands for one
    }
  }
  return sql.length;
}

const DOLLAR_TAG = /\$([A-Za-z_][A-Za-z0-9_]*)?\$/y;
const WORD_CHAR = /[A-Za-z0-9_$]/;

/**
 * `SELECT 'secret', $$body$$` → `SELECT '***', '***'`. PostgreSQL: '…' (backslash escapes
 * only in E'…'), dollar quotes; "…" is an identifier. MySQL/MariaDB: '…' and "…" with
 * backslash escapes; `…` is an identifier. Comments and identifiers are kept, so the
 * quotes in them do not open a literal.
 */
export function maskLiterals(sql: string, engine: EngineKind): string {
  let out = '';
  let from = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    let end = -1;
    let literal = false;
    if ((c === '-' && next === '-') || (c === '#' && engine === 'mysql')) {
      const nl = sql.indexOf('\n', i);
      end = nl < 0 ? sql.length : nl;
    } else if (c === '/' && next === '*') {
      const close = sql.indexOf('*/', i + 2);
      end = close < 0 ? sql.length : close + 2;
    } else if (c === "'") {
      const escaped = engine === 'mysql' || /[eE]/.test(sql[i - 1] ?? '') && !WORD_CHAR.test(sql[i - 2] ?? '');
      end = quotedEnd(sql, i, "'", escaped);
      literal = true;
    } else if (c === '"') {
      end = quotedEnd(sql, i, '"', engine === 'mysql');
      literal = engine === 'mysql';
    } else if (c === '`' && engine === 'mysql') {
      end = quotedEnd(sql, i, '`', false);
    } else if (c === '$' && engine === 'postgres' && !WORD_CHAR.test(sql[i - 1] ?? '')) {
      DOLLAR_TAG.lastIndex = i;
      const tag = DOLLAR_TAG.exec(sql);
      if (tag) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        end = close < 0 ? sql.length : close + tag[0].length;
        literal = true;
      }
    }
    if (end < 0) {
      i++;
      continue;
    }
    if (literal) {
      out += `${sql.slice(from, i)}${MASK}`;
      from = end;
    }
    i = end;
  }
  return out + sql.slice(from);
}

/** A statement as shown: literals masked, one line, scrubbed, then cut to SQL_SHOWN. */
export function statementText(sql: string, engine: EngineKind, scrub: Scrubber): string {
  const shown = scrub(maskLiterals(sql, engine).replace(/\s+/g, ' ').trim());
  return shown.length > SQL_SHOWN ? `${shown.slice(0, SQL_SHOWN - 1)}…` : shown;
}

/** statementText, remembered by statement: shaping it per statement cost more than the rest of the event. */
export function statementTexts(engine: EngineKind, scrub: Scrubber): (sql: string) => string {
  const texts = new Map<string, string>();
  return (sql) => {
    let text = texts.get(sql);
    if (text === undefined) {
      text = statementText(sql, engine, scrub);
      if (texts.size >= TEXTS_KEPT) texts.clear();
      texts.set(sql, text);
    }
    return text;
  };
}
