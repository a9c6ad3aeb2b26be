import {
  BackstageCredentials,
  LoggerService,
} from '@backstage/backend-plugin-api';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { InputError, NotFoundError } from '@backstage/errors';
import { CatalogService } from '@backstage/plugin-catalog-node';
import {
  compileParameterSchema,
  EntityRunbook,
  parametersToJsonSchema,
  resolveParameterDefaults,
  RUNBOOK_KIND,
  runbookAppliesTo,
  RunbookApprovalSummary,
  RunbookEntityV1alpha1,
  validateRunbookEntity,
} from '@runbooks/plugin-runbooks-common';
import {
  checkRunbookTools,
  RunbookToolProblem,
  ToolInputValidator,
  ToolInvoker,
} from '@runbooks/plugin-runbooks-node';

/**
 * Reads runbooks from the catalog and resolves which apply to an entity, with the caller's
 * credentials so catalog permissions hold. Runbooks are checked against the configured tools:
 * one that names an unknown tool or passes input the tool's schema rejects is reported, not run.
 */
export class RunbookCatalog {
  private readonly validator = new ToolInputValidator();

  constructor(
    private readonly catalog: CatalogService,
    private readonly logger: LoggerService,
    private readonly tools?: Pick<ToolInvoker, 'describe'>,
  ) {}

  /** The problems of a runbook's steps with the configured tools. */
  async checkTools(
    runbook: RunbookEntityV1alpha1,
    context?: { parameters: Record<string, unknown>; entity: Entity },
  ): Promise<RunbookToolProblem[]> {
    if (!this.tools) return [];
    return checkRunbookTools(runbook, this.tools, {
      context,
      validator: this.validator,
    });
  }

  /** The entity, or NotFoundError. */
  async getEntity(
    entityRef: string,
    credentials: BackstageCredentials,
  ): Promise<Entity> {
    const entity = await this.catalog.getEntityByRef(entityRef, {
      credentials,
    });
    if (!entity) {
      throw new NotFoundError(`No entity ${entityRef} in the catalog`);
    }
    return entity;
  }

  /** Every valid runbook in the catalog. */
  async listRunbooks(
    credentials: BackstageCredentials,
  ): Promise<RunbookEntityV1alpha1[]> {
    const { items } = await this.catalog.getEntities(
      { filter: { kind: RUNBOOK_KIND } },
      { credentials },
    );
    const runbooks: RunbookEntityV1alpha1[] = [];
    for (const item of items) {
      const result = validateRunbookEntity(item);
      if (result.ok) {
        runbooks.push({ ...result.runbook, relations: item.relations });
      } else {
        // the catalog keeps a once-valid version; a runbook that fails here was changed underneath
        this.logger.warn(
          `Skipping invalid runbook ${stringifyEntityRef(item)}: ${result.issues
            .map(i => i.message)
            .join('; ')}`,
        );
      }
    }
    return runbooks;
  }

  /** A runbook by ref, validated; NotFoundError or InputError otherwise. */
  async getRunbook(
    runbookRef: string,
    credentials: BackstageCredentials,
  ): Promise<RunbookEntityV1alpha1> {
    const entity = await this.catalog.getEntityByRef(runbookRef, {
      credentials,
    });
    if (!entity || entity.kind.toLocaleLowerCase('en-US') !== 'runbook') {
      throw new NotFoundError(`No runbook ${runbookRef} in the catalog`);
    }
    const result = validateRunbookEntity(entity);
    if (!result.ok) {
      throw new InputError(
        `Runbook ${runbookRef} is invalid: ${result.issues
          .map(i => i.message)
          .join('; ')}`,
      );
    }
    return result.runbook;
  }

