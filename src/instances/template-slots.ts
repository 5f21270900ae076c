import type pg from 'pg';
import type { Config } from '../config/schema';
import * as state from '../db/state';
import { parseInstanceRef } from './instance-id';

/**
 * `maxConcurrentRuns` of a template: at most N runs of its instances write at once, across all workers.
 * Each run holds one of N session advisory locks in the template's state database (the one every instance
 * of it shares), so a crashed worker's slot is freed with its connection and no table needs cleaning.
 */
export interface TemplateSlots {
  template: string;
  max: number;
}

/** The limit that applies to a run of `integration`: only instances of a template with maxConcurrentRuns. */
export function templateSlotsFor(config: Config, integration: string): TemplateSlots | undefined {
  const ref = parseInstanceRef(integration);
  const max = ref ? config.templates?.find((t) => t.id === ref.template)?.maxConcurrentRuns : undefined;
  return ref && max !== undefined ? { template: ref.template, max } : undefined;
}

/** Lock names never clash with integration or slot locks: those have no ":". */
export function templateSlotLockName(template: string, slot: number): string {
  return `template-slot:${template}:${slot}`;
}

/** Takes a free slot; its lock name, or undefined when all N are held. */
export async function tryTemplateSlot(db: pg.Client, slots: TemplateSlots): Promise<string | undefined> {
  for (let i = 0; i < slots.max; i++) {
    const name = templateSlotLockName(slots.template, i);
    if (await state.tryLockIntegration(db, name)) return name;
  }
  return undefined;
}

export async function releaseTemplateSlot(db: pg.Client, name: string): Promise<void> {
  await state.unlockIntegration(db, name);
}
