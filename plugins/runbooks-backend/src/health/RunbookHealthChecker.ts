import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import {
  collectCelPaths,
  collectStrings,
  compileParameterSchema,
  hasReference,
  parseTemplate,
  HealthFinding,
  renderTemplate,
  resolveParameterDefaults,
  RunbookEntityV1alpha1,
  RunbookHealthResponse,
} from '@runbooks/plugin-runbooks-common';
import { ToolInvoker } from '@runbooks/plugin-runbooks-node';
import { failedPrecondition } from '../engine/preconditions';
import { maskSecrets } from '../engine/secrets';

/** The words of tools that could not find what they were asked about. */
const NOT_FOUND =
  /not ?found|no such|does not exist|doesn't exist|unknown host|no hosts matched/i;

/** One health check's result, before it is stored (times as Dates). */
export type HealthCheck = Omit<RunbookHealthResponse, 'verifiedAt'> & {
  verifiedAt: Date;
};

/**
 * Checks a runbook against the system it acts on for one entity, changing nothing: it renders the
 * runbook with the default parameters, runs the steps whose tools declare themselves read-only,
 * asks mutating tools for a dry-run only (the tool contract: a dry-run changes nothing), and
 * evaluates the preconditions where the engine would, before the first change. It never calls a
 * tool to apply anything.
 */
export class RunbookHealthChecker {
  constructor(
    private readonly options: {
      tools: ToolInvoker;
      /** How long one tool call may take. */
      timeoutMs?: number;
    },
  ) {}

  async check(
    runbook: RunbookEntityV1alpha1,
    entity: Entity,
  ): Promise<HealthCheck> {
    const { tools } = this.options;
    const timeoutMs = this.options.timeoutMs ?? 60_000;
    const runbookRef = stringifyEntityRef({
      kind: 'runbook',
      namespace: runbook.metadata.namespace ?? 'default',
      name: runbook.metadata.name,
    });
    const entityRef = stringifyEntityRef(entity);
    const findings: HealthFinding[] = [];
    const skipped: RunbookHealthResponse['skipped'] = [];
    const ran: string[] = [];
    let preconditions = 0;
    let unreachable = false;

    // the parameters the runbook has without a person: defaults, from the entity or literal
    const defaults = resolveParameterDefaults(runbook.spec.parameters, entity);
    const parsed = compileParameterSchema(runbook.spec.parameters, {
      defaults,
    }).safeParse({});
    const parameters: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(defaults)) {
      if (value !== undefined) parameters[name] = value;
    }
    if (parsed.success) Object.assign(parameters, parsed.data);
    const outputs: Record<string, { output?: unknown }> = {};
    let changed = false;
    // values never written down: secret parameters and the outputs of secretOutput steps
    const secrets = new Set<string>();
    const addSecrets = (value: unknown) => {
      if (
        (typeof value === 'string' || typeof value === 'number') &&
        `${value}`.length >= 4
      ) {
        secrets.add(`${value}`);
      } else if (Array.isArray(value)) value.forEach(addSecrets);
      else if (value && typeof value === 'object') {
        Object.values(value).forEach(addSecrets);
      }
    };
    for (const [name, def] of Object.entries(runbook.spec.parameters ?? {})) {
      if (def.secret) addSecrets(parameters[name]);
    }

    const call = async (
      stepId: string,
      tool: string,
      input: Record<string, unknown>,
      dryRun: boolean,
    ) => {
      try {
        return await tools.invoke({
          tool,
          input,
          dryRun,
          idempotencyKey: `health:${runbookRef}:${entityRef}:${stepId}`,
          signal: AbortSignal.timeout(timeoutMs),
          timeoutMs,
        });
      } catch (e) {
        const message = (e as Error).message;
        // a tool that answers "not found" was reached; anything else thrown is the way there
        if (NOT_FOUND.test(message))
          return { output: undefined, error: message };
        unreachable = true;
        skipped.push({
          stepId,
          reason: `${tool} could not be reached: ${message}`,
        });
        return undefined;
      }
    };
    /** The parameters a step's input needs that a check without a person does not have. */
    const lackingParameters = (input: unknown) =>
      collectStrings(input)
        .flatMap(({ value }) =>
          hasReference(value) ? parseTemplate(value) : [],
        )
        .flatMap(part =>
          part.type === 'reference' &&
          part.reference.root === 'parameters' &&
          !(String(part.reference.path[0]) in parameters)
            ? [String(part.reference.path[0])]
            : [],
        );

