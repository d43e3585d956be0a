import { describe, expect, it } from 'vitest';
import { isMnError } from '../../../src/core/errors.js';
import { SecretBox } from '../../../src/runtime/secrets.js';

describe('SecretBox (sealed secret variables)', () => {
  it('opens what it sealed, and the sealed text does not contain the values', () => {
    const box = new SecretBox({ secretKey: 'cluster-key' });
    const sealed = box.seal({ API_KEY: 'sk-live-123', OTHER: 'x' });
    expect(sealed).not.toContain('sk-live-123');
    expect(box.open(sealed, 'j1')).toEqual({ API_KEY: 'sk-live-123', OTHER: 'x' });
    // Same key material on another daemon: opens too; two seals of one value differ.
    expect(new SecretBox({ secretKey: 'cluster-key' }).open(sealed, 'j1')).toEqual({ API_KEY: 'sk-live-123', OTHER: 'x' });
    expect(box.seal({ API_KEY: 'sk-live-123' })).not.toBe(box.seal({ API_KEY: 'sk-live-123' }));
  });

  it('prefers MN_SECRET_KEY over the auth token, and refuses another key or a tampered text clearly', () => {
    expect(new SecretBox({ secretKey: 'k', authToken: 't' }).source).toBe('MN_SECRET_KEY');
    expect(new SecretBox({ authToken: 't' }).source).toBe('MN_GRPC_AUTH_TOKEN');
    expect(new SecretBox({}).source).toBe('random');
    const sealed = new SecretBox({ authToken: 't' }).seal({ K: 'v' });
    for (const [box, text] of [[new SecretBox({ authToken: 'other' }), sealed], [new SecretBox({ authToken: 't' }), `${sealed.slice(0, -4)}AAAA`], [new SecretBox({ authToken: 't' }), 'garbage']] as const) {
      let error: unknown;
      try {
        box.open(text, 'job-7');
      } catch (e) {
        error = e;
      }
      expect(isMnError(error, 'MN_E_FAILED_PRECONDITION')).toBe(true);
      expect((error as Error).message).toContain('the secret variables of job job-7 cannot be opened on this daemon');
    }
  });
});
