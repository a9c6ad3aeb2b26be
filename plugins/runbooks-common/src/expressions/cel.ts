import { parse } from '@bufbuild/cel';

/**
 * Checks that a CEL expression parses; returns the problem, or undefined when it parses.
 * @public
 */
export function checkCelSyntax(expression: string): string | undefined {
  if (expression.trim() === '') {
    return 'empty CEL expression';
  }
  try {
    parse(expression);
    return undefined;
  } catch (e) {
    return `invalid CEL expression '${expression}': ${(
      e as Error
    ).message.replace(/^<input>:/, 'at ')}`;
  }
}

/**
 * What a CEL expression looks up: the top-level names it uses, and the keys it reads directly
 * under `parameters` and `steps` (as `steps.x` or `steps['x-y']`).
 * @public
 */
export interface CelReferences {
  roots: Set<string>;
  parameters: Set<string>;
  steps: Set<string>;
}

type Node = { exprKind?: { case?: string; value?: any } };

/**
 * Walks a parsed CEL expression: `visit(node, bound)` sees every node with the names macros bind
 * there (`p` in `items.exists(p, …)`); it returns false to skip the node's children.
 */
function walkCel(
  expression: string,
  visit: (node: Node, bound: string[]) => boolean | void,
) {
  const bound: string[] = [];
  const walk = (node: Node | undefined): void => {
    const kind = node?.exprKind;
    if (!kind?.case) return;
    if (visit(node!, bound) === false) return;
    const v = kind.value;
    switch (kind.case) {
      case 'selectExpr':
        walk(v.operand);
        return;
      case 'callExpr':
        walk(v.target);
        v.args.forEach(walk);
        return;
      case 'listExpr':
        v.elements.forEach(walk);
        return;
      case 'structExpr':
        for (const entry of v.entries) {
          walk(entry.keyKind?.value);
          walk(entry.value);
        }
        return;
      case 'comprehensionExpr':
        walk(v.iterRange);
        bound.push(v.iterVar, v.iterVar2, v.accuVar);
        walk(v.accuInit);
        walk(v.loopCondition);
        walk(v.loopStep);
        walk(v.result);
        bound.splice(-3, 3);
        return;
      default:
        return;
    }
  };
  walk(parse(expression).expr as Node);
}

/** The member chain a node reads (ident, `.field`, `['key']`, `[0]`) from a name not bound there. */
function memberChain(
  node: Node | undefined,
  bound: string[],
): string[] | undefined {
  const kind = node?.exprKind;
  if (kind?.case === 'identExpr') {
    return bound.includes(kind.value.name) ? undefined : [kind.value.name];
  }
  if (kind?.case === 'selectExpr' && !kind.value.testOnly) {
    const base = memberChain(kind.value.operand, bound);
    return base && [...base, kind.value.field];
  }
  if (
    kind?.case === 'callExpr' &&
    kind.value.function === '_[_]' &&
    kind.value.args.length === 2
  ) {
    const key = kind.value.args[1]?.exprKind;
    const base = memberChain(kind.value.args[0], bound);
    if (!base || key?.case !== 'constExpr') return undefined;
    const constant = key.value.constantKind;
    if (constant?.case === 'stringValue') return [...base, constant.value];
    if (constant?.case === 'int64Value' || constant?.case === 'uint64Value') {
      return [...base, String(constant.value)];
    }
  }
  return undefined;
}

/**
 * Lists the references of a CEL expression that parses (see {@link checkCelSyntax}).
 * @public
 */
export function collectCelReferences(expression: string): CelReferences {
  const refs: CelReferences = {
    roots: new Set(),
    parameters: new Set(),
    steps: new Set(),
  };
  walkCel(expression, (node, bound) => {
    const kind = node.exprKind!;
    if (kind.case === 'identExpr' && !bound.includes(kind.value.name)) {
      refs.roots.add(kind.value.name);
    }
    // `parameters.x`, `steps['y']`: the key read directly under a root
    const chain = memberChain(node, bound);
    if (chain && chain.length >= 2) {
      if (chain[0] === 'parameters') refs.parameters.add(chain[1]);
      if (chain[0] === 'steps') refs.steps.add(chain[1]);
    }
  });
  return refs;
}

/**
 * The values a CEL expression reads, as paths from its top-level names (`steps.current.output.replicas`,
 * `parameters.replicas`): the longest member chains with constant keys, each once, in order of
 * appearance. Names bound inside macros (`items.exists(p, p.name == …)`) are not paths.
 * @public
 */
export function collectCelPaths(expression: string): string[][] {
  const paths: string[][] = [];
  const seen = new Set<string>();
  walkCel(expression, (node, bound) => {
    const path = memberChain(node, bound);
    if (!path) return true;
    const key = JSON.stringify(path);
    if (!seen.has(key)) {
      seen.add(key);
      paths.push(path);
    }
    // the longest chain only
    return false;
  });
  return paths;
}
