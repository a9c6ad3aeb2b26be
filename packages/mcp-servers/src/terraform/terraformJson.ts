import { ToolPlanChange } from '@runbooks/plugin-runbooks-node';

/** Shown in place of a value Terraform learns only during the apply. */
export const UNKNOWN_VALUE = '(known after apply)';
/** Shown in place of a value Terraform marks sensitive. */
export const SENSITIVE_VALUE = '(sensitive value)';

/** One resource instance in `terraform show -json` values. */
interface JsonResource {
  address: string;
  mode: string;
  type: string;
  name: string;
  values?: unknown;
  sensitive_values?: unknown;
}

interface JsonModule {
  resources?: JsonResource[];
  child_modules?: JsonModule[];
}

/** The `values` part of a state or of a plan's `prior_state` in `terraform show -json`. */
export interface JsonStateValues {
  outputs?: Record<string, { sensitive?: boolean; value?: unknown }>;
  root_module?: JsonModule;
}

/** The parts of `terraform show -json <planfile>` this server reads. */
export interface JsonPlan {
  resource_changes?: Array<{
    address: string;
    previous_address?: string;
    mode: string;
    type: string;
    deposed?: string;
    action_reason?: string;
    change: {
      actions: string[];
      before?: unknown;
      after?: unknown;
      after_unknown?: unknown;
      before_sensitive?: unknown;
      after_sensitive?: unknown;
      importing?: unknown;
    };
  }>;
  prior_state?: { values?: JsonStateValues };
}

/**
 * A resource instance in the state, as the Terraform tools return it.
 * @public
 */
export interface TerraformStateResource {
  address: string;
  mode: string;
  type: string;
  name: string;
  values: unknown;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function containsTrue(mask: unknown): boolean {
  if (mask === true) return true;
  if (Array.isArray(mask)) return mask.some(containsTrue);
  if (isObject(mask)) return Object.values(mask).some(containsTrue);
  return false;
}

/**
 * A value with its unknown parts replaced by {@link UNKNOWN_VALUE} and its sensitive parts by
 * {@link SENSITIVE_VALUE}, following Terraform's masks (`after_unknown`, `*_sensitive`).
 */
export function presentValue(
  value: unknown,
  unknownMask?: unknown,
  sensitiveMask?: unknown,
): unknown {
  if (sensitiveMask === true) return SENSITIVE_VALUE;
  if (unknownMask === true) return UNKNOWN_VALUE;
  if (Array.isArray(value) || Array.isArray(unknownMask)) {
    const items = Array.isArray(value) ? value : (unknownMask as unknown[]);
    const unknown = Array.isArray(unknownMask) ? unknownMask : [];
    const sensitive = Array.isArray(sensitiveMask) ? sensitiveMask : [];
    return items.map((_, i) =>
      presentValue(
        Array.isArray(value) ? value[i] : null,
        unknown[i],
        sensitive[i],
      ),
    );
  }
  if (isObject(value) || (isObject(unknownMask) && containsTrue(unknownMask))) {
    const fields = isObject(value) ? value : {};
    const unknown = isObject(unknownMask) ? unknownMask : {};
    const sensitive = isObject(sensitiveMask) ? sensitiveMask : {};
    const keys = new Set(Object.keys(fields));
    for (const [key, mask] of Object.entries(unknown)) {
      if (containsTrue(mask)) keys.add(key);
    }
    const out: Record<string, unknown> = {};
    for (const key of [...keys].sort()) {
      out[key] = presentValue(
        fields[key] ?? null,
        unknown[key],
        sensitive[key],
      );
    }
    return out;
  }
  return value ?? null;
}

function collectResources(
  module: JsonModule | undefined,
  into: JsonResource[],
) {
  if (!module) return into;
  into.push(...(module.resources ?? []));
  for (const child of module.child_modules ?? []) collectResources(child, into);
  return into;
}

/** The resource instances of a state, sensitive values masked, sorted by address. */
export function stateResources(
  values: JsonStateValues | undefined,
): TerraformStateResource[] {
  return collectResources(values?.root_module, [])
    .map(resource => ({
      address: resource.address,
      mode: resource.mode,
      type: resource.type,
      name: resource.name,
      values: presentValue(
        resource.values ?? null,
        undefined,
        resource.sensitive_values,
      ),
    }))
    .sort((a, b) => (a.address < b.address ? -1 : 1));
}

/** The root module's outputs of a state, sensitive ones masked. */
export function stateOutputs(
  values: JsonStateValues | undefined,
): Record<string, unknown> {
  const outputs: Record<string, unknown> = {};
  for (const [name, output] of Object.entries(values?.outputs ?? {})) {
    outputs[name] = output.sensitive ? SENSITIVE_VALUE : output.value ?? null;
  }
  return outputs;
}

function actionOf(actions: string[], moved: boolean, imported: boolean) {
  const key = actions.join(',');
  if (key === 'no-op') {
    if (imported) return 'import';
    return moved ? 'move' : undefined;
  }
  if (key === 'delete,create' || key === 'create,delete') return 'replace';
  return key;
}

/**
 * The contract's plan changes of a Terraform plan: every resource change that is not a no-op
 * (a move or an import counts), with masked before/after values. Nothing time-dependent is kept.
 */
export function planChanges(plan: JsonPlan): ToolPlanChange[] {
  const changes: ToolPlanChange[] = [];
  for (const rc of plan.resource_changes ?? []) {
    const moved =
      rc.previous_address !== undefined && rc.previous_address !== rc.address;
    const action = actionOf(
      rc.change.actions,
      moved,
      rc.change.importing !== undefined && rc.change.importing !== null,
    );
    if (!action) continue;
    const change: ToolPlanChange = {
      action,
      kind: rc.type,
      name: rc.address,
      address: rc.address,
      before: presentValue(
        rc.change.before ?? null,
        undefined,
        rc.change.before_sensitive,
      ),
      after: presentValue(
        rc.change.after ?? null,
        rc.change.after_unknown,
        rc.change.after_sensitive,
      ),
    };
    if (rc.mode !== 'managed') change.mode = rc.mode;
    if (moved) change.previousAddress = rc.previous_address;
    if (rc.deposed) change.deposed = rc.deposed;
    if (rc.action_reason) change.reason = rc.action_reason;
    changes.push(change);
  }
  return changes;
}

/** The addresses of all resource instances in a plan's prior state. */
export function priorAddresses(plan: JsonPlan): Set<string> {
  return new Set(
    collectResources(plan.prior_state?.values?.root_module, []).map(
      r => r.address,
    ),
  );
}
