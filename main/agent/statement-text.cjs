'use strict';
// A statement as it leaves the app: literals masked (values never leave), cut to 300
// characters. Made when the channel sends it, not on the request's path, once per text: an
// app runs the same few statements again and again.

const MAX = 300;
const texts = new Map();
const MAX_TEXTS = 1024;

function statementText(sql) {
  if (typeof sql !== 'string') return '(not text)';
  let text = texts.get(sql);
  if (text === undefined) {
    text = mask(sql);
    if (texts.size >= MAX_TEXTS) texts.clear();
    texts.set(sql, text);
  }
  return text;
}

function mask(sql) {
  const masked = sql
    .replace(/'(?:[^'\\]|''|\\.)*'/g, "'?'")
    .replace(/(?<![\w$.])-?\d+(?:\.\d+)?(?![\w])/g, '?');
  return masked.length > MAX ? `${masked.slice(0, MAX)}…` : masked;
}

module.exports = { statementText };
