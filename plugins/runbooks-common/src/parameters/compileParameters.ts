import { z } from 'zod';
import { hasReference, parseTemplate, renderTemplate } from '../references';
import { checkFormat, FORMAT_PATTERNS } from './formats';
import { ParameterDefinition, ParameterDefinitions } from './definitions';

/**
 * A problem found in a runbook, with the path of the field it concerns.
 * @public
 */
export interface RunbookIssue {
  path: Array<string | number>;
  message: string;
}

/**
 * Options for compiling parameter definitions.
 * @public
 */
export interface CompileParametersOptions {
  /** Defaults resolved against an entity; they replace the definitions' own defaults. */
  defaults?: Record<string, unknown>;
}

function isLiteralDefault(def: ParameterDefinition): boolean {
  return (
    def.default !== undefined &&
    !(typeof def.default === 'string' && hasReference(def.default))
  );
}

/**
 * How a parameter relates to the entity an execution targets: `bound` takes the entity's value and
 * a request cannot change it; `unresolved` is bound but the entity lacks the value (the runbook
 * cannot run there); `free` may be set by the request.
 * @public
 */
export function parameterBinding(
  name: string,
  def: ParameterDefinition,
  defaults?: Record<string, unknown>,
): 'bound' | 'unresolved' | 'free' {
  const options = { defaults: defaults ?? {} };
  if (isUnresolvedBinding(name, def, options)) return 'unresolved';
  return isEntityBound(name, def, options) ? 'bound' : 'free';
}

/**
 * A parameter whose default comes from the entity (`${{ entity… }}`) is bound to the entity the
 * execution targets, unless it is `overridable`: a request cannot point it at another namespace,
 * deployment or host group than the entity's own.
 */
function isEntityBound(
  name: string,
  def: ParameterDefinition,
  options: CompileParametersOptions,
): boolean {
  return (
    !isLiteralDefault(def) &&
    def.default !== undefined &&
    !def.overridable &&
    options.defaults?.[name] !== undefined
  );
}

/** A parameter bound to the entity whose entity value is missing or invalid. */
function isUnresolvedBinding(
  name: string,
  def: ParameterDefinition,
  options: CompileParametersOptions,
): boolean {
  return (
    !!options.defaults &&
    !isLiteralDefault(def) &&
    def.default !== undefined &&
    !def.overridable &&
    options.defaults[name] === undefined
  );
}

function defaultFor(
  name: string,
  def: ParameterDefinition,
  options: CompileParametersOptions,
): unknown {
  if (options.defaults && Object.hasOwn(options.defaults, name)) {
    return options.defaults[name];
  }
  return isLiteralDefault(def) ? def.default : undefined;
}

const JSON_TYPES: Record<ParameterDefinition['type'], string> = {
  string: 'string',
  integer: 'integer',
  number: 'number',
  boolean: 'boolean',
  enum: 'string',
};

function compileValue(def: ParameterDefinition): z.ZodType {
  switch (def.type) {
    case 'string': {
      let schema = z.string();
      if (def.minLength !== undefined) schema = schema.min(def.minLength);
      if (def.maxLength !== undefined) schema = schema.max(def.maxLength);
      if (def.pattern !== undefined) {
        schema = schema.regex(
          new RegExp(def.pattern, 'u'),
          `must match the pattern ${def.pattern}`,
        );
      }
      const format = def.format;
      if (format) {
        return schema.superRefine((value, ctx) => {
          const problem = checkFormat(format, value);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        });
      }
      return schema;
    }
    case 'integer':
    case 'number': {
      let schema = def.type === 'integer' ? z.number().int() : z.number();
      if (def.minimum !== undefined) schema = schema.min(def.minimum);
      if (def.maximum !== undefined) schema = schema.max(def.maximum);
      return schema;
    }
    case 'boolean':
      return z.boolean();
    case 'enum':
      return z.enum(def.enum as [string, ...string[]], {
        error: issue =>
          `must be one of ${(def.enum ?? []).join(', ')}, not ${JSON.stringify(
            issue.input,
          )}`,
      });
    default:
      throw new Error(`unknown parameter type '${(def as any).type}'`);
  }
}

