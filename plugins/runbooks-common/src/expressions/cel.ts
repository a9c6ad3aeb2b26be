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
