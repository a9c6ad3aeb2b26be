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
 * Lists the references of a CEL expression that parses (see {@link checkCelSyntax}).
 * @public
 */
export function collectCelReferences(expression: string): CelReferences {
  const refs: CelReferences = {
    roots: new Set(),
    parameters: new Set(),
    steps: new Set(),
  };
  const bound: string[] = [];
  const identName = (n: Node | undefined) =>
    n?.exprKind?.case === 'identExpr'
      ? (n.exprKind.value.name as string)
      : undefined;
  const underRoot = (root: string | undefined, key: string) => {
    if (root === 'parameters') refs.parameters.add(key);
    if (root === 'steps') refs.steps.add(key);
  };
  const visit = (node: Node | undefined): void => {
    const kind = node?.exprKind;
    if (!kind?.case) return;
    const v = kind.value;
    switch (kind.case) {
      case 'identExpr':
        if (!bound.includes(v.name)) refs.roots.add(v.name);
        return;
      case 'selectExpr': {
        const root = identName(v.operand);
        if (root && !bound.includes(root)) underRoot(root, v.field);
        visit(v.operand);
        return;
      }
      case 'callExpr': {
        if (v.function === '_[_]' && v.args.length === 2) {
          const root = identName(v.args[0]);
          const key = v.args[1]?.exprKind;
          if (
            root &&
            !bound.includes(root) &&
            key?.case === 'constExpr' &&
            key.value.constantKind?.case === 'stringValue'
          ) {
            underRoot(root, key.value.constantKind.value);
          }
        }
        visit(v.target);
        v.args.forEach(visit);
        return;
      }
      case 'listExpr':
        v.elements.forEach(visit);
        return;
      case 'structExpr':
        for (const entry of v.entries) {
          visit(entry.keyKind?.value);
          visit(entry.value);
        }
        return;
      case 'comprehensionExpr':
        visit(v.iterRange);
        bound.push(v.iterVar, v.iterVar2, v.accuVar);
        visit(v.accuInit);
        visit(v.loopCondition);
        visit(v.loopStep);
        visit(v.result);
        bound.splice(-3, 3);
        return;
      default:
        return;
    }
  };
  visit(parse(expression).expr as Node);
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
  const bound: string[] = [];
  /** The chain a node reads: ident, `.field` and `['key']` steps; undefined for anything else. */
  const chain = (node: Node | undefined): string[] | undefined => {
    const kind = node?.exprKind;
    if (kind?.case === 'identExpr') {
      return bound.includes(kind.value.name) ? undefined : [kind.value.name];
    }
    if (kind?.case === 'selectExpr' && !kind.value.testOnly) {
      const base = chain(kind.value.operand);
      return base && [...base, kind.value.field];
    }
    if (
      kind?.case === 'callExpr' &&
      kind.value.function === '_[_]' &&
      kind.value.args.length === 2
    ) {
      const key = kind.value.args[1]?.exprKind;
      const base = chain(kind.value.args[0]);
      if (!base || key?.case !== 'constExpr') return undefined;
      const constant = key.value.constantKind;
      if (constant?.case === 'stringValue') return [...base, constant.value];
      if (constant?.case === 'int64Value' || constant?.case === 'uint64Value') {
        return [...base, String(constant.value)];
      }
    }
    return undefined;
  };
  const visit = (node: Node | undefined): void => {
    const kind = node?.exprKind;
    if (!kind?.case) return;
    const path = chain(node);
    if (path) {
      const key = JSON.stringify(path);
      if (!seen.has(key)) {
        seen.add(key);
        paths.push(path);
      }
      return;
    }
    const v = kind.value;
    switch (kind.case) {
      case 'selectExpr':
        visit(v.operand);
        return;
      case 'callExpr':
        visit(v.target);
        v.args.forEach(visit);
        return;
      case 'listExpr':
        v.elements.forEach(visit);
        return;
      case 'structExpr':
        for (const entry of v.entries) {
          visit(entry.keyKind?.value);
          visit(entry.value);
        }
        return;
      case 'comprehensionExpr':
        visit(v.iterRange);
        bound.push(v.iterVar, v.iterVar2, v.accuVar);
        visit(v.accuInit);
        visit(v.loopCondition);
        visit(v.loopStep);
        visit(v.result);
        bound.splice(-3, 3);
        return;
      default:
        return;
    }
  };
  visit(parse(expression).expr as Node);
  return paths;
}
