import { z } from 'zod';
import { PARAMETER_FORMATS } from './formats';

/**
 * The types a runbook parameter may have.
 * @public
 */
export const PARAMETER_TYPES = [
  'string',
  'integer',
  'number',
  'boolean',
  'enum',
] as const;

/**
 * The zod schema of one parameter definition in a runbook's `spec.parameters`.
 * @public
 */
export const parameterDefinitionSchema = z
  .object({
    type: z.enum(PARAMETER_TYPES, {
      error: issue =>
        issue.input === undefined
          ? `is required: one of ${PARAMETER_TYPES.join(', ')}`
          : `unknown type ${JSON.stringify(
              issue.input,
            )}; expected one of ${PARAMETER_TYPES.join(', ')}`,
    }),
    title: z.string().optional(),
    description: z.string().optional(),
    format: z
      .enum(PARAMETER_FORMATS, {
        error: issue =>
          `unknown format ${JSON.stringify(
            issue.input,
          )}; expected one of ${PARAMETER_FORMATS.join(', ')}`,
      })
      .optional(),
    pattern: z.string().optional(),
    minLength: z.number().int().nonnegative().optional(),
    maxLength: z.number().int().nonnegative().optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    enum: z.array(z.string()).min(1).optional(),
    default: z.union([z.string(), z.number(), z.boolean()]).optional(),
    required: z.boolean().optional(),
    secret: z.boolean().optional(),
    // a default taken from the entity binds the parameter to the entity unless this is set
    overridable: z.boolean().optional(),
  })
  .strict();

/**
 * One parameter definition: its type and constraints.
 * @public
 */
export type ParameterDefinition = z.infer<typeof parameterDefinitionSchema>;

/**
 * The parameter definitions of a runbook, by parameter name.
 * @public
 */
export type ParameterDefinitions = Record<string, ParameterDefinition>;
