import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { type TestCertificates, generateCertificates } from '../helpers/certificates';

declare module 'vitest' {
  export interface ProvidedContext {
    certificates: TestCertificates;
  }
}

/** One throwaway PKI for the whole run (openssl): the TLS suites start their servers with it. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'poolscope-pki-'));
  try {
    project.provide('certificates', await generateCertificates(dir));
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return () => rm(dir, { recursive: true, force: true });
}
