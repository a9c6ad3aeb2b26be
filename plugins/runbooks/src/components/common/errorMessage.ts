import { ResponseError } from '@backstage/errors';

/**
 * The words to show for a failed call: the backend's own reason (a `ResponseError`'s cause, such
 * as "the plan changed"), not only "Request failed with 409 Conflict".
 */
export function errorMessage(error: unknown): string {
  if (ResponseError.is(error) && error.cause.message) {
    return error.cause.message;
  }
  return error instanceof Error ? error.message : String(error);
}
