/**
 * Instance ids: `<template>/<instance-id>`, both parts `[a-z0-9][a-z0-9_-]*` like integration ids. Pure
 * (no imports): the CLI checks its arguments with it before loading anything heavy.
 */
export const ID_PART = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const REF = /^([a-z0-9][a-z0-9_-]{0,62})\/([a-z0-9][a-z0-9_-]{0,62})$/;

export interface InstanceRef {
  template: string;
  instance: string;
  /** `<template>/<instance-id>`: the integration id of the instance (checkpoints, runs, dead letters). */
  id: string;
}

export function isInstanceRef(id: string): boolean {
  return REF.test(id);
}

export function parseInstanceRef(id: string): InstanceRef | undefined {
  const m = REF.exec(id);
  return m ? { template: m[1] as string, instance: m[2] as string, id } : undefined;
}

export function instanceRef(template: string, instance: string): string {
  return `${template}/${instance}`;
}

/**
 * An integration id as it appears in Temporal workflow and schedule ids: "/" becomes "." (the Web UI puts
 * ids in URL paths). Injective: no id part may contain ".", so "tpl.acme" names only "tpl/acme".
 */
export function temporalIdPart(integration: string): string {
  return integration.replace('/', '.');
}
