import { describe, expect, it } from '@jest/globals';
import { readSampleConfig } from '../../sample/sample.config.js';
import { startSampleApp, TEST_SECRET } from '../support/sample-app.harness.js';

/** The sample's env variables whose 0 means something (README's env table lists 0 as their default or an option). */
describe('sample config: variables where 0 is a value', () => {
  const read = (env: Record<string, string>) =>
    readSampleConfig({ SESSION_SECRET: TEST_SECRET, ...env });

  it('TRUST_PROXY: 0 (the default, the TCP peer) and a number of proxies; never negative', () => {
    expect(read({ TRUST_PROXY: '0' }).trustProxy).toBe(0);
    expect(read({}).trustProxy).toBe(0);
    expect(read({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(() => read({ TRUST_PROXY: '-1' })).toThrow(/TRUST_PROXY must be a non-negative integer/);
    expect(() => read({ TRUST_PROXY: 'one' })).toThrow(/TRUST_PROXY/);
  });

  it('SESSION_ROTATION_GRACE_MS=0: renewal with no grace, and the app starts with it', async () => {
    const env = { SESSION_ROTATE_EVERY_MS: '60000', SESSION_ROTATION_GRACE_MS: '0' };
    expect(read(env)).toMatchObject({ rotateEveryMs: 60_000, rotationGraceMs: 0 });
    const h = await startSampleApp('express', { env });
    try {
      expect((await fetch(`${h.http}/health`)).status).toBe(200);
    } finally {
      await h.close();
    }
  });

  it('SESSION_EXPIRY_SWEEP_MS=0 turns the sweep off; unset: 5000', () => {
    expect(read({ SESSION_EXPIRY_SWEEP_MS: '0' }).expirySweepMs).toBe(false);
    expect(read({}).expirySweepMs).toBe(5_000);
  });
});
