import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

// The attach agent instruments only the driver versions it was written and tested against;
// any other is reported and left alone (main/agent/versions.cjs).
const { outsideRange } = createRequire(import.meta.url)('../../main/agent/versions.cjs') as { outsideRange: (name: string, version: string | null) => string | null };

describe('the agent’s tested driver versions', () => {
  it('instruments the versions in the tested range', () => {
    expect(outsideRange('pg', '8.23.1')).toBeNull();
    expect(outsideRange('pg-pool', '3.14.0')).toBeNull();
    expect(outsideRange('mysql2', '3.24.6')).toBeNull();
    expect(outsideRange('mysql2', '3.9.0')).toBeNull();
    expect(outsideRange('knex', '3.3.0')).toBeNull();
    expect(outsideRange('tarn', '3.1.2')).toBeNull();
  });

  it('leaves other versions alone and says why', () => {
    expect(outsideRange('pg', '7.18.2')).toMatch(/^pg 7\.18\.2 is outside the tested range \(pg 8\.11 to 8\.x\): not observed$/);
    expect(outsideRange('pg', '9.0.0')).toContain('outside the tested range');
    expect(outsideRange('mysql2', '2.3.3')).toContain('mysql2 2.3.3');
    expect(outsideRange('mysql2', '3.8.9')).toContain('outside');
    expect(outsideRange('pg-pool', null)).toContain('(unknown version)');
    expect(outsideRange('knex', '2.5.1')).toMatch(/^knex 2\.5\.1 is outside the tested range \(knex 3\.0 to 3\.x\): not observed$/);
    expect(outsideRange('tarn', '1.1.5')).toContain('tarn 1.1.5');
  });
});