/**
 * Compiles parameter definitions into the zod schema that validates a request's parameters.
 * Defaults fill missing values; unknown parameters are rejected.
 * @public
 */
export function compileParameterSchema(
  definitions: ParameterDefinitions,
  options: CompileParametersOptions = {},
): z.ZodObject<Record<string, z.ZodType>> {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, def] of Object.entries(definitions)) {
    if (isUnresolvedBinding(name, def, options)) {
      // fail closed: an entity without the value cannot have one chosen for it by a request
      shape[name] = z.any().superRefine((_, ctx) =>
        ctx.addIssue({
          code: 'custom',
          message: `comes from the entity (${def.default}), and this entity has no valid value there; add it to the entity (or mark the parameter overridable) before running this runbook on it`,
        }),
      );
      continue;
    }
    const fallback = defaultFor(name, def, options);
    const bound = isEntityBound(name, def, options);
    const value = bound
      ? compileValue(def).refine(v => v === fallback, {
          message: `is bound to the entity: it must be ${JSON.stringify(
            fallback,
          )} (from the entity); this runbook does not let it be changed`,
        })
      : compileValue(def);
    if (fallback !== undefined) {
      shape[name] = value.default(fallback as never);
    } else if (def.required === false) {
      shape[name] = value.optional();
    } else {
      shape[name] = value;
    }
  }
  return z.object(shape).strict();
}

/**
 * A JSON Schema object, as plain JSON.
 * @public
 */
export type JsonSchemaObject = { [key: string]: unknown };

/**
 * Compiles parameter definitions into a JSON Schema (draft 2020-12) for forms and tool schemas.
 * Domain formats are given as `x-runbooks-format` (and a pattern where one expresses them).
 * @public
 */
export function parametersToJsonSchema(
  definitions: ParameterDefinitions,
  options: CompileParametersOptions = {},
): JsonSchemaObject {
  const properties: Record<string, JsonSchemaObject> = {};
  const required: string[] = [];
  for (const [name, def] of Object.entries(definitions)) {
    const prop: JsonSchemaObject = { type: JSON_TYPES[def.type] };
    if (def.title) prop.title = def.title;
    if (def.description) prop.description = def.description;
    if (def.type === 'enum') prop.enum = def.enum;
    if (def.pattern !== undefined) prop.pattern = def.pattern;
    if (def.minLength !== undefined) prop.minLength = def.minLength;
    if (def.maxLength !== undefined) prop.maxLength = def.maxLength;
    if (def.minimum !== undefined) prop.minimum = def.minimum;
    if (def.maximum !== undefined) prop.maximum = def.maximum;
    if (def.format) {
      prop['x-runbooks-format'] = def.format;
      if (def.format === 'hostname') prop.format = 'hostname';
      const pattern = FORMAT_PATTERNS[def.format];
      if (pattern && def.pattern === undefined) prop.pattern = pattern;
    }
    if (def.secret) {
      prop.writeOnly = true;
      prop['x-runbooks-secret'] = true;
    }
    const fallback = defaultFor(name, def, options);
    if (isEntityBound(name, def, options)) prop.const = fallback;
    if (fallback !== undefined) {
      prop.default = fallback;
    } else if (def.required !== false) {
      required.push(name);
    }
    properties[name] = prop;
  }
  return {
    type: 'object',
    properties,
    required,
    additionalProperties: false,
  };
}

// annotations are strings: read numbers and booleans out of them for typed parameters
function fromAnnotation(def: ParameterDefinition, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trim();
  if (
    (def.type === 'integer' || def.type === 'number') &&
    /^-?\d+(\.\d+)?$/.test(text)
  ) {
    return Number(text);
  }
  if (def.type === 'boolean' && (text === 'true' || text === 'false')) {
    return text === 'true';
  }
  return value;
}

/**
 * Resolves each parameter's default against an entity: literal defaults as they are, and
 * `${{ entity... }}` defaults looked up in the entity. A lookup that finds nothing leaves
 * the parameter without a default, so the user must give it.
 * @public
 */
