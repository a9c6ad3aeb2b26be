import {
  BackstageCredentials,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { NotAllowedError } from '@backstage/errors';
import {
  AuthorizeResult,
  PermissionCriteria,
  ResourcePermission,
} from '@backstage/plugin-permission-common';
import {
  createConditionAuthorizer,
  createConditionTransformer,
  PermissionRuleset,
} from '@backstage/plugin-permission-node';
import {
  executionReadPermission,
  killSwitchManagePermission,
  runbookExecutePermission,
  RUNBOOK_EXECUTION_RESOURCE_TYPE,
} from '@runbooks/plugin-runbooks-common';
import { Execution, ExecutionCondition } from '../engine';

/** Which executions a reader may see: all, none, or those matching conditions. */
export type ExecutionVisibility =
  | { kind: 'all' }
  | { kind: 'none' }
  | { kind: 'some'; criteria: PermissionCriteria<ExecutionCondition> };

/**
 * The runbooks plugin's permission checks, over the permission framework: every decision is asked
 * of the policy when it is needed (never cached), and conditional decisions on executions are
 * evaluated here, against the execution or as a database filter.
 */
export class RunbooksAuthorizer {
  private readonly applies: ReturnType<
    typeof createConditionAuthorizer<Execution>
  >;
  private readonly toFilter: ReturnType<
    typeof createConditionTransformer<ExecutionCondition>
  >;

  constructor(
    private readonly permissions: PermissionsService,
    ruleset: PermissionRuleset<Execution, ExecutionCondition>,
  ) {
    this.applies = createConditionAuthorizer(ruleset);
    this.toFilter = createConditionTransformer(ruleset);
  }

  /** Whether the caller may request executions of runbooks on the entity. */
  async canExecute(
    credentials: BackstageCredentials,
    entityRef: string,
  ): Promise<boolean> {
    const [decision] = await this.permissions.authorize(
      [{ permission: runbookExecutePermission, resourceRef: entityRef }],
      { credentials },
    );
    return decision.result === AuthorizeResult.ALLOW;
  }

  async assertCanExecute(
    credentials: BackstageCredentials,
    entityRef: string,
  ): Promise<void> {
    if (!(await this.canExecute(credentials, entityRef))) {
      throw new NotAllowedError(
        `You may not run runbooks on ${entityRef} (${runbookExecutePermission.name})`,
      );
    }
  }

  /** Whether the caller holds a permission on one execution. */
  async allows(
    credentials: BackstageCredentials,
    permission: ResourcePermission<typeof RUNBOOK_EXECUTION_RESOURCE_TYPE>,
    execution: Execution,
  ): Promise<boolean> {
    return (await this.allowedExecutions(credentials, permission))(execution);
  }

  /**
   * On which executions the caller holds a permission, as a predicate: one decision of the policy
   * for as many executions as a request looks at.
   */
  async allowedExecutions(
    credentials: BackstageCredentials,
    permission: ResourcePermission<typeof RUNBOOK_EXECUTION_RESOURCE_TYPE>,
  ): Promise<(execution: Execution) => boolean> {
    const [decision] = await this.permissions.authorizeConditional(
      [{ permission }],
      { credentials },
    );
    return execution => this.applies(decision, execution);
  }

  async assert(
    credentials: BackstageCredentials,
    permission: ResourcePermission<typeof RUNBOOK_EXECUTION_RESOURCE_TYPE>,
    execution: Execution,
    what: string,
  ): Promise<void> {
    if (!(await this.allows(credentials, permission, execution))) {
      throw new NotAllowedError(
        `You may not ${what} execution ${execution.id} (${permission.name})`,
      );
    }
  }

  /** Which executions the caller may read, for list queries. */
  async visibleExecutions(
    credentials: BackstageCredentials,
  ): Promise<ExecutionVisibility> {
    const [decision] = await this.permissions.authorizeConditional(
      [{ permission: executionReadPermission }],
      { credentials },
    );
    if (decision.result === AuthorizeResult.ALLOW) return { kind: 'all' };
    if (decision.result === AuthorizeResult.CONDITIONAL) {
      return { kind: 'some', criteria: this.toFilter(decision.conditions) };
    }
    return { kind: 'none' };
  }

  /** Whether the caller may engage and release kill switches. */
  async canManageKillSwitches(
    credentials: BackstageCredentials,
  ): Promise<boolean> {
    const [decision] = await this.permissions.authorize(
      [{ permission: killSwitchManagePermission }],
      { credentials },
    );
    return decision.result === AuthorizeResult.ALLOW;
  }

  async assertCanManageKillSwitches(
    credentials: BackstageCredentials,
  ): Promise<void> {
    if (!(await this.canManageKillSwitches(credentials))) {
      throw new NotAllowedError(
        `You may not engage or release kill switches (${killSwitchManagePermission.name})`,
      );
    }
  }
}
