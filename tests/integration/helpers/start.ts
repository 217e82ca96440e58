import { afterEach } from 'vitest';
import type { EngineKind, PoolSettings } from '../../../shared/events';
import { Engine } from '../../../main/engine/engine';
import { Recorder } from './recorder';
import { mysqlUrl, pgUrl } from './servers';

/** Starts engines on the server under test and stops them after each test. */
export function engineStarter(engine: EngineKind) {
  const started: { engine: Engine; rec: Recorder }[] = [];
  afterEach(async () => {
    for (const s of started.splice(0)) {
      s.rec.stop();
      await s.engine.stop();
    }
  });
  return async (settings: Partial<PoolSettings> = {}) => {
    // Recording from before the start: the checks cover the first connections too.
    const e = new Engine({ target: engine === 'postgres' ? pgUrl() : mysqlUrl, settings });
    const rec = new Recorder(e);
    try {
      await e.start();
    } catch (err) {
      rec.stop();
      throw err;
    }
    started.push({ engine: e, rec });
    return { engine: e, rec };
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
