/**
 * A parsed `${{ ... }}` reference: a root and a path of keys. References are lookups only.
 * @public
 */
export interface RunbookReference {
  /** The text between the braces, trimmed. */
  source: string;
  /** The root object: `parameters`, `entity` or `steps`. */
  root: 'parameters' | 'entity' | 'steps';
  /** The keys after the root, in order. */
  path: Array<string | number>;
}

/**
 * A piece of a template string: literal text or a reference.
 * @public
 */
export type TemplatePart =
  | { type: 'text'; text: string }
  | { type: 'reference'; reference: RunbookReference; raw: string };

/**
 * Thrown when a template contains something that is not a plain lookup.
 * @public
 */
export class ReferenceSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReferenceSyntaxError';
  }
}

const ROOTS = ['parameters', 'entity', 'steps'] as const;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*/;

// The reference grammar is ours and deliberately tiny (lookups only), so it is parsed by hand.
function parsePath(source: string): RunbookReference {
  const rootMatch = IDENTIFIER.exec(source);
  if (!rootMatch) {
    throw new ReferenceSyntaxError(
      `'\${{ ${source} }}' is not a lookup; expected parameters.<name>, entity.<path> or steps.<id>.output.<path>`,
    );
  }
  const root = rootMatch[0];
  if (!(ROOTS as readonly string[]).includes(root)) {
    throw new ReferenceSyntaxError(
      `unknown reference root '${root}' in '\${{ ${source} }}'; expected one of ${ROOTS.join(
        ', ',
      )}`,
    );
  }
  const path: Array<string | number> = [];
  let rest = source.slice(root.length);
  while (rest.length > 0) {
    if (rest.startsWith('.')) {
      const m = IDENTIFIER.exec(rest.slice(1));
      if (!m) {
        throw new ReferenceSyntaxError(
          `expected a name after '.' in '\${{ ${source} }}'`,
        );
      }
      path.push(m[0]);
      rest = rest.slice(1 + m[0].length);
    } else if (rest.startsWith('[')) {
      const m = /^\[\s*(?:'([^'\\]*)'|"([^"\\]*)"|(\d+))\s*\]/.exec(rest);
      if (!m) {
        throw new ReferenceSyntaxError(
          `expected ['key'], ["key"] or [index] in '\${{ ${source} }}'`,
        );
      }
      path.push(m[3] !== undefined ? Number(m[3]) : m[1] ?? m[2]);
      rest = rest.slice(m[0].length);
    } else {
      throw new ReferenceSyntaxError(
        `'\${{ ${source} }}' is not a lookup: only names, '.' and [...] are allowed, no expressions or filters`,
      );
    }
  }
  if (path.length === 0) {
    throw new ReferenceSyntaxError(
      `'\${{ ${source} }}' names only the root; add the key to look up`,
    );
  }
  return { source, root: root as RunbookReference['root'], path };
}

/**
 * Splits a string into literal text and `${{ ... }}` references.
 * @public
 */
export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let index = 0;
  while (index < template.length) {
    const start = template.indexOf('${{', index);
    if (start < 0) {
      parts.push({ type: 'text', text: template.slice(index) });
      break;
    }
    if (start > index) {
      parts.push({ type: 'text', text: template.slice(index, start) });
    }
    const end = template.indexOf('}}', start + 3);
    if (end < 0) {
      throw new ReferenceSyntaxError(
        `unterminated reference: '${template.slice(
          start,
        )}' has no closing '}}'`,
      );
    }
    const raw = template.slice(start, end + 2);
    parts.push({
      type: 'reference',
      raw,
      reference: parsePath(template.slice(start + 3, end).trim()),
    });
    index = end + 2;
  }
  return parts;
}

/**
 * Whether a string contains a `${{` reference.
 * @public
 */
export function hasReference(value: string): boolean {
  return value.includes('${{');
}

/**
 * A value found in a JSON-like tree, with its path from the tree's root.
 * @public
 */
export interface LocatedString {
  path: Array<string | number>;
  value: string;
}

/**
 * Lists every string inside a JSON-like value, with its path.
 * @public
 */
export function collectStrings(
  value: unknown,
  path: Array<string | number> = [],
  out: LocatedString[] = [],
): LocatedString[] {
  if (typeof value === 'string') {
    out.push({ path, value });
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => collectStrings(item, [...path, i], out));
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      collectStrings(item, [...path, key], out);
    }
  }
  return out;
}

/**
 * The values references resolve against.
 * @public
 */
export interface RenderContext {
  parameters?: Record<string, unknown>;
  entity?: unknown;
  steps?: Record<string, { output?: unknown }>;
}

/**
 * Thrown when a reference names something that is not there.
 * @public
 */
export class ReferenceLookupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReferenceLookupError';
  }
}

/**
 * Looks up one reference in a context; undefined when any key on the way is missing.
 * @public
 */
export function lookupReference(
  reference: RunbookReference,
  context: RenderContext,
): unknown {
  let current: unknown = context[reference.root];
  for (const key of reference.path) {
    if (current === null || typeof current !== 'object') {
      return undefined;
    }
    if (!Object.prototype.hasOwnProperty.call(current, key)) {
      return undefined;
    }
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

function renderString(template: string, context: RenderContext): unknown {
  const parts = parseTemplate(template);
  const resolve = (part: Extract<TemplatePart, { type: 'reference' }>) => {
    const value = lookupReference(part.reference, context);
    if (value === undefined) {
      throw new ReferenceLookupError(`${part.raw} has no value`);
    }
    return value;
  };
  if (parts.length === 1 && parts[0].type === 'reference') {
    const { reference } = parts[0];
    // validation guarantees the parameter is declared: missing means optional and not given
    if (reference.root === 'parameters' && reference.path.length === 1) {
      return lookupReference(reference, context);
    }
    // A whole-string reference keeps its type: an integer parameter stays an integer.
    return resolve(parts[0]);
  }
  return parts
    .map(part => {
      if (part.type === 'text') {
        return part.text;
      }
      const value = resolve(part);
      if (value !== null && typeof value === 'object') {
        throw new ReferenceLookupError(
          `${part.raw} is an object and cannot be placed inside text`,
        );
      }
      return String(value);
    })
    .join('');
}

/**
 * Replaces every reference in a JSON-like value by the value it looks up. Nothing is evaluated.
 * A lookup that finds nothing throws, except a whole-string `parameters.<name>` of an optional
 * parameter that was not given: it is left out of the surrounding map or list.
 * @public
 */
export function renderTemplate<T = unknown>(
  value: unknown,
  context: RenderContext,
): T {
  if (typeof value === 'string') {
    return renderString(value, context) as T;
  }
  if (Array.isArray(value)) {
    return value
      .map(item => renderTemplate(item, context))
      .filter(item => item !== undefined) as T;
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).map(
      ([key, item]) => [key, renderTemplate(item, context)] as const,
    );
    // an optional parameter that was not given leaves its key out
    return Object.fromEntries(
      entries.filter(([, item]) => item !== undefined),
    ) as T;
  }
  return value as T;
}
