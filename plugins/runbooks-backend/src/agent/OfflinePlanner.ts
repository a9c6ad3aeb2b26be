import {
  Incident,
  PlannerContext,
  PlannerResult,
  PlannerRunbook,
  RunbookPlanner,
} from '@runbooks/plugin-runbooks-node';
import { cleanUntrusted } from './fence';

/** Alert labels that commonly carry a parameter under another name. */
const LABEL_ALIASES: Record<string, string[]> = {
  deployment: ['deployment', 'app', 'app_kubernetes_io_name'],
  node: ['node', 'kubernetes_node'],
  queue: ['queue'],
  unit: ['unit', 'name'],
};

const lower = (s: string) => s.toLocaleLowerCase('en-US');

/** Whole words or phrases only: "restart" matches "please restart it", not "restarted". */
function mentions(text: string, phrase: string): boolean {
  const words = lower(phrase)
    .split(/\s+/)
    .filter(Boolean)
    .map(w => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  if (words.length === 0) return false;
  return new RegExp(
    `(^|[^\\p{L}\\p{N}])${words.join('\\s+')}($|[^\\p{L}\\p{N}])`,
    'u',
  ).test(text);
}

interface Match {
  runbook: PlannerRunbook;
  score: number;
  reasons: string[];
}

function score(runbook: PlannerRunbook, incident: Incident, text: string) {
  let best = 0;
  const reasons: string[] = [];
  for (const trigger of runbook.triggers) {
    const labels = Object.entries(trigger.labels ?? {});
    const labelsMatch = labels.every(
      ([key, value]) => incident.labels?.[key] === value,
    );
    if (labels.length > 0 && !labelsMatch) continue;
    if (trigger.alert) {
      if (
        incident.alertName &&
        lower(trigger.alert) === lower(incident.alertName)
      ) {
        best = Math.max(best, 100 + labels.length);
        reasons.push(`alert ${trigger.alert} is one of its triggers`);
      }
      continue;
    }
    if (labels.length > 0 && !trigger.keywords?.length) {
      best = Math.max(best, 50 + labels.length);
      reasons.push(
        `the alert's labels ${labels
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')} are one of its triggers`,
      );
      continue;
    }
    const hits = (trigger.keywords ?? []).filter(k => mentions(text, k));
    if (hits.length > 0) {
      best = Math.max(best, 10 * hits.length + labels.length);
      reasons.push(
        `the incident mentions ${hits.map(h => `"${h}"`).join(', ')}`,
      );
    }
  }
  return { score: best, reasons };
}

/** `key=value` pairs a person wrote in free text (`pod=checkout-7d9f replicas=4`). */
function pairsIn(text: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const m of text.matchAll(/(?:^|\s)([A-Za-z][\w-]*)=("[^"]*"|\S+)/g)) {
    pairs[m[1]] = m[2].replace(/^"|"$/g, '');
  }
  return pairs;
}

/**
 * The planner without a model: matches the incident's alert name, labels and keywords against the
 * runbooks' `triggers`, and fills parameters from the alert's labels (and `key=value` in free
 * text); everything else comes from the entity's defaults when the proposal is validated.
 * Deterministic: the same incident and catalog give the same proposal.
 */
export class OfflinePlanner implements RunbookPlanner {
  readonly id = 'offline';

  async plan(
    incident: Incident,
    context: PlannerContext,
  ): Promise<PlannerResult> {
    const text = lower(
      cleanUntrusted(
        [
          incident.alertName,
          incident.text,
          ...Object.values(incident.annotations ?? {}),
        ]
          .filter(Boolean)
          .join('\n'),
      ),
    );
    const freeText = cleanUntrusted(incident.text ?? '');
    const given: Record<string, string> = {
      ...pairsIn(freeText),
      ...incident.labels,
    };
    const matches: Match[] = context.runbooks
      .map(runbook => ({ runbook, ...score(runbook, incident, text) }))
      .filter(m => m.score > 0)
      .sort(
        (a, b) =>
          b.score - a.score || a.runbook.ref.localeCompare(b.runbook.ref),
      );
    if (matches.length === 0) {
      return {
        proposals: [],
        noAction: `No runbook for ${context.entityRef} has a trigger that matches this incident; a person should look at it.`,
      };
    }
    const unfillable: string[] = [];
    for (const match of matches) {
      const { parameters, filledFrom, missing } = fill(match.runbook, {
        ...namedIn(freeText, match.runbook),
        ...given,
      });
      if (missing.length > 0) {
        unfillable.push(
          `${match.runbook.name} needs ${missing.join(
            ', ',
          )}, which the incident does not give`,
        );
        continue;
      }
      const tied = matches.filter(m => m !== match && m.score === match.score);
      if (tied.length > 0) {
        return {
          proposals: [],
          noAction: `Several runbooks match equally (${[match, ...tied]
            .map(m => m.runbook.name)
            .join(', ')}); a person should choose.`,
        };
      }
      return {
        proposals: [
          {
            runbookRef: match.runbook.ref,
            entityRef: context.entityRef,
            parameters,
            rationale: `${match.runbook.title ?? match.runbook.name}: ${[
              ...new Set(match.reasons),
            ].join('; ')}.${
              filledFrom.length
                ? ` Parameters from the incident: ${filledFrom.join(', ')}.`
                : ''
            }`,
          },
        ],
      };
    }
    return {
      proposals: [],
      noAction: `Matching runbooks cannot be filled in: ${unfillable.join(
        '; ',
      )}.`,
    };
  }
}

/**
 * Values a person named in prose ("prefix sessions:v1:", "secret checkout-db", "6 replicas") for
 * the chosen runbook's parameters without a default; validation decides whether one is acceptable.
 */
function namedIn(
  text: string,
  runbook: PlannerRunbook,
): Record<string, string> {
  const found: Record<string, string> = {};
  for (const [name, def] of Object.entries(runbook.parameters)) {
    // prose only fills what has no default: "the namespace looks fine" must not set namespace
    if (def.secret || runbook.defaults[name] !== undefined) continue;
    const word = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const numeric = def.type === 'integer' || def.type === 'number';
    const match = numeric
      ? text.match(new RegExp(`(-?\\d+(?:\\.\\d+)?)\\s+${word}\\b`, 'i')) ??
        text.match(
          new RegExp(`\\b${word}\\s*(?:to|=|:)?\\s*(-?\\d+(?:\\.\\d+)?)`, 'i'),
        )
      : text.match(new RegExp(`\\b${word}\\s+([^\\s,;]+)`, 'i'));
    if (match) found[name] = match[1];
  }
  return found;
}

function fill(runbook: PlannerRunbook, given: Record<string, string>) {
  const parameters: Record<string, unknown> = {};
  const filledFrom: string[] = [];
  const missing: string[] = [];
  for (const [name, def] of Object.entries(runbook.parameters)) {
    if (def.secret) continue;
    const source = (LABEL_ALIASES[name] ?? [name]).find(
      key => given[key] !== undefined,
    );
    if (source !== undefined) {
      const raw = given[source];
      let value: unknown = raw;
      if (def.type === 'integer' || def.type === 'number') value = Number(raw);
      if (def.type === 'boolean') value = raw === 'true';
      parameters[name] = value;
      filledFrom.push(source === name ? name : `${name} (from ${source})`);
    } else if (runbook.defaults[name] === undefined && def.required !== false) {
      missing.push(name);
    }
  }
  return { parameters, filledFrom, missing };
}
