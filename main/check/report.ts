import { oneLine } from '../terminal-text';
import { FINDING_KINDS, type Finding, type FindingKind, processLabel } from './checked-process';

// What `poolscope check` found, three ways: a summary grouped by call site (stderr), a JSON
// document and a JUnit XML file for CI systems. The same groups and the same verdict in each.

export interface Verdict {
  /** Findings with whether the options allow them (--allow KIND, --max-leaks N). */
  findings: (Finding & { allowed: boolean })[];
  failing: number;
}

export interface CheckResult {
  command: string[];
  exitCode: number;
  commandExitCode: number | null;
  timedOut: boolean;
  timeoutMs: number;
  holdThresholdMs: number;
  processes: { pid: number; thread: number; command: string; pools: number; dropped: number; notes: string[] }[];
  verdict: Verdict;
}

export function judge(findings: Finding[], allow: ReadonlySet<FindingKind>, maxLeaks: number): Verdict {
  let leaks = 0;
  const judged = findings.map((f) => {
    const allowed = allow.has(f.kind) || (f.kind === 'leak' && ++leaks <= maxLeaks);
    return { ...f, allowed };
  });
  return { findings: judged, failing: judged.filter((f) => !f.allowed).length };
}

interface Group {
  kind: FindingKind;
  site: string;
  allowed: boolean;
  findings: Finding[];
}

/** One group per kind and call site, failing before allowed, in the order of FINDING_KINDS. */
function groups(verdict: Verdict): Group[] {
  const byKey = new Map<string, Group>();
  for (const f of verdict.findings) {
    const key = `${f.kind}\u0000${f.site}\u0000${f.allowed}`;
    const g = byKey.get(key) ?? { kind: f.kind, site: f.site, allowed: f.allowed, findings: [] };
    g.findings.push(f);
    byKey.set(key, g);
  }
  return [...byKey.values()].sort(
    (a, b) => Number(a.allowed) - Number(b.allowed) || FINDING_KINDS.indexOf(a.kind) - FINDING_KINDS.indexOf(b.kind) || b.findings.length - a.findings.length,
  );
}

const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The summary's lines (stderr): each group with its call site, how many, the first finding's words and where it happened. */
export function summaryLines(r: CheckResult): string[] {
  const pools = r.processes.reduce((n, p) => n + p.pools, 0);
  const watched = `${count(r.processes.length, 'process', 'processes')} (${count(pools, 'pool')})`;
  const lines: string[] = [];
  for (const p of r.processes) {
    for (const note of p.notes) lines.push(`poolscope check: note from ${processLabel(p)}: ${oneLine(note)}`);
    if (p.dropped > 0) lines.push(`poolscope check: ${processLabel(p)} dropped ${p.dropped} events: its findings may be incomplete`);
  }
  const all = groups(r.verdict);
  if (all.length === 0) {
    lines.push(`poolscope check: no pool findings in ${watched}`);
  } else {
    lines.push(`poolscope check: ${count(r.verdict.findings.length, 'finding')} in ${watched}, by call site:`);
    for (const g of all) {
      const f = g.findings[0] as Finding;
      const times = g.findings.length > 1 ? ` (${g.findings.length}x)` : '';
      lines.push(`  ${g.kind}${g.allowed ? ' (allowed)' : ''}  ${oneLine(g.site)}${times}`);
      lines.push(`      ${oneLine(f.message)}; ${oneLine(f.pool)}; ${processLabel(f)} ${oneLine(f.command).slice(0, 120)}`);
    }
  }
  const failing = all.filter((g) => !g.allowed);
  const verdict = r.verdict.failing === 0 ? 'passed' : `failed: ${failing.map((g) => g.kind).filter((k, i, a) => a.indexOf(k) === i).map((k) => count(r.verdict.findings.filter((f) => f.kind === k && !f.allowed).length, k)).join(', ')}`;
  const code = r.timedOut
    ? `the command did not end within --timeout ${r.timeoutMs / 1_000} s`
    : r.commandExitCode === null
      ? 'the command could not run'
      : r.commandExitCode !== 0
        ? `the command failed (exit ${r.commandExitCode})`
        : null;
  lines.push(`poolscope check: ${code ? `${code}; pool check ${verdict}` : verdict} (exit ${r.exitCode})`);
  return lines;
}

export function jsonReport(r: CheckResult): string {
  return JSON.stringify({ ...r, groups: groups(r.verdict).map((g) => ({ kind: g.kind, site: g.site, allowed: g.allowed, count: g.findings.length })) }, null, 2);
}

/** JUnit XML: one test case per kind and call site (allowed ones skipped), and one for the command's own end. */
export function junitReport(r: CheckResult): string {
  const cases: string[] = [];
  const ended = r.timedOut
    ? `<failure type="timeout" message="${xml(`did not end within --timeout ${r.timeoutMs / 1_000} s`)}"/>`
    : '';
  cases.push(`    <testcase classname="poolscope.check" name="the command ended">${ended}</testcase>`);
  const all = groups(r.verdict);
  if (all.length === 0) cases.push('    <testcase classname="poolscope.check" name="no pool findings"></testcase>');
  for (const g of all) {
    const details = g.findings.map((f) => `${f.message}; ${f.pool}; ${processLabel(f)} ${f.command}`).join('\n');
    const body = g.allowed
      ? `<skipped message="${xml(`allowed: ${g.findings.length} ${g.kind}`)}"/>`
      : `<failure type="${g.kind}" message="${xml(`${g.findings.length} ${g.kind} at ${g.site}`)}">${xml(details)}</failure>`;
    cases.push(`    <testcase classname="poolscope.check.${g.kind}" name="${xml(g.site)}">${body}</testcase>`);
  }
  const failures = all.filter((g) => !g.allowed).length + (r.timedOut ? 1 : 0);
  const skipped = all.filter((g) => g.allowed).length;
  const attrs = `name="poolscope check" tests="${cases.length}" failures="${failures}" skipped="${skipped}"`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ${attrs}>\n  <testsuite ${attrs}>\n${cases.join('\n')}\n  </testsuite>\n</testsuites>\n`;
}

/** Text as an XML attribute or element: markup escaped, characters XML 1.0 cannot hold removed. */
function xml(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}
