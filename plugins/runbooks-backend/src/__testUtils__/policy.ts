import {
  BackstageCredentials,
  BackstageUserPrincipal,
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  AuthorizeResult,
  isPermission,
  Permission,
  PermissionCondition,
  PermissionCriteria,
  PolicyDecision,
} from '@backstage/plugin-permission-common';
import {
  executionApprovePermission,
  executionCancelPermission,
  executionReadPermission,
  killSwitchManagePermission,
  runbookExecutePermission,
  RUNBOOK_EXECUTION_RESOURCE_TYPE,
} from '@runbooks/plugin-runbooks-common';
import {
  createRunbookExecutionConditionalDecision,
  runbookExecutionConditions,
} from '../permissions';

/** The groups of the users of {@link demoLikePolicy}. */
const GROUPS: Record<string, string[]> = {
  'user:default/alice': ['group:default/team-checkout'],
  'user:default/bob': ['group:default/sre'],
  'user:default/carol': ['group:default/incident-review'],
  'user:default/mallory': [],
  'user:default/dave': [],
};

const allow = { result: AuthorizeResult.ALLOW } as const;
const deny = { result: AuthorizeResult.DENY } as const;

/**
 * The decisions of the local portal's demo policy (packages/backend), which this plugin cannot
 * import: alice (team-checkout, owns checkout) runs runbooks on checkout and reads and cancels her
 * own executions; bob (sre) reads, approves and cancels everything and manages kill switches;
 * carol (incident-review) reads everything and changes nothing; mallory owns nothing. Besides the
 * demo: dave may approve but read nothing, and services are allowed everything (so what a route
 * withholds from services is the route's doing).
 */
export function demoLikePolicy(
  permission: Permission,
  credentials: BackstageCredentials,
): PolicyDecision {
  const principal = credentials.principal as Partial<BackstageUserPrincipal>;
  if (principal.type !== 'user') return allow;
  const ref = principal.userEntityRef!;
  const claims = [ref, ...(GROUPS[ref] ?? [])];
  const approver = claims.includes('group:default/sre');
  const reviewer = claims.includes('group:default/incident-review');
  const dave = ref === 'user:default/dave';
  const own: PermissionCriteria<
    PermissionCondition<typeof RUNBOOK_EXECUTION_RESOURCE_TYPE>
  > = {
    anyOf: [
      runbookExecutionConditions.isRequester({ claims }),
      runbookExecutionConditions.isEntityOwner({ claims }),
    ],
  };
  if (isPermission(permission, runbookExecutePermission)) {
    return claims.includes('group:default/team-checkout') ? allow : deny;
  }
  if (isPermission(permission, executionReadPermission)) {
    if (approver || reviewer) return allow;
    if (dave) return deny;
    return createRunbookExecutionConditionalDecision(permission, own);
  }
  if (isPermission(permission, executionApprovePermission)) {
    return approver || dave ? allow : deny;
  }
  if (isPermission(permission, executionCancelPermission)) {
    if (approver) return allow;
    if (reviewer || dave) return deny;
    return createRunbookExecutionConditionalDecision(permission, own);
  }
  if (isPermission(permission, killSwitchManagePermission)) {
    return approver ? allow : deny;
  }
  return allow;
}

/**
 * Service factories for {@link demoLikePolicy}: the permissions service asks it at every check,
 * and the user-info service gives each user the groups the policy knows.
 */
export function demoLikePolicyFeatures() {
  return [
    createServiceFactory({
      service: coreServices.permissions,
      deps: {},
      factory: () =>
        ({
          authorize: async (
            requests: Array<{ permission: Permission }>,
            { credentials }: { credentials: BackstageCredentials },
          ) =>
            requests.map(r => {
              const decision = demoLikePolicy(r.permission, credentials);
              return decision.result === AuthorizeResult.CONDITIONAL
                ? deny
                : decision;
            }),
          authorizeConditional: async (
            requests: Array<{ permission: Permission }>,
            { credentials }: { credentials: BackstageCredentials },
          ) => requests.map(r => demoLikePolicy(r.permission, credentials)),
        } as any),
    }),
    createServiceFactory({
      service: coreServices.userInfo,
      deps: {},
      factory: () => ({
        async getUserInfo(credentials: BackstageCredentials) {
          const ref = (credentials.principal as BackstageUserPrincipal)
            .userEntityRef;
          return {
            userEntityRef: ref,
            ownershipEntityRefs: [ref, ...(GROUPS[ref] ?? [])],
          };
        },
      }),
    }),
  ];
}
