import {
  BackstageUserInfo,
  coreServices,
  createBackendModule,
  UserInfoService,
} from '@backstage/backend-plugin-api';
import {
  catalogConditions,
  createCatalogConditionalDecision,
} from '@backstage/plugin-catalog-backend/alpha';
import {
  AuthorizeResult,
  isPermission,
  PermissionCondition,
  PermissionCriteria,
  PolicyDecision,
} from '@backstage/plugin-permission-common';
import {
  PermissionPolicy,
  PolicyQuery,
  PolicyQueryUser,
} from '@backstage/plugin-permission-node';
import { policyExtensionPoint } from '@backstage/plugin-permission-node/alpha';
import {
  createRunbookExecutionConditionalDecision,
  runbookExecutionConditions,
} from '@runbooks/plugin-runbooks-backend';
import {
  executionApprovePermission,
  executionCancelPermission,
  executionReadPermission,
  killSwitchManagePermission,
  runbookExecutePermission,
  RUNBOOK_EXECUTION_RESOURCE_TYPE,
} from '@runbooks/plugin-runbooks-common';

/** Members approve risky steps, cancel anything and manage kill switches. */
export const APPROVER_GROUP = 'group:default/sre';
/** Members read everything and change nothing. */
export const REVIEWER_GROUP = 'group:default/incident-review';

/**
 * The local portal's permission policy, an EXAMPLE to adapt:
 * - owners of an entity may run its runbooks;
 * - members of `sre` may approve, cancel, resume/skip/abort and manage kill switches;
 * - members of `incident-review` (carol) may read every execution and change nothing, here or in
 *   the catalog;
 * - only members of `sre` register or delete catalog entities: ownership and dependencies in the
 *   catalog decide who may run what and who must approve;
 * - everyone else reads and cancels their own executions: those they requested and those on
 *   entities they own.
 */
export class RunbooksDemoPolicy implements PermissionPolicy {
  constructor(private readonly userInfo: UserInfoService) {}

  async handle(
    request: PolicyQuery,
    user?: PolicyQueryUser,
  ): Promise<PolicyDecision> {
    if (!user) return { result: AuthorizeResult.DENY };
    const info: BackstageUserInfo = await this.userInfo.getUserInfo(
      user.credentials,
    );
    const claims = info.ownershipEntityRefs;
    const approver = claims.includes(APPROVER_GROUP);
    const reviewer = claims.includes(REVIEWER_GROUP);
    const { permission } = request;
    const allow = { result: AuthorizeResult.ALLOW } as const;
    const deny = { result: AuthorizeResult.DENY } as const;
    const own = (): PermissionCriteria<
      PermissionCondition<typeof RUNBOOK_EXECUTION_RESOURCE_TYPE>
    > => ({
      anyOf: [
        runbookExecutionConditions.isRequester({ claims }),
        runbookExecutionConditions.isEntityOwner({ claims }),
      ],
    });

    if (isPermission(permission, runbookExecutePermission)) {
      if (reviewer) return deny;
      return createCatalogConditionalDecision(
        permission,
        catalogConditions.isEntityOwner({ claims }),
      );
    }
    if (isPermission(permission, executionReadPermission)) {
      if (approver || reviewer) return allow;
      return createRunbookExecutionConditionalDecision(permission, own());
    }
    if (isPermission(permission, executionApprovePermission)) {
      return approver ? allow : deny;
    }
    if (isPermission(permission, executionCancelPermission)) {
      if (approver) return allow;
      if (reviewer) return deny;
      return createRunbookExecutionConditionalDecision(permission, own());
    }
    if (isPermission(permission, killSwitchManagePermission)) {
      return approver ? allow : deny;
    }
    // the catalog is the topology approvals rely on: only sre registers or deletes entities
    const action = permission.attributes.action ?? 'read';
    if (['create', 'delete'].includes(action)) return approver ? allow : deny;
    if (reviewer && action === 'update') return deny;
    return allow;
  }
}

/** Installs {@link RunbooksDemoPolicy} as the permission backend's policy. */
export const runbooksDemoPolicyModule = createBackendModule({
  pluginId: 'permission',
  moduleId: 'runbooks-demo-policy',
  register(reg) {
    reg.registerInit({
      deps: {
        policy: policyExtensionPoint,
        userInfo: coreServices.userInfo,
      },
      async init({ policy, userInfo }) {
        policy.setPolicy(new RunbooksDemoPolicy(userInfo));
      },
    });
  },
});
