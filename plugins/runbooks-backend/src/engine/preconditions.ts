import { isCelError, run as runCel } from '@bufbuild/cel';
import {
  collectCelPaths,
  RunbookCheck,
} from '@runbooks/plugin-runbooks-common';

/** What the values a precondition reads are, for people. */
const MAX_VALUE_CHARS = 200;

/** `steps.current.output.replicas`, `steps['get-pods'].output`: a path as CEL writes it. */
function formatPath(path: string[]): string {
  return path
    .map((part, i) =>
      i === 0 || /^[A-Za-z_][A-Za-z0-9_]*$/.test(part)
        ? `${i === 0 ? '' : '.'}${part}`
        : `[${JSON.stringify(part)}]`,
    )
    .join('');
}

function lookup(variables: Record<string, unknown>, path: string[]) {
  let value: unknown = variables;
  for (const part of path) {
    if (value === null || typeof value !== 'object' || !(part in value)) {
      return { found: false as const };
    }
    value = (value as Record<string, unknown>)[part];
  }
  return { found: true as const, value };
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > MAX_VALUE_CHARS
    ? `${text.slice(0, MAX_VALUE_CHARS)}…`
    : text;
}

/** Which input of the execution a path comes from, in words. */
function source(path: string[]): string {
  if (path[0] === 'parameters' && path[1]) {
    return `the parameter '${path[1]}' (from the request)`;
  }
  if (path[0] === 'steps' && path[1]) {
    return `the state read by step '${path[1]}' (the system now)`;
  }
  if (path[0] === 'entity') return 'the entity in the catalog';
  return `'${path[0]}'`;
}

/**
 * Evaluates a runbook's preconditions (CEL over `parameters`, `entity` and the outputs of the steps
 * run so far as `steps.<id>.output`) in order, and returns why the first one that does not hold
 * stops the execution: the expression, the values it read (a missing one is drift: the read step's
 * output or the entity lacks what the runbook expects) and which inputs they come from. Undefined
 * when every precondition holds.
 */
export function failedPrecondition(
  checks: RunbookCheck[],
  variables: {
    parameters: Record<string, unknown>;
    entity: unknown;
    steps: Record<string, { output?: unknown }>;
  },
): string | undefined {
  const vars = variables as unknown as Record<string, unknown>;
  for (const check of checks) {
    const expression = typeof check === 'string' ? check : check.expression;
    const message = typeof check === 'string' ? undefined : check.message;
    const result = runCel(expression, vars as any);
    if (!isCelError(result) && result === true) continue;
    const paths = collectCelPaths(expression);
    const saw = paths
      .map(path => {
        const found = lookup(vars, path);
        return found.found
          ? `${formatPath(path)} = ${show(found.value)}`
          : `${formatPath(path)} is missing`;
      })
      .join(', ');
    const missing = paths.filter(path => !lookup(vars, path).found);
    const inputs = [...new Set(paths.map(source))].join(' and ');
    const head = isCelError(result)
      ? `Precondition \`${expression}\` could not be evaluated (${result.message})`
      : `Precondition failed: ${
          message ?? expression
        } (\`${expression}\` is ${String(result)})`;
    const blame =
      missing.length > 0
        ? `${missing.map(formatPath).join(', ')} is not there: ${source(
            missing[0],
          )} does not have what the runbook expects (the runbook and the system have drifted apart)`
        : `it depends on ${inputs}`;
    return `${head}. It saw ${
      saw || 'no values'
    }; ${blame}. Nothing was changed.`;
  }
  return undefined;
}