  /**
   * Resolves a request to run a runbook against an entity: both exist, the runbook applies to the
   * entity, and the parameters satisfy the runbook's typed schema (defaults from the entity).
   */
  async resolveRequest(
    request: { runbookRef: string; entityRef: string; parameters: unknown },
    credentials: BackstageCredentials,
  ): Promise<{
    runbook: RunbookEntityV1alpha1;
    entity: Entity;
    parameters: Record<string, unknown>;
  }> {
    const runbook = await this.getRunbook(request.runbookRef, credentials);
    const entity = await this.getEntity(request.entityRef, credentials);
    if (runbookAppliesTo(runbook, entity).length === 0) {
      throw new InputError(
        `Runbook ${request.runbookRef} does not apply to ${stringifyEntityRef(
          entity,
        )}`,
      );
    }
    const schema = compileParameterSchema(runbook.spec.parameters, {
      defaults: resolveParameterDefaults(runbook.spec.parameters, entity),
    });
    const parsed = schema.safeParse(request.parameters ?? {});
    if (!parsed.success) {
      throw new InputError(
        `Invalid parameters for ${request.runbookRef}: ${parsed.error.issues
          .map(i => `${i.path.join('.') || '(parameters)'}: ${i.message}`)
          .join('; ')}`,
      );
    }
    const problems = await this.checkTools(runbook, {
      parameters: parsed.data,
      entity,
    });
    if (problems.length > 0) {
      throw new InputError(
        `Runbook ${
          request.runbookRef
        } cannot run with the configured tools: ${problems
          .map(p => `step '${p.stepId}' (${p.tool}): ${p.message}`)
          .join('; ')}`,
      );
    }
    return { runbook, entity, parameters: parsed.data };
  }

  /**
   * The runbooks that apply to an entity, with parameters resolved against it (`items`), and as
   * they are in the catalog (`runbooks`).
   */
  async listForEntity(
    entityRef: string,
    credentials: BackstageCredentials,
  ): Promise<{
    entity: Entity;
    items: EntityRunbook[];
    runbooks: RunbookEntityV1alpha1[];
  }> {
    const entity = await this.getEntity(entityRef, credentials);
    const items: EntityRunbook[] = [];
    const runbooks: RunbookEntityV1alpha1[] = [];
    for (const runbook of await this.listRunbooks(credentials)) {
      const appliesBy = runbookAppliesTo(runbook, entity);
      if (appliesBy.length === 0) continue;
      runbooks.push(runbook);
      items.push(
        describeRunbook(
          runbook,
          entity,
          appliesBy,
          await this.checkTools(runbook),
        ),
      );
    }
    items.sort((a, b) => (a.title ?? a.name).localeCompare(b.title ?? b.name));
    return { entity, items, runbooks };
  }
}

/** The API view of a runbook for one entity. */
export function describeRunbook(
  runbook: RunbookEntityV1alpha1,
  entity: Entity,
  appliesBy: EntityRunbook['appliesBy'],
  toolProblems: RunbookToolProblem[] = [],
): EntityRunbook {
  const defaults = resolveParameterDefaults(runbook.spec.parameters, entity);
  const mutating = runbook.spec.steps.filter(s => s.mutates);
  let approval: RunbookApprovalSummary = 'none';
  if (runbook.spec.steps.some(s => s.approval === 'always')) {
    approval = 'always';
  } else if (mutating.length > 0) {
    approval = 'blast-radius';
  }
  return {
    ref: stringifyEntityRef({
      kind: RUNBOOK_KIND,
      namespace: runbook.metadata.namespace ?? 'default',
      name: runbook.metadata.name,
    }),
    name: runbook.metadata.name,
    title: runbook.metadata.title,
    description: runbook.metadata.description,
    owner: runbook.spec.owner,
    appliesBy,
    parametersSchema: parametersToJsonSchema(runbook.spec.parameters, {
      defaults,
    }),
    parameterDefinitions: runbook.spec.parameters,
    defaults,
    steps: runbook.spec.steps.map(s => ({
      id: s.id,
      name: s.name,
      tool: s.tool,
      mutates: s.mutates,
      idempotent: s.idempotent,
      approval: s.approval,
    })),
    mutatingSteps: mutating.length,
    approval,
    toolProblems,
    triggers: runbook.spec.triggers ?? [],
  };
}
