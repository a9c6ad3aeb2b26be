import { parseEntityRef } from '@backstage/catalog-model';
import { z } from 'zod';
import { checkCelSyntax, collectCelReferences } from '../expressions';
import {
  checkParameterDefinition,
  parseDuration,
  RunbookIssue,
} from '../parameters';
import { collectStrings, parseTemplate } from '../references';
import {
  RunbookCheck,
  runbookEntitySchema,
  RunbookEntityV1alpha1,
} from './RunbookEntity';

/**
 * A problem found in a runbook, with a flag for issues that concern a map key rather than its value.
 * @public
 */
export interface LocatedRunbookIssue extends RunbookIssue {
  /** The issue is about the key at `path` (an unknown field), not its value. */
  atKey?: boolean;
}

/**
 * The outcome of validating a runbook entity.
 * @public
 */
export type RunbookValidationResult =
  | { ok: true; runbook: RunbookEntityV1alpha1; issues: [] }
  | { ok: false; issues: LocatedRunbookIssue[] };

/**
 * Renders a path as a field name, such as `spec.steps[2].input.name`.
 * @public
 */
export function formatIssuePath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') {
      out += `[${key}]`;
    } else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(String(key))) {
      out += out ? `.${String(key)}` : String(key);
    } else {
      out += `[${JSON.stringify(String(key))}]`;
    }
  }
  return out || '(document)';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return `${typeof value} ${JSON.stringify(value)}`;
}

const EXPECTED: Record<string, string> = {
  array: 'a list',
  record: 'a map',
  object: 'a map',
};

function fromZod(error: z.ZodError): LocatedRunbookIssue[] {
  const issues: LocatedRunbookIssue[] = [];
  const visit = (list: z.core.$ZodIssue[], base: PropertyKey[]) => {
    for (const issue of list) {
      const path = [...base, ...issue.path] as Array<string | number>;
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          issues.push({
            path: [...path, key],
            atKey: true,
            message: `${formatIssuePath([
              ...path,
              key,
            ])}: unknown field '${key}'`,
          });
        }
      } else if (issue.code === 'invalid_union' && issue.errors.length > 0) {
        // report the branch that got furthest: the one whose issues have the longest paths
        const best = [...issue.errors].sort(
          (a, b) =>
            Math.max(0, ...b.map(i => i.path.length)) -
            Math.max(0, ...a.map(i => i.path.length)),
        )[0];
        visit(best, path);
      } else if (issue.code === 'invalid_key') {
        const key = path[path.length - 1];
        issues.push({
          path,
          atKey: true,
          message: `${formatIssuePath(path)}: invalid name '${String(
            key,
          )}': ${issue.issues.map(i => i.message).join('; ')}`,
        });
      } else if (issue.code === 'invalid_type' && issue.input === undefined) {
        const custom = issue.message.startsWith('Invalid input')
          ? 'is required'
          : issue.message;
        issues.push({ path, message: `${formatIssuePath(path)} ${custom}` });
      } else if (issue.code === 'invalid_type') {
        issues.push({
          path,
          message: `${formatIssuePath(path)}: ${
            issue.message.startsWith('Invalid input')
              ? `must be ${
                  EXPECTED[issue.expected] ?? `a ${issue.expected}`
                }, not ${describe(issue.input)}`
              : issue.message
          }`,
        });
      } else {
        const join = issue.message.startsWith('is required') ? ' ' : ': ';
        issues.push({
          path,
          message: `${formatIssuePath(path)}${join}${issue.message}`,
        });
      }
    }
  };
  visit(error.issues, []);
  return issues;
}

interface ExpressionScope {
  /** The names the expression may start from. */
  roots: string[];
  parameters: string[];
  /** Steps the expression may look up, with why others may not. */
  steps?: { allowed: string[]; why: (id: string) => string };
}

function checkExpression(
  check: RunbookCheck,
  path: Array<string | number>,
  scope: ExpressionScope,
  issues: LocatedRunbookIssue[],
) {
  const expression = typeof check === 'string' ? check : check.expression;
  const at = typeof check === 'string' ? path : [...path, 'expression'];
  const add = (message: string) =>
    issues.push({ path: at, message: `${formatIssuePath(path)}: ${message}` });
  const problem = checkCelSyntax(expression);
  if (problem) {
    add(problem);
    return;
  }
  const refs = collectCelReferences(expression);
  for (const root of refs.roots) {
    if (!scope.roots.includes(root)) {
      add(
        `'${root}' is not known in '${expression}'; this expression can use ${scope.roots.join(
          ', ',
        )}`,
      );
    }
  }
  for (const name of refs.parameters) {
    if (!scope.parameters.includes(name)) {
      add(
        `unknown parameter '${name}' in '${expression}'; declared parameters: ${
          scope.parameters.join(', ') || '(none)'
        }`,
      );
    }
  }
  for (const id of refs.steps) {
    if (scope.steps && !scope.steps.allowed.includes(id)) {
      add(`${scope.steps.why(id)} in '${expression}'`);
    }
  }
}

