'use strict';
// A statement as it leaves the app: literals masked (values never leave), cut to 300
// characters. Made when the channel sends it, not on the request's path.

const MAX = 300;

function statementText(sql) {
  if (typeof sql !== 'string') return '(not text)';
  const masked = sql
    .replace(/'(?:[^'\\]|''|\\.)*'/g, "'?'")
    .replace(/(?<![\w$.])-?\d+(?:\.\d+)?(?![\w])/g, '?');
  return masked.length > MAX ? `${masked.slice(0, MAX)}…` : masked;
}

module.exports = { statementText };
