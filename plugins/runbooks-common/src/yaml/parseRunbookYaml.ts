import {
  Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  Node,
  parseAllDocuments,
} from 'yaml';
import { RUNBOOK_KIND } from '../constants';

const RUNBOOK_API_GROUP = 'runbooks.backstage.io';
import { RunbookEntityV1alpha1, validateRunbookEntity } from '../kind';

/**
 * A problem in a runbook file, at a line and column (both 1-based).
 * @public
 */
export interface RunbookFileIssue {
  line: number;
  col: number;
  message: string;
}

/**
 * The outcome of reading one YAML file that holds runbooks.
 * @public
 */
export interface RunbookFileResult {
  /** The valid runbooks in the file, in order. */
  runbooks: RunbookEntityV1alpha1[];
  /** Every problem, in file order. */
  issues: RunbookFileIssue[];
  /** For each runbook (same order): the line and column of a field, by its path. */
  locators: Array<
    (path: Array<string | number>) => { line: number; col: number }
  >;
}

type Range = [number, number, number?];

function locate(
  doc: Document,
  path: Array<string | number>,
  atKey: boolean,
): Range | undefined {
  let node: unknown = doc.contents;
  let best: Range | undefined =
    (doc.contents as Node | null)?.range ?? undefined;
  // where a missing field is reported: the key of the map that lacks it
  let parentKey: Range | undefined = best;
  for (let i = 0; i < path.length; i++) {
    const key = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find(
        p =>
          isPair(p) && isScalar(p.key) && String(p.key.value) === String(key),
      );
      if (!pair) return parentKey;
      if (isScalar(pair.key) && pair.key.range) parentKey = pair.key.range;
      if (last && atKey && isScalar(pair.key) && pair.key.range) {
        return pair.key.range;
      }
      const value = pair.value as Node | null;
      if (!value || !value.range) {
        // `key:` with no value: point at the key
        return isScalar(pair.key) && pair.key.range ? pair.key.range : best;
      }
      node = value;
      best = value.range;
    } else if (isSeq(node) && typeof key === 'number') {
      const item = node.items[key] as Node | undefined;
      if (!item?.range) return best;
      node = item;
      best = item.range;
      parentKey = item.range;
    } else {
      return best;
    }
  }
  return best;
}

/**
 * Reads a YAML file that holds one or more entities, validates each Runbook in it and gives every
 * problem with its line and column. Documents of other kinds are passed over.
 * @public
 */
export function parseRunbookYaml(text: string): RunbookFileResult {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const issues: RunbookFileIssue[] = [];
  const runbooks: RunbookEntityV1alpha1[] = [];
  const locators: RunbookFileResult['locators'] = [];
  const at = (offset: number) => {
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, col: pos.col };
  };
  if (!Array.isArray(docs)) {
    // an empty stream
    return {
      runbooks,
      locators,
      issues: [{ line: 1, col: 1, message: 'the file holds no YAML document' }],
    };
  }
  let found = 0;
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      // the parser often reports one mistake several times at the same place: keep the first
      const seen = new Set<number>();
      for (const error of doc.errors) {
        if (seen.has(error.pos[0])) continue;
        seen.add(error.pos[0]);
        issues.push({
          ...at(error.pos[0]),
          message: `YAML syntax error: ${error.message.split('\n')[0]}`,
        });
      }
      continue;
    }
    const start = (doc.contents as Node | null)?.range?.[0] ?? 0;
    let value;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      // an alias bomb, among others: report it where the document starts
      issues.push({
        ...at(start),
        message: `YAML could not be read: ${(e as Error).message}`,
      });
      continue;
    }
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) {
      issues.push({
        ...at(start),
        message:
          'expected an entity (a map with apiVersion, kind, metadata, spec)',
      });
      continue;
    }
    const ours =
      typeof value.apiVersion === 'string' &&
      value.apiVersion.startsWith(`${RUNBOOK_API_GROUP}/`);
    if (value.kind !== RUNBOOK_KIND && !ours) continue;
    if (value.kind !== RUNBOOK_KIND) {
      found++;
      const range = locate(doc, ['kind'], false);
      issues.push({
        ...at(range?.[0] ?? start),
        message: `kind: ${RUNBOOK_API_GROUP} defines only kind ${RUNBOOK_KIND}, not ${JSON.stringify(
          value.kind,
        )}`,
      });
      continue;
    }
    found++;
    const result = validateRunbookEntity(value);
    if (result.ok) {
      runbooks.push(result.runbook);
      locators.push(path => at(locate(doc, path, false)?.[0] ?? start));
      continue;
    }
    for (const issue of result.issues) {
      const range = locate(doc, issue.path, issue.atKey ?? false);
      issues.push({ ...at(range?.[0] ?? start), message: issue.message });
    }
  }
  if (found === 0 && issues.length === 0) {
    issues.push({
      line: 1,
      col: 1,
      message: `the file holds no entity of kind ${RUNBOOK_KIND}`,
    });
  }
  issues.sort((a, b) => a.line - b.line || a.col - b.col);
  return { runbooks, issues, locators };
}
