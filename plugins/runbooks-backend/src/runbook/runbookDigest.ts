import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { RunbookEntityV1alpha1 } from '@runbooks/plugin-runbooks-common';

/**
 * The sha256 digest of a runbook's content: its identity and spec, canonical JSON (RFC 8785).
 * Catalog bookkeeping (uid, etag, relations, status) is left out, so the digest changes only
 * when what would run changes.
 */
export function runbookDigest(runbook: RunbookEntityV1alpha1): string {
  const content = {
    apiVersion: runbook.apiVersion,
    kind: runbook.kind,
    metadata: {
      name: runbook.metadata.name,
      namespace: runbook.metadata.namespace ?? 'default',
    },
    spec: runbook.spec,
  };
  const json = canonicalize(content);
  if (json === undefined) {
    throw new Error('runbook content cannot be canonicalized');
  }
  return `sha256:${createHash('sha256').update(json).digest('hex')}`;
}
