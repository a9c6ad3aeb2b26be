import { Incident } from '@runbooks/plugin-runbooks-node';

/** About four characters per token: the budget is kept in characters so no tokenizer is needed. */
const CHARS_PER_TOKEN = 4;

// controls except tab and newline, format characters (bidi, zero-width, Unicode tags), private-use
// and unassigned code points, line/paragraph separators, variation selectors, Hangul fillers: they
// hide or reorder text a reviewer reads, and carry nothing a runbook needs
const INVISIBLE =
  // eslint-disable-next-line no-control-regex
  /(?![\t\n])[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}\u034F\u115F\u1160\u3164\uFFA0\uFE00-\uFE0F\u{E0100}-\u{E01EF}]/gu;

/** Untrusted text made inert: normalised, invisible characters removed, fence markers defused. */
export function cleanUntrusted(text: string): string {
  return (
    text
      .normalize('NFKC')
      .replace(/\r\n?/g, '\n')
      .replace(INVISIBLE, '')
      // the fence is `<untrusted-data …>`: nothing inside may close or open one
      .replace(/<\s*\/?\s*untrusted-data/gi, m => m.replace('<', '‹'))
  );
}

/** Text cut to a budget of tokens, saying how much was cut. */
export function truncateToTokens(text: string, tokens: number): string {
  const max = Math.max(0, tokens * CHARS_PER_TOKEN);
  if (text.length <= max) return text;
  return `${text.slice(0, max)}\n[… ${
    text.length - max
  } more characters cut to fit the budget]`;
}

/** One labelled piece of untrusted text. */
export interface UntrustedPart {
  /** Where it came from, e.g. `alert.annotations.description`. */
  label: string;
  text: string;
}

/** The untrusted parts of an incident, in a fixed order. */
export function untrustedParts(incident: Incident): UntrustedPart[] {
  const parts: UntrustedPart[] = [];
  if (incident.alertName) {
    parts.push({ label: 'alert.name', text: incident.alertName });
  }
  for (const [key, value] of Object.entries(incident.labels ?? {})) {
    parts.push({ label: `alert.labels.${key}`, text: value });
  }
  for (const [key, value] of Object.entries(incident.annotations ?? {})) {
    parts.push({ label: `alert.annotations.${key}`, text: value });
  }
  if (incident.text) parts.push({ label: 'text', text: incident.text });
  incident.logs?.forEach((log, i) =>
    parts.push({ label: `logs[${i}]`, text: log }),
  );
  return parts;
}

/**
 * The untrusted parts fenced as data for a model: each cleaned, labelled with its origin, and the
 * whole cut to a token budget shared in order (an early huge log cannot crowd out the alert name,
 * which comes first). Returns the fenced text and whether anything was cut.
 */
export function fenceUntrusted(
  parts: UntrustedPart[],
  budgetTokens: number,
): { text: string; truncated: boolean } {
  // the budget covers everything sent: labels and fences too
  let remaining = budgetTokens * CHARS_PER_TOKEN;
  const blocks: string[] = [];
  let omitted = 0;
  let cutAny = false;
  for (const part of parts) {
    const label = cleanUntrusted(part.label)
      .replace(/[^A-Za-z0-9_.\-[\]]/g, '_')
      .slice(0, 80);
    const open = `<untrusted-data source="${label}">\n`;
    const close = '\n</untrusted-data>';
    const room = remaining - open.length - close.length;
    if (room < 16) {
      omitted++;
      continue;
    }
    const text = cleanUntrusted(part.text);
    const cut =
      text.length <= room
        ? text
        : `${Array.from(text.slice(0, room - 48))
            .join('')
            .replace(/[\uD800-\uDBFF]$/, '')}[… ${
            text.length - room + 48
          } characters cut]`;
    if (cut !== text) cutAny = true;
    const block = `${open}${cut}${close}`;
    remaining -= block.length + 1;
    blocks.push(block);
  }
  const truncated = omitted > 0 || cutAny;
  if (omitted > 0) {
    blocks.push(`[${omitted} more part(s) omitted: budget spent]`);
  }
  return { text: blocks.join('\n'), truncated };
}
