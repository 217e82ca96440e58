import { describe, expect, it } from 'vitest';
import { ROW, type Row } from '../../main/engine/attach/agent-protocol';
import { CheckedProcess } from '../../main/check/checked-process';
import { judge, junitReport, summaryLines } from '../../main/check/report';

// One process's agent rows, as main/agent/recorder.cjs writes them, reduced by `poolscope
// check` to findings: the cases the integration suites cannot arrange (rows lost, a state sync
// after them, a pool ended under its borrower reported once) and what the reports make of text.

const info = { engine: 'postgres', driver: 'pg 8.23.1', tls: false, host: '127.0.0.1', port: 5432, database: 'app', user: 'app', max: 2, min: 0, acquireTimeoutMs: 200, idleTimeoutMs: 10_000, queryTimeoutMs: 0, maxUses: null, maxLifetimeSeconds: null };
const row = (kind: number, t: number, a: number, b = 0, c = 0, ref: unknown = null): Row => [kind, t, a, b, c, ref];
const opened = [row(ROW.POOL, 1, 1, 0, 0, info), row(ROW.POOL_SITE, 1, 1, 0, 0, 'db.js:3'), row(ROW.OPEN, 2, 1, 1, 77, 5)];

function reduced(rows: Row[], holdMs = 5_000): CheckedProcess {
  const p = new CheckedProcess(42, 0, 'node app.js', holdMs);
  p.rows(rows, 0);
  return p;
}

describe('check: findings from the agent rows', () => {
  it('a borrower still holding when its pool ended is one leak, not a second one at exit', () => {
    const p = reduced([...opened, row(ROW.ENQUEUE, 3, 1, 1, 0, 'orders.js:9'), row(ROW.ACQUIRE, 3, 1, 1), row(ROW.POOL_ENDING, 10, 1), row(ROW.POOL_ENDED, 12, 1)]);
    // The agent's state at exit still lists the borrower of the ended pool.
    p.sync({ type: 'sync', t: 20, dropped: 0, notes: [], pools: [{ id: 1, info: info as never, status: 'ended' }], conns: [], borrowers: [{ id: 1, pool: 1, site: 'orders.js:9', t: 3, conn: 1, acquiredAt: 3 }] });
    p.end('exited');
    expect(p.findings.map((f) => [f.kind, f.site, f.message])).toEqual([['leak', 'orders.js:9', 'a connection still borrowed when its pool ended (held 9 ms)']]);
  });

  it('after rows were lost, the state sync decides what was still held at exit', () => {
    const p = reduced([...opened, row(ROW.ENQUEUE, 3, 1, 1, 0, 'a.js:1'), row(ROW.ACQUIRE, 3, 1, 1)]);
    // Lost: a.js released; b.js borrowed connection 2 and began a transaction.
    p.sync({
      type: 'sync',
      t: 50,
      dropped: 7,
      notes: ['pg 7.0.0 is outside the tested range'],
      pools: [{ id: 1, info: info as never, status: 'open' }],
      conns: [{ id: 1, pool: 1, serverId: 77, tx: 0 }, { id: 2, pool: 1, serverId: 78, tx: 1 }],
      borrowers: [{ id: 9, pool: 1, site: 'b.js:2', t: 40, conn: 2, acquiredAt: 41 }],
    });
    p.end('exited');
    expect(p.findings.map((f) => [f.kind, f.site])).toEqual([
      ['leak', 'b.js:2'],
      ['open-transaction', 'b.js:2'],
      ['unended-pool', 'db.js:3'],
    ]);
    expect(p.dropped).toBe(7);
    expect(p.notes).toEqual(['pg 7.0.0 is outside the tested range']);
  });

  it('a timeout names the holders of its pool at that moment, oldest first; a release over the threshold is a long hold', () => {
    const p = reduced(
      [
        ...opened,
        row(ROW.OPEN, 2, 1, 2, 78, 5),
        row(ROW.ENQUEUE, 3, 1, 1, 0, 'slow.js:5'),
        row(ROW.ACQUIRE, 3, 1, 1),
        row(ROW.ENQUEUE, 4, 1, 2, 0, 'report.js:8'),
        row(ROW.ACQUIRE, 5, 2, 2),
        row(ROW.ENQUEUE, 6, 1, 3, 0, 'waiter.js:2'),
        row(ROW.FAIL, 206, 3, 0, 1, 'timeout exceeded when trying to connect'),
        row(ROW.RELEASE, 300, 1, 1, 0),
        row(ROW.RELEASE, 301, 2, 2, 1),
        row(ROW.POOL_ENDING, 400, 1),
        row(ROW.POOL_ENDED, 401, 1),
      ],
      250,
    );
    p.end('exited');
    const timeout = p.findings.find((f) => f.kind === 'timeout');
    expect(timeout?.site).toBe('waiter.js:2');
    expect(timeout?.holders).toEqual([{ site: 'slow.js:5', heldMs: 203 }, { site: 'report.js:8', heldMs: 201 }]);
    expect(timeout?.message).toBe('a borrower timed out after waiting 200 ms; held then by slow.js:5 (203 ms), report.js:8 (201 ms)');
    expect(p.findings.filter((f) => f.kind === 'long-hold').map((f) => [f.site, f.heldMs])).toEqual([
      ['slow.js:5', 297],
      ['report.js:8', 296],
    ]);
    expect(p.findings.filter((f) => f.kind === 'dirty-return').map((f) => f.site)).toEqual(['report.js:8']);
  });
});

describe('check: the verdict and the reports', () => {
  const leaky = () => {
    const p = reduced([...opened, row(ROW.ENQUEUE, 3, 1, 1, 0, 'fn (a<b>&"c".js:1)\u0007'), row(ROW.ACQUIRE, 3, 1, 1)]);
    p.end('exited');
    return p.findings;
  };
  const result = (findings: ReturnType<typeof leaky>, maxLeaks: number) => ({
    command: ['node', 'app.js'],
    exitCode: 3,
    commandExitCode: 0,
    timedOut: false,
    timeoutMs: 600_000,
    holdThresholdMs: 5_000,
    processes: [{ pid: 42, thread: 0, command: 'node app.js', pools: 1, dropped: 0, notes: [] }],
    verdict: judge(findings, new Set(), maxLeaks),
  });

  it('--max-leaks allows that many leaks, the others still fail', () => {
    expect(judge([...leaky(), ...leaky()], new Set(), 1).failing).toBe(3);
    expect(judge(leaky(), new Set(['unended-pool']), 1).failing).toBe(0);
  });

  it('JUnit XML holds the call site escaped, without characters XML cannot carry', () => {
    const xml = junitReport(result(leaky(), 0));
    expect(xml).toContain('name="fn (a&lt;b&gt;&amp;&quot;c&quot;.js:1)"');
    expect(xml).not.toContain('\u0007');
    expect(xml).toContain('failures="2"');
  });

  it('the summary prints an app-made call site as text, not terminal controls', () => {
    const lines = summaryLines(result(leaky(), 0));
    expect(lines.join('\n')).not.toContain('\u0007');
    expect(lines.at(-1)).toBe('poolscope check: failed: 1 leak, 1 unended-pool (exit 3)');
  });
});
