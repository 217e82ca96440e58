'use strict';
// The driver versions the agent was written and tested against. Outside them a driver is
// reported and left alone: its internals may differ, and half an instrumentation would
// show wrong numbers or break the app.

const fs = require('node:fs');
const path = require('node:path');

const TESTED = {
  pg: { major: 8, minMinor: 11, text: 'pg 8.11 to 8.x' },
  'pg-pool': { major: 3, minMinor: 6, text: 'pg-pool 3.6 to 3.x' },
  mysql2: { major: 3, minMinor: 9, text: 'mysql2 3.9 to 3.x' },
  knex: { major: 3, minMinor: 0, text: 'knex 3.0 to 3.x' },
  tarn: { major: 3, minMinor: 0, text: 'tarn 3.0 to 3.x' },
};

function versionAt(basedir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(basedir, 'package.json'), 'utf8')).version ?? null;
  } catch {
    return null;
  }
}

/** null when the version is in the tested range, else why it is left alone. */
function outsideRange(name, version) {
  const range = TESTED[name];
  const m = /^(\d+)\.(\d+)\./.exec(version ?? '');
  if (m && Number(m[1]) === range.major && Number(m[2]) >= range.minMinor) return null;
  return `${name} ${version ?? '(unknown version)'} is outside the tested range (${range.text}): not observed`;
}

module.exports = { versionAt, outsideRange };
