/**
 * The job template part of the Store contract, run against every implementation from
 * contract.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { isMnError } from '../../../src/core/errors.js';
import type { NewJobTemplate } from '../../../src/store/job-templates.js';
import type { Store } from '../../../src/store/store.js';
import { freshStore, type StoreHarness } from './contract.js';

const template = (name: string, extra: Partial<NewJobTemplate> = {}): NewJobTemplate => ({
  name,
  manifest_json: JSON.stringify({ graph_id: name, job_name: `runtime-\${var.USER}` }),
  files: { 'payloads/run.js': 'console.log(1)' },
  parameters: { USER: { name: 'USER', required: true, default: null, pattern: '[a-z]+', secret: false, description: 'who' } },
  graph_id: name,
  job_name: `runtime-\${var.USER}`,
  ...extra,
});

export function jobTemplateContract(name: string, create: () => Promise<StoreHarness>): void {
  describe(`Store contract (job templates): ${name}`, () => {
    const fresh = freshStore(create);
    let store: Store;
    beforeEach(() => {
      store = fresh.store;
    });

    it('stores a template with every field and reads it back; unknown names read as null', async () => {
      const put = await store.jobTemplates.put(template('runtime'));
      expect(put).toMatchObject({ ...template('runtime'), version: 1 });
      expect(put.created_at).toBe(put.updated_at);
      expect(await store.jobTemplates.get('runtime')).toEqual(put);
      expect(await store.jobTemplates.get('nope')).toBeNull();
    });

    it('re-registration replaces the template, bumps its version and keeps its creation time', async () => {
      const first = await store.jobTemplates.put(template('runtime'));
      await fresh.h.advance(5);
      const second = await store.jobTemplates.put(template('runtime', { files: {} }));
      expect(second.version).toBe(2);
      expect(second.created_at).toBe(first.created_at);
      expect(second.files).toEqual({});
      expect(await store.jobTemplates.get('runtime')).toEqual(second);
    });

    it('lists templates by name and deletes them', async () => {
      await store.jobTemplates.put(template('b'));
      await store.jobTemplates.put(template('a/x'));
      expect((await store.jobTemplates.list()).map((t) => t.name)).toEqual(['a/x', 'b']);
      expect(await store.jobTemplates.delete('b')).toBe(true);
      expect(await store.jobTemplates.delete('b')).toBe(false);
      expect((await store.jobTemplates.list()).map((t) => t.name)).toEqual(['a/x']);
      expect(await store.jobTemplates.get('b')).toBeNull();
    });

    it('refuses a name that is empty or has whitespace or ":"', async () => {
      for (const bad of ['', 'a b', 'a:b']) {
        const error = await store.jobTemplates.put(template(bad)).catch((e: unknown) => e);
        expect(isMnError(error, 'MN_E_INVALID_ARGUMENT')).toBe(true);
      }
      expect(await store.jobTemplates.list()).toEqual([]);
    });
  });
}
