import {
  renderTemplate,
  RunbookEntityV1alpha1,
  RunbookStep,
} from '@runbooks/plugin-runbooks-common';
import Ajv, { ValidateFunction } from 'ajv';
import Ajv2020 from 'ajv/dist/2020';
import { ToolDescription, ToolInvoker } from './ToolInvoker';

/**
 * Validates tool input against the tool's JSON Schema (from MCP `tools/list`), compiling each
 * schema once.
 * @public
 */
export class ToolInputValidator {
  private readonly draft7 = new Ajv({ strict: false, allErrors: true });
  private readonly draft2020 = new Ajv2020({ strict: false, allErrors: true });
  private readonly cache = new WeakMap<object, ValidateFunction | string>();

  /** The problems, one line each, or an empty list. */
  problems(tool: ToolDescription, input: unknown): string[] {
    if (!tool.inputSchema) return [];
    let validate = this.cache.get(tool.inputSchema);
    if (!validate) {
      const schema = tool.inputSchema;
      try {
        validate = String(schema.$schema ?? '').includes('2020-12')
          ? this.draft2020.compile(schema)
          : this.draft7.compile(schema);
      } catch (e) {
        // a schema we cannot read is the tool's problem, reported like any other
        validate = `the input schema of ${tool.name} cannot be used: ${
          (e as Error).message
        }`;
      }
      this.cache.set(schema, validate);
    }
    if (typeof validate === 'string') return [validate];
    if (validate(input)) return [];
    return (validate.errors ?? []).map(e =>
      e.keyword === 'additionalProperties'
        ? `${e.instancePath || 'input'} has unknown property '${
            (e.params as { additionalProperty: string }).additionalProperty
          }'`
        : `${e.instancePath || 'input'} ${e.message}`,
    );
  }
}

/**
 * A problem of a runbook step with respect to the tool it names.
 * @public
 */
export interface RunbookToolProblem {
  stepId: string;
  tool: string;
  message: string;
}

/**
 * Whether a step and its tool agree on what the step may do: a step that says it changes nothing
 * needs a read-only tool, a mutating step needs a tool with a dry-run. Returns the problem.
 * @public
 */
export function checkStepAgainstTool(
  step: RunbookStep,
  tool: ToolDescription,
): string | undefined {
  if (!step.mutates && tool.annotations?.readOnlyHint !== true) {
    return `the step declares mutates: false but ${step.tool} is not declared read-only (readOnlyHint); declare the step mutating, with a dry-run`;
  }
  if (step.mutates && !tool.supportsDryRun) {
    return `${step.tool} offers no dry-run, so this mutating step cannot run`;
  }
  return undefined;
}

/** Whether any string inside the value matches. */
function anyString(value: unknown, test: (text: string) => boolean): boolean {
  if (typeof value === 'string') return test(value);
  if (Array.isArray(value)) return value.some(v => anyString(v, test));
  if (value !== null && typeof value === 'object') {
    return Object.values(value).some(v => anyString(v, test));
  }
  return false;
}

const hasTemplate = (value: unknown) =>
  anyString(value, text => text.includes('${{'));

const refersToSteps = (value: unknown) =>
  anyString(value, text => /\$\{\{\s*steps\./.test(text));

/**
 * Checks every step of a runbook against the configured tools: the tool exists, agrees with the
 * step (read-only / dry-run), and accepts the step's input. With a `context` (parameters and
 * entity of a request) the input is rendered and checked in full; without one, only the input
 * properties that hold no reference are type-checked. Input that depends on an earlier step's
 * output is checked when the step runs.
 * @public
 */
export async function checkRunbookTools(
  runbook: RunbookEntityV1alpha1,
  tools: Pick<ToolInvoker, 'describe'>,
  options: {
    context?: { parameters: Record<string, unknown>; entity: unknown };
    validator?: ToolInputValidator;
  } = {},
): Promise<RunbookToolProblem[]> {
  const validator = options.validator ?? new ToolInputValidator();
  const problems: RunbookToolProblem[] = [];
  for (const step of runbook.spec.steps) {
    const report = (message: string) =>
      problems.push({ stepId: step.id, tool: step.tool, message });
    let tool: ToolDescription | undefined;
    try {
      tool = await tools.describe(step.tool);
    } catch (e) {
      report((e as Error).message);
      continue;
    }
    if (!tool) {
      report(`no configured tool server offers ${step.tool}`);
      continue;
    }
    const mismatch = checkStepAgainstTool(step, tool);
    if (mismatch) report(mismatch);

    const skipped = new Set<string>();
    const input: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(step.input ?? {})) {
      if (refersToSteps(value) || (!options.context && hasTemplate(value))) {
        skipped.add(key);
        continue;
      }
      if (!options.context) {
        input[key] = value;
        continue;
      }
      try {
        const rendered = renderTemplate(value, {
          parameters: options.context.parameters,
          entity: options.context.entity,
          steps: {},
        });
        if (rendered !== undefined) input[key] = rendered;
      } catch (e) {
        report(`input.${key} could not be rendered: ${(e as Error).message}`);
        skipped.add(key);
      }
    }
    const known = (tool.inputSchema?.properties ?? undefined) as
      | Record<string, unknown>
      | undefined;
    for (const key of skipped) {
      if (
        known &&
        !(key in known) &&
        tool.inputSchema?.additionalProperties === false
      ) {
        report(`input has unknown property '${key}'`);
      }
    }
    for (const message of validator.problems(tool, input)) {
      const property = /^\/([^/]+)/.exec(message)?.[1];
      const missing = /must have required property '([^']+)'/.exec(
        message,
      )?.[1];
      if (property && skipped.has(property)) continue;
      if (missing && skipped.has(missing)) continue;
      report(`input rejected by ${step.tool}'s schema: ${message}`);
    }
  }
  return problems;
}
