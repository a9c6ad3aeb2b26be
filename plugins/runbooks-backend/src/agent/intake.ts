import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { CatalogService } from '@backstage/plugin-catalog-node';
import { Incident } from '@runbooks/plugin-runbooks-node';
import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AgentConfig } from './config';

const text = z.string().max(100_000);
const labels = z
  .record(z.string().max(200), z.string().max(10_000))
  .refine(o => Object.keys(o).length <= 100, {
    message: 'at most 100 labels or annotations',
  });

/** One alert of an Alertmanager webhook (version 4). */
const alertmanagerAlert = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: labels.default({}),
  annotations: labels.default({}),
  startsAt: z.string().optional(),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().optional(),
});

/** The Alertmanager webhook payload (`version: "4"`). */
export const alertmanagerPayload = z.object({
  version: z.string().optional(),
  status: z.string().optional(),
  receiver: z.string().optional(),
  groupLabels: labels.optional(),
  commonLabels: labels.optional(),
  commonAnnotations: labels.optional(),
  // Alertmanager groups alerts; a bigger group is a storm for a person, not for the agent
  alerts: z.array(alertmanagerAlert).min(1).max(50),
});

/** A generic JSON alert: anything that can say what fired, where, and what it looks like. */
export const genericAlert = z
  .object({
    entityRef: z.string().max(300).optional(),
    alertName: z.string().max(300).optional(),
    title: z.string().max(1000).optional(),
    text: text.optional(),
    labels: labels.optional(),
    annotations: labels.optional(),
    logs: z.array(text).max(20).optional(),
  })
  .strict()
  .refine(a => a.alertName || a.title || a.text, {
    message: 'an alert needs alertName, title or text',
  });

/** The firing alerts of an Alertmanager payload as incidents (resolved alerts ask for nothing). */
export function alertmanagerIncidents(
  payload: z.infer<typeof alertmanagerPayload>,
): Array<{ incident: Incident; dedupeKey?: string }> {
  return payload.alerts
    .filter(a => a.status === 'firing')
    .map(a => ({
      incident: {
        source: 'alertmanager',
        alertName: a.labels.alertname,
        labels: a.labels,
        annotations: a.annotations,
        text: a.annotations.summary ?? a.annotations.description,
      },
      // the same alert firing since the same time is the same incident, however often it is sent
      dedupeKey: !a.startsAt
        ? undefined
        : `alertmanager:${
            a.fingerprint ??
            createHash('sha256')
              .update(canonicalize(a.labels) ?? '')
              .digest('hex')
              .slice(0, 32)
          }:${a.startsAt}`.slice(0, 255),
    }));
}

/** A generic alert as an incident. */
export function genericIncident(alert: z.infer<typeof genericAlert>): Incident {
  return {
    source: 'generic',
    alertName: alert.alertName,
    labels: alert.labels,
    annotations: alert.annotations,
    text: [alert.title, alert.text].filter(Boolean).join('\n'),
    logs: alert.logs,
  };
}

/**
 * Finds the catalog entity an alert is about: an explicit entity ref (the configured label, or
 * `entityRef` of a generic alert), else the labels mapped to annotations (`deployment` →
 * `backstage.io/kubernetes-id`, …), which must single out exactly one entity.
 */
export async function resolveIncidentEntity(
  incident: Incident,
  explicitRef: string | undefined,
  intake: AgentConfig['intake'],
  catalog: CatalogService,
  credentials: BackstageCredentials,
): Promise<{ entityRef?: string; unresolved?: string }> {
  const ref = explicitRef ?? incident.labels?.[intake.entityLabel];
  if (ref) {
    let normalized: string;
    try {
      normalized = stringifyEntityRef(
        parseEntityRef(ref, {
          defaultKind: 'component',
          defaultNamespace: 'default',
        }),
      );
    } catch {
      return { unresolved: `'${ref.slice(0, 200)}' is not an entity ref` };
    }
    const entity = await catalog.getEntityByRef(normalized, { credentials });
    return entity
      ? { entityRef: stringifyEntityRef(entity) }
      : { unresolved: `No entity ${normalized} in the catalog` };
  }
  const filter: Record<string, string> = {};
  for (const [label, annotation] of Object.entries(intake.labelAnnotations)) {
    const value = incident.labels?.[label];
    if (value === undefined) continue;
    const key = `metadata.annotations.${annotation}`;
    if (filter[key] !== undefined && filter[key] !== value) {
      return {
        unresolved: `Labels disagree on ${annotation}: '${filter[key]}' and '${value}'`,
      };
    }
    filter[key] = value;
  }
  if (Object.keys(filter).length === 0) {
    return {
      unresolved: `The alert has none of the labels that name an entity (${[
        intake.entityLabel,
        ...Object.keys(intake.labelAnnotations),
      ].join(', ')})`,
    };
  }
  const { items } = await catalog.getEntities(
    { filter, fields: ['kind', 'metadata.name', 'metadata.namespace'] },
    { credentials },
  );
  if (items.length === 1) return { entityRef: stringifyEntityRef(items[0]) };
  const described = Object.entries(filter)
    .map(([k, v]) => `${k.replace('metadata.annotations.', '')}=${v}`)
    .join(', ');
  return {
    unresolved:
      items.length === 0
        ? `No entity has ${described}`
        : `${items.length} entities have ${described} (${items
            .slice(0, 5)
            .map(e => stringifyEntityRef(e))
            .join(', ')}); add the '${intake.entityLabel}' label to the alert`,
  };
}
