import type { Job } from '../../src/core/manifest/types.js';
import type { Plan } from '../../src/core/placement/plan-types.js';

/** Store tests treat job and plan documents as opaque JSON objects: any object stands in for one. */
export function anyJob(value: object = {}): Job {
  return value as Job;
}

/** See {@link anyJob}. */
export function anyPlan(value: object): Plan {
  return value as Plan;
}

/** The error a promise rejects with; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}
