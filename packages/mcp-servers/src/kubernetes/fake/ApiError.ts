import { ResourceType } from './types';

/**
 * A failed API request, answered with a `Status` object that kubectl prints as
 * `Error from server (<Reason>): <message>`.
 */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  /** The `Status` object of the response. */
  toStatus() {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** `deployments.apps` for a group, `pods` for the core group: how the API server names a resource. */
export function qualifiedResource(type: ResourceType) {
  return type.group ? `${type.resource}.${type.group}` : type.resource;
}

/** 404 for a missing object. */
export function notFound(type: ResourceType, name: string) {
  return new ApiError(
    404,
    'NotFound',
    `${qualifiedResource(type)} "${name}" not found`,
    { name, group: type.group || undefined, kind: type.resource },
  );
}

/** 409 for a stale resourceVersion or a failed precondition. */
export function conflict(type: ResourceType, name: string) {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(
      type,
    )} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, group: type.group || undefined, kind: type.resource },
  );
}

/** 422 for an object that fails validation. */
export function invalid(type: ResourceType, name: string, message: string) {
  return new ApiError(
    422,
    'Invalid',
    `${type.kind} "${name}" is invalid: ${message}`,
    { name, group: type.group || undefined, kind: type.kind },
  );
}
