import { z } from 'zod';
import { identifier } from './identifiers';

/**
 * Per-integration record mapping and validation. A mapping names each target column and where its
 * value comes from (a source field, dot paths reach into JSON objects) and an optional transform; a
 * record schema declares rules per target column, compiled to zod. Records that fail go to
 * tidemark.dead_letters with the reason; the run goes on.
 */
export const fieldTransform = z.enum(['lower', 'upper', 'trim', 'json', 'text']);

export const mappingSchema = z.record(
  identifier,
  z.union([
    z.string().min(1),
    z.strictObject({ from: z.string().min(1), transform: fieldTransform.optional(), type: z.string().regex(/^[a-z][a-z0-9 _(),]*$/i, 'must be a PostgreSQL type name').optional() }),
  ]),
);

export const fieldRuleSchema = z.strictObject({
  type: z.enum(['string', 'integer', 'number', 'boolean', 'timestamp', 'json']).optional(),
  required: z.boolean().default(false),
  min: z.number().optional(),
  max: z.number().optional(),
  maxLength: z.number().int().positive().optional(),
  pattern: z
    .string()
    .refine((p) => {
      try {
        new RegExp(p);
        return true;
      } catch {
        return false;
      }
    }, 'must be a valid regular expression')
    .optional(),
  enum: z.array(z.string()).min(1).optional(),
});

export const recordSchemaSchema = z.record(identifier, fieldRuleSchema);

export type Mapping = z.infer<typeof mappingSchema>;
export type FieldRule = z.infer<typeof fieldRuleSchema>;
export type RecordSchema = z.infer<typeof recordSchemaSchema>;