function checkSemantics(runbook: RunbookEntityV1alpha1): LocatedRunbookIssue[] {
  const issues: LocatedRunbookIssue[] = [];
  const spec = runbook.spec;
  const add = (path: Array<string | number>, message: string) =>
    issues.push({ path, message: `${formatIssuePath(path)}: ${message}` });

  for (const [name, def] of Object.entries(spec.parameters)) {
    for (const issue of checkParameterDefinition(def)) {
      add(['spec', 'parameters', name, ...issue.path], issue.message);
    }
  }

  try {
    const owner = parseEntityRef(spec.owner, {
      defaultKind: 'Group',
      defaultNamespace: 'default',
    });
    if (!['group', 'user'].includes(owner.kind.toLocaleLowerCase('en-US'))) {
      add(['spec', 'owner'], `must be a group or a user, not ${owner.kind}`);
    }
  } catch (e) {
    add(['spec', 'owner'], (e as Error).message);
  }

  const selector = spec.appliesTo?.selector;
  if (
    selector &&
    selector.kind === undefined &&
    selector.type === undefined &&
    Object.keys(selector.annotations ?? {}).length === 0
  ) {
    add(
      ['spec', 'appliesTo', 'selector'],
      'a selector needs at least one of kind, type or annotations; an empty one would match nothing',
    );
  }

  spec.appliesTo?.entities?.forEach((ref, i) => {
    try {
      parseEntityRef(ref);
      if (!/^[^:/]+:/.test(ref)) {
        add(
          ['spec', 'appliesTo', 'entities', i],
          `'${ref}' has no kind; write it as kind:namespace/name, such as component:default/checkout`,
        );
      }
    } catch (e) {
      add(['spec', 'appliesTo', 'entities', i], (e as Error).message);
    }
  });

  spec.triggers?.forEach((trigger, i) => {
    if (!trigger.alert && !trigger.labels && !trigger.keywords?.length) {
      add(
        ['spec', 'triggers', i],
        'a trigger needs an alert, labels or keywords',
      );
    }
  });

  const declared = Object.keys(spec.parameters);
  const readSteps = spec.steps.filter(s => !s.mutates).map(s => s.id);
  spec.preconditions?.forEach((check, i) =>
    checkExpression(
      check,
      ['spec', 'preconditions', i],
      {
        roots: ['entity', 'parameters', 'steps'],
        parameters: declared,
        steps: {
          allowed: readSteps,
          why: id =>
            spec.steps.some(s => s.id === id)
              ? `step '${id}' mutates; preconditions can only look up read-only steps`
              : `unknown step '${id}'`,
        },
      },
      issues,
    ),
  );
  const optional = new Set(
    Object.entries(spec.parameters)
      .filter(([, def]) => def.required === false && def.default === undefined)
      .map(([name]) => name),
  );
  const seen = new Map<string, number>();
  spec.steps.forEach((step, i) => {
    const stepPath = ['spec', 'steps', i];
    const first = seen.get(step.id);
    if (first !== undefined) {
      add(
        [...stepPath, 'id'],
        `duplicate step id '${step.id}' (already used by spec.steps[${first}])`,
      );
    } else {
      seen.set(step.id, i);
    }
    if (step.mutates && step.dryRun !== true) {
      add(
        [...stepPath, step.dryRun === false ? 'dryRun' : 'mutates'],
        `step '${step.id}' mutates but declares no dry-run; set dryRun: true (its tool must support dryRun) — no change runs without a dry-run`,
      );
    }
    if (step.timeout !== undefined) {
      try {
        parseDuration(step.timeout);
      } catch (e) {
        add([...stepPath, 'timeout'], (e as Error).message);
      }
    }
    for (const located of collectStrings(step.input, [...stepPath, 'input'])) {
      let parts;
      try {
        parts = parseTemplate(located.value);
      } catch (e) {
        add(located.path, (e as Error).message);
        continue;
      }
      for (const part of parts) {
        if (part.type !== 'reference') continue;
        const { root, path } = part.reference;
        if (root === 'parameters') {
          const name = String(path[0]);
          if (!declared.includes(name)) {
            add(
              located.path,
              `unknown parameter '${name}' in ${
                part.raw
              }; declared parameters: ${declared.join(', ') || '(none)'}`,
            );
          } else if (path.length > 1) {
            add(
              located.path,
              `${part.raw}: a parameter is a single value; look it up as parameters.${name}`,
            );
          } else if (optional.has(name) && parts.length > 1) {
            add(
              located.path,
              `${part.raw} is optional with no default, so it cannot stand inside text; give it a default or use it as the whole value`,
            );
          }
        } else if (root === 'steps') {
          const target = String(path[0]);
          const index = spec.steps.findIndex(s => s.id === target);
          if (index < 0) {
            add(located.path, `unknown step '${target}' in ${part.raw}`);
          } else if (index >= i) {
            add(
              located.path,
              `${part.raw} refers to step '${target}', which does not run before step '${step.id}'`,
            );
          } else if (path[1] !== 'output') {
            add(
              located.path,
              `${part.raw}: a step can only be looked up as steps.<id>.output...`,
            );
          }
        }
      }
    }
    step.verify?.forEach((check, j) =>
      checkExpression(
        check,
        [...stepPath, 'verify', j],
        {
          roots: ['output', 'parameters', 'entity', 'before', 'after'],
          parameters: declared,
        },
        issues,
      ),
    );
  });
  return issues;
}

/**
 * Validates a runbook entity: its shape (zod) and its meaning (references, step ids, dry-run
 * declarations, parameter constraints, CEL syntax). Every issue names the field.
 * @public
 */
export function validateRunbookEntity(input: unknown): RunbookValidationResult {
  const parsed = runbookEntitySchema.safeParse(input, { reportInput: true });
  if (!parsed.success) {
    return { ok: false, issues: fromZod(parsed.error) };
  }
  const issues = checkSemantics(parsed.data);
  if (issues.length > 0) {
    return { ok: false, issues };
  }
  return { ok: true, runbook: parsed.data, issues: [] };
}

/**
 * Whether an unknown value is a Runbook entity by apiVersion group and kind.
 * @public
 */
export function isRunbookEntity(entity: {
  apiVersion?: unknown;
  kind?: unknown;
}): boolean {
  return (
    entity.kind === 'Runbook' &&
    typeof entity.apiVersion === 'string' &&
    entity.apiVersion.startsWith('runbooks.backstage.io/')
  );
}
