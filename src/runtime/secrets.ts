/**
 * Sealing of a dispatch's secret variables (AES-256-GCM). A secret value is never stored in the
 * clear: the job record holds it sealed with a key that is not in the store, and the daemon
 * that runs the agent opens it into the environment of the agent's process. The key comes from
 * `MN_SECRET_KEY` (the same value on every daemon of a cluster), else from the gRPC auth token;
 * without either, each daemon has a random key of its own, so only agents on the dispatching
 * daemon (until it restarts) can read the secrets, and any other fails with a clear error.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { MnError } from '../core/errors.js';

const PREFIX = 'mn-sealed-v1:';

export class SecretBox {
  private readonly key: Buffer;
  /** Where the key came from, for error messages (never the key). */
  readonly source: 'MN_SECRET_KEY' | 'MN_GRPC_AUTH_TOKEN' | 'random';

  constructor(material: { secretKey?: string | null; authToken?: string | null }) {
    const given = material.secretKey && material.secretKey !== '' ? material.secretKey : null;
    const token = material.authToken && material.authToken !== '' ? material.authToken : null;
    this.source = given ? 'MN_SECRET_KEY' : token ? 'MN_GRPC_AUTH_TOKEN' : 'random';
    const base = given ?? token ?? randomBytes(32).toString('hex');
    this.key = createHash('sha256').update('mn-runtime secret variables\0').update(base).digest();
  }

  /** Seals name → value pairs into one opaque string. */
  seal(values: Readonly<Record<string, string>>): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(JSON.stringify(values), 'utf8'), cipher.final()]);
    return `${PREFIX}${Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64')}`;
  }

  /** Opens what {@link seal} made; `MN_E_FAILED_PRECONDITION` when this daemon's key differs. */
  open(sealed: string, jobId: string): Record<string, string> {
    try {
      if (!sealed.startsWith(PREFIX)) throw new Error('not sealed');
      const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      const text = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
      return JSON.parse(text) as Record<string, string>;
    } catch {
      throw new MnError(
        'MN_E_FAILED_PRECONDITION',
        `the secret variables of job ${jobId} cannot be opened on this daemon: every daemon of the cluster needs the same MN_SECRET_KEY (or MN_GRPC_AUTH_TOKEN); this one uses ${this.source === 'random' ? 'a random key of its own' : this.source}`,
        { details: { job_id: jobId, reason: 'secret_key_mismatch' } },
      );
    }
  }
}
