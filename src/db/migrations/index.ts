import m001 from './001-state';
import m002 from './002-shards-and-tuning';
import m003 from './003-warnings-and-write-errors';
import m004 from './004-source-columns';
import m005 from './005-reconciliations';
import m006 from './006-oauth-tokens';
import m007 from './007-instances';
import m008 from './008-run-shards';
import m009 from './009-deliveries';
import m010 from './010-instance-weight';
import m011 from './011-page-owner-check';
import m012 from './012-backfill-end-cursor';
import m013 from './013-relaxed-page-fence';
import m014 from './014-dead-letter-txid';
import m015 from './015-checkpoint-caught-up';
import m016 from './016-dead-letter-repeats';
import m017 from './017-run-shards';
import m018 from './018-checkpoint-cursor-of';

/** Numbered migrations, applied in order, never edited once released: add a new one instead. */
export const MIGRATIONS: ReadonlyArray<{ id: number; name: string; sql: string }> = [
  { id: 1, name: '001-state', sql: m001 },
  { id: 2, name: '002-shards-and-tuning', sql: m002 },
  { id: 3, name: '003-warnings-and-write-errors', sql: m003 },
  { id: 4, name: '004-source-columns', sql: m004 },
  { id: 5, name: '005-reconciliations', sql: m005 },
  { id: 6, name: '006-oauth-tokens', sql: m006 },
  { id: 7, name: '007-instances', sql: m007 },
  { id: 8, name: '008-run-shards', sql: m008 },
  { id: 9, name: '009-deliveries', sql: m009 },
  { id: 10, name: '010-instance-weight', sql: m010 },
  { id: 11, name: '011-page-owner-check', sql: m011 },
  { id: 12, name: '012-backfill-end-cursor', sql: m012 },
  { id: 13, name: '013-relaxed-page-fence', sql: m013 },
  { id: 14, name: '014-dead-letter-txid', sql: m014 },
  { id: 15, name: '015-checkpoint-caught-up', sql: m015 },
  { id: 16, name: '016-dead-letter-repeats', sql: m016 },
  { id: 17, name: '017-run-shards', sql: m017 },
  { id: 18, name: '018-checkpoint-cursor-of', sql: m018 },
];
