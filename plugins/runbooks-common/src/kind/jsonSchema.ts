import { z } from 'zod';
import { runbookEntitySchema } from './RunbookEntity';

/**
 * The JSON Schema (draft-07) of a Runbook entity's shape, derived from the zod schema, for editors
 * (yaml-language-server; `npx runbooks schema` prints it) and other tools. It checks shape only;
 * `validateRunbookEntity` also checks meaning (references, dry-run declarations, CEL), and that is
 * what the catalog module runs, so the catalog and the CLI report the same problems.
 * @public
 */
export function runbookEntityJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(runbookEntitySchema, {
    target: 'draft-7',
    io: 'input',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
}
