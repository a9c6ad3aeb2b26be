import { KubeObject } from './types';

/** One requirement of a label selector, in the API server's terms. */
interface Requirement {
  key: string;
  op: 'in' | 'notin' | 'exists' | '!exists';
  values: string[];
}

/**
 * A predicate over labels, parsed from the `labelSelector` query syntax: `a=b`, `a==b`, `a!=b`,
 * `a in (x,y)`, `a notin (x)`, `a`, `!a`, joined by commas.
 */
export type LabelPredicate = (
  labels: Record<string, string> | undefined,
) => boolean;

/** Thrown for a selector the API server would refuse (answered with 400 BadRequest). */
export class SelectorError extends Error {}

function splitTopLevel(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts.map(p => p.trim()).filter(p => p.length > 0);
}

function parseRequirement(term: string): Requirement {
  let m = term.match(/^!\s*([^\s=!()]+)$/);
  if (m) return { key: m[1], op: '!exists', values: [] };
  m = term.match(/^([^\s=!()]+)\s+(in|notin)\s+\(([^)]*)\)$/);
  if (m) {
    const values = m[3]
      .split(',')
      .map(v => v.trim())
      .filter(v => v.length > 0);
    return { key: m[1], op: m[2] as 'in' | 'notin', values };
  }
  m = term.match(/^([^\s=!()]+)\s*(==|=|!=)\s*([^\s=!(),]*)$/);
  if (m) {
    return { key: m[1], op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]] };
  }
  m = term.match(/^([^\s=!()]+)$/);
  if (m) return { key: m[1], op: 'exists', values: [] };
  throw new SelectorError(`unable to parse requirement: ${term}`);
}

function matches(req: Requirement, labels: Record<string, string>) {
  const has = Object.prototype.hasOwnProperty.call(labels, req.key);
  switch (req.op) {
    case 'exists':
      return has;
    case '!exists':
      return !has;
    case 'in':
      return has && req.values.includes(labels[req.key]);
    default:
      return !has || !req.values.includes(labels[req.key]);
  }
}

/** Parses a `labelSelector` query value. */
export function parseLabelSelector(
  selector: string | null | undefined,
): LabelPredicate {
  if (!selector) return () => true;
  const reqs = splitTopLevel(selector).map(parseRequirement);
  return labels => reqs.every(r => matches(r, labels ?? {}));
}

/** A `metav1.LabelSelector` (matchLabels + matchExpressions) as a predicate; empty matches all. */
export function labelSelectorObjectPredicate(selector: any): LabelPredicate {
  const reqs: Requirement[] = [];
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) {
    reqs.push({ key, op: 'in', values: [String(value)] });
  }
  for (const expr of selector?.matchExpressions ?? []) {
    const op = String(expr.operator);
    if (op === 'In')
      reqs.push({ key: expr.key, op: 'in', values: expr.values ?? [] });
    else if (op === 'NotIn')
      reqs.push({ key: expr.key, op: 'notin', values: expr.values ?? [] });
    else if (op === 'Exists')
      reqs.push({ key: expr.key, op: 'exists', values: [] });
    else if (op === 'DoesNotExist')
      reqs.push({ key: expr.key, op: '!exists', values: [] });
  }
  return labels => reqs.every(r => matches(r, labels ?? {}));
}

/** `matchLabels` of a selector in the `a=b,c=d` query syntax (for status.selector of a Scale). */
export function selectorToString(selector: any): string {
  const parts = Object.entries(selector?.matchLabels ?? {}).map(
    ([k, v]) => `${k}=${v}`,
  );
  for (const expr of selector?.matchExpressions ?? []) {
    const values = (expr.values ?? []).join(',');
    if (expr.operator === 'In') parts.push(`${expr.key} in (${values})`);
    if (expr.operator === 'NotIn') parts.push(`${expr.key} notin (${values})`);
    if (expr.operator === 'Exists') parts.push(expr.key);
    if (expr.operator === 'DoesNotExist') parts.push(`!${expr.key}`);
  }
  return parts.join(',');
}

function fieldValue(obj: KubeObject, path: string): string {
  let value: any = obj;
  for (const part of path.split('.')) value = value?.[part];
  if (value === undefined || value === null) return '';
  return String(value);
}

/**
 * Parses a `fieldSelector` query value: `path=value`, `path==value`, `path!=value` joined by
 * commas, over any dotted path of the object (the real server allows only a few per kind).
 */
export function parseFieldSelector(
  selector: string | null | undefined,
): (obj: KubeObject) => boolean {
  if (!selector) return () => true;
  const terms = selector
    .split(',')
    .map(t => t.trim())
    .filter(Boolean)
    .map(term => {
      const m = term.match(/^([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*)$/);
      if (!m) throw new SelectorError(`invalid field selector: ${term}`);
      return { path: m[1], negate: m[2] === '!=', value: m[3] };
    });
  return obj =>
    terms.every(t => (fieldValue(obj, t.path) === t.value) !== t.negate);
}