    for (const step of runbook.spec.steps) {
      if (!step.mutates && changed) {
        skipped.push({
          stepId: step.id,
          reason: 'it reads the state after a change that was only planned',
        });
        continue;
      }
      if (step.mutates && !changed) {
        // where the engine checks them: before the first change
        const evaluable = (runbook.spec.preconditions ?? []).filter(check => {
          const expression =
            typeof check === 'string' ? check : check.expression;
          const lacking = collectCelPaths(expression).find(
            path =>
              (path[0] === 'parameters' && !(path[1] in parameters)) ||
              (path[0] === 'steps' && !(path[1] in outputs)),
          );
          if (lacking) {
            skipped.push({
              reason: `precondition \`${expression}\` needs ${lacking
                .slice(0, 2)
                .join('.')}, which a check without a person does not have`,
            });
          }
          return !lacking;
        });
        preconditions += evaluable.length;
        const failed = failedPrecondition(evaluable, {
          parameters,
          entity,
          steps: outputs,
        });
        if (failed) {
          findings.push({ kind: 'failed-precondition', message: failed });
        }
      }
      const needed = lackingParameters(step.input);
      if (needed.length > 0) {
        skipped.push({
          stepId: step.id,
          reason: `needs ${[...new Set(needed)]
            .map(p => `parameters.${p}`)
            .join(', ')}, which a person gives`,
        });
        if (step.mutates) changed = true;
        continue;
      }
      let input: Record<string, unknown>;
      try {
        input = renderTemplate<Record<string, unknown>>(step.input, {
          parameters,
          entity,
          steps: outputs,
        });
      } catch (e) {
        findings.push({
          kind: 'render',
          stepId: step.id,
          message: `input could not be rendered: ${(e as Error).message}`,
        });
        if (step.mutates) changed = true;
        continue;
      }
      const description = await tools
        .describe(step.tool)
        .catch(() => undefined);
      if (!description) {
        unreachable = true;
        skipped.push({
          stepId: step.id,
          reason: `no configured tool server offers ${step.tool}`,
        });
        if (step.mutates) changed = true;
        continue;
      }
      if (step.mutates) {
        changed = true;
        if (!description.supportsDryRun) {
          skipped.push({
            stepId: step.id,
            reason: `${step.tool} offers no dry-run`,
          });
          continue;
        }
        const result = await call(step.id, step.tool, input, true);
        if (!result) continue;
        ran.push(step.id);
        if (result.error) {
          findings.push(toolFinding(step.id, step.tool, result.error));
        } else if (result.plan && result.plan.objectCount === 0) {
          findings.push({
            kind: 'unexpected-count',
            stepId: step.id,
            message: `The dry-run of ${step.tool} would change nothing (0 objects): what the runbook acts on is empty or gone.`,
          });
        }
        continue;
      }
      if (description.annotations?.readOnlyHint !== true) {
        skipped.push({
          stepId: step.id,
          reason: `${step.tool} does not declare itself read-only`,
        });
        continue;
      }
      const result = await call(step.id, step.tool, input, false);
      if (!result) continue;
      ran.push(step.id);
      if (result.error) {
        findings.push(toolFinding(step.id, step.tool, result.error));
      } else {
        if (step.secretOutput) addSecrets(result.output);
        outputs[step.id] = { output: result.output };
      }
    }
    const known = [...secrets].sort((a, b) => b.length - a.length);
    let status: RunbookHealthResponse['status'] = 'healthy';
    if (findings.length > 0) status = 'drifted';
    else if (unreachable) status = 'unknown';
    return {
      runbookRef,
      entityRef,
      status,
      findings: maskSecrets(findings, known),
      skipped: maskSecrets(skipped, known),
      checked: { steps: ran, preconditions },
      verifiedAt: new Date(),
    };
  }
}

function toolFinding(
  stepId: string,
  tool: string,
  error: string,
): HealthFinding {
  return {
    kind: NOT_FOUND.test(error) ? 'missing-object' : 'tool-error',
    stepId,
    message: `${tool}: ${error}`,
  };
}