export function resolveParameterDefaults(
  definitions: ParameterDefinitions,
  entity: unknown,
): Record<string, unknown> {
  const defaults: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(definitions)) {
    if (def.default === undefined) continue;
    if (!isLiteralDefault(def)) {
      try {
        const value = fromAnnotation(
          def,
          renderTemplate(def.default, { entity }),
        );
        const parsed = compileValue(def).safeParse(value);
        if (parsed.success) defaults[name] = parsed.data;
      } catch {
        // the entity lacks the annotation or field: no default for this entity
      }
      continue;
    }
    defaults[name] = def.default;
  }
  return defaults;
}

function checkRegex(pattern: string): string | undefined {
  try {
    new RegExp(pattern, 'u'); // eslint-disable-line no-new
    return undefined;
  } catch (e) {
    const reason = (e as Error).message.replace(
      /^Invalid regular expression: \/.*\/[a-z]*: /s,
      '',
    );
    return `invalid regular expression /${pattern}/: ${reason}`;
  }
}

/**
 * Checks one parameter definition beyond its shape: constraints that fit its type, a regex that
 * compiles, a default that satisfies the parameter's own type. Paths are relative to the definition.
 * @public
 */
export function checkParameterDefinition(
  def: ParameterDefinition,
): RunbookIssue[] {
  const issues: RunbookIssue[] = [];
  const only = (
    keys: Array<keyof ParameterDefinition>,
    types: string[],
    label: string,
  ) => {
    for (const key of keys) {
      if (def[key] !== undefined && !types.includes(def.type)) {
        issues.push({
          path: [key],
          message: `${key} applies to ${label} parameters only, not to type ${def.type}`,
        });
      }
    }
  };
  only(['format', 'pattern', 'minLength', 'maxLength'], ['string'], 'string');
  only(['minimum', 'maximum'], ['integer', 'number'], 'integer and number');
  only(['enum'], ['enum'], 'enum');
  if (def.type === 'enum' && !def.enum) {
    issues.push({
      path: ['type'],
      message: 'an enum parameter needs an enum: list of allowed values',
    });
  }
  if (def.enum && new Set(def.enum).size !== def.enum.length) {
    issues.push({ path: ['enum'], message: 'enum values must be unique' });
  }
  let regexOk = true;
  if (def.pattern !== undefined) {
    const problem = checkRegex(def.pattern);
    if (problem) {
      regexOk = false;
      issues.push({ path: ['pattern'], message: problem });
    }
  }
  if (
    def.minimum !== undefined &&
    def.maximum !== undefined &&
    def.minimum > def.maximum
  ) {
    issues.push({
      path: ['minimum'],
      message: `minimum ${def.minimum} is greater than maximum ${def.maximum}`,
    });
  }
  if (
    def.minLength !== undefined &&
    def.maxLength !== undefined &&
    def.minLength > def.maxLength
  ) {
    issues.push({
      path: ['minLength'],
      message: `minLength ${def.minLength} is greater than maxLength ${def.maxLength}`,
    });
  }
  if (def.default !== undefined && def.secret) {
    issues.push({
      path: ['default'],
      message:
        'a secret parameter cannot have a default: it would be stored in git or shown to every user of the entity',
    });
  } else if (def.default !== undefined) {
    if (!isLiteralDefault(def)) {
      try {
        for (const part of parseTemplate(def.default as string)) {
          if (part.type === 'reference' && part.reference.root !== 'entity') {
            issues.push({
              path: ['default'],
              message: `a default may only look up the entity, not ${part.raw}`,
            });
          }
        }
      } catch (e) {
        issues.push({ path: ['default'], message: (e as Error).message });
      }
    } else if (regexOk && issues.length === 0) {
      const result = compileValue(def).safeParse(def.default);
      if (!result.success) {
        issues.push({
          path: ['default'],
          message: `default ${JSON.stringify(
            def.default,
          )} does not satisfy its own type: ${result.error.issues
            .map(i => i.message)
            .join('; ')}`,
        });
      }
    }
  }
  return issues;
}
