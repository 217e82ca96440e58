import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { TimeoutCause } from '../../shared/diagnosis';
import type { EngineKind } from '../../shared/events';
import { Engine } from '../../main/engine/engine';
import type { Lease } from '../../main/engine/pool/lease';
import { Recorder } from './helpers/recorder';
import { ENGINES, sleepSql } from './helpers/servers';
import { engineStarter, sleep } from './helpers/start';
import { startTlsMariadb } from './helpers/tls-mariadb';
import { startTlsPostgres } from './helpers/tls-postgres';

// Each cause the timeout diagnosis can name, produced on a real server by what causes it in
// an application. (A leak: controls.test.ts; a fault Poolscope injected: faults.test.ts.)

async function timeoutCause(e: Engine, rec: Recorder): Promise<TimeoutCause | undefined> {
  const err = await e.pool.borrow({ label: 'late' }).then(
    (l) => {
      l.release();
      throw new Error('the borrower was served: nothing timed out');
    },
    (x: Error & { code?: string }) => x,
  );
  expect(err).toMatchObject({ code: 'acquire-timeout' });
  return rec.of('borrower.timedout').at(-1)?.diagnosis?.cause;
}

describe.each(ENGINES)('the timeout diagnosis on $engine', ({ engine, skip }) => {
  const start = engineStarter(engine);

  it.skipIf(skip)('slow queries: every holder is running a statement', async () => {
    const { engine: e, rec } = await start({ max: 2, acquireTimeoutMs: 500 });
    const holders = await Promise.all([e.pool.borrow(), e.pool.borrow()]);
    const running = holders.map((l) => l.query(sleepSql(engine, 1.5)));
    await rec.waitFor('statement.started', () => Object.values(e.log.live.connections).filter((c) => c.statement !== null).length === 2);
    expect(await timeoutCause(e, rec)).toBe('slow queries');
    await Promise.all(running);
    for (const l of holders) l.release();
  });

  it.skipIf(skip)('pool too small: holders busy with short statements and work between them, none idle for long', async () => {
    const { engine: e, rec } = await start({ max: 2, acquireTimeoutMs: 800 });
    const holders = await Promise.all([e.pool.borrow(), e.pool.borrow()]);
    let working = true;
    // A request handler: a short query, 100 ms of its own work, again.
    const work = async (l: Lease) => {
      while (working) {
        await l.query('SELECT 1');
        await sleep(100);
      }
    };
    const loops = holders.map(work);
    expect(await timeoutCause(e, rec)).toBe('pool too small');
    working = false;
    await Promise.all(loops);
    for (const l of holders) l.release();
  });
});

// A server that has stopped answering (its process stopped): new connections hang in the
// handshake. A second server of each kind, so the machine's own are never touched.
const HUNG: { engine: EngineKind; skip: boolean; start: typeof startTlsPostgres }[] = ENGINES.map(({ engine, skip }) => ({
  engine,
  skip,
  start: engine === 'postgres' ? startTlsPostgres : startTlsMariadb,
}));

describe.each(HUNG)('borrowers on a hung $engine server', ({ skip, start }) => {
  let server: Awaited<ReturnType<typeof startTlsPostgres>> | null = null;
  beforeAll(async () => {
    if (!skip) server = await start(inject('certificates'));
  });
  afterAll(async () => {
    await server?.stop();
  });

  // Both drivers time the handshake out at the acquire timeout: the borrower that started the
  // connect is told which server did not answer; one that arrived later waits in line behind
  // a connection still connecting, times out there, and gets the diagnosis.
  it.skipIf(skip)('a connect that gets no answer says which server; a borrower behind it is diagnosed: database unreachable', async () => {
    const e = await Engine.start({ target: server!.url(''), settings: { max: 2, acquireTimeoutMs: 1_000 } });
    const rec = new Recorder(e);
    const resume = server!.freeze();
    try {
      const held = await e.pool.borrow(); // the connection the target check opened
      const first = e.pool.borrow({ label: 'first' }).catch((x: Error & { code?: string }) => x);
      await sleep(500);
      expect(await timeoutCause(e, rec)).toBe('database unreachable');
      // Two clocks run out together for the borrower whose connect hangs: the driver's connect
      // timeout and (mysql2 has no acquire timeout) Poolscope's own deadline. Either may answer
      // first; both name the server that did not answer.
      const err = (await first) as Error & { code?: string };
      const at = `127\\.0\\.0\\.1:${server!.port}`;
      if (err.code === 'connect-timeout') expect(err.message).toMatch(new RegExp(`No answer from ${at} in time`));
      else {
        expect(err).toMatchObject({ code: 'acquire-timeout' });
        expect(err.message).toMatch(new RegExp(`from \\S*${at}\\S* [\\s\\S]*Likely cause: database unreachable`));
      }
      held.release();
    } finally {
      resume();
      rec.stop();
      await e.stop();
    }
  });
});
